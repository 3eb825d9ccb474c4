"""Generate ``seeds/calendar/cn_workday_calendar.csv``: China's working-day calendar (法定节假日与调休).

The dates come from the maintained ``chinesecalendar`` library (module ``chinese_calendar``), which
transcribes the State Council's yearly notice (国务院办公厅关于部分节假日安排的通知); nothing here is
typed by hand. Run with the project venv whenever the library is upgraded (a new year's notice):

    .venv/bin/python dbt_project/scripts/gen_calendar.py              # 2019-01-01 .. last year covered
    .venv/bin/python dbt_project/scripts/gen_calendar.py --check      # exit 1 if the CSV is stale

One row per calendar day:

    calendar_date      YYYY-MM-DD
    is_workday         true on Mon-Fri that are not public holidays, and on make-up Saturdays/Sundays
    is_holiday         true on a day of an announced public-holiday period (incl. its weekend days)
    holiday_name       the holiday's Chinese name (国庆节, 春节 ...) on is_holiday days, else empty
    is_makeup_workday  true on a Saturday/Sunday declared a working day (调休上班)
    workday_seq        number of working days from the first row up to and including this day
                       (a working day and the non-working days after it share its number); the key
                       the working-day macros use for "add N working days" and "working days between"
    source_version     the chinesecalendar version the rows came from
    generated_on       the day the file was generated (``--generated-on`` to pin it)

Regenerating with the same library version and ``--generated-on`` gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.metadata
import io
import sys
from pathlib import Path

START = dt.date(2019, 1, 1)
OUT = Path(__file__).resolve().parents[1] / "seeds" / "calendar" / "cn_workday_calendar.csv"
COLUMNS = ["calendar_date", "is_workday", "is_holiday", "holiday_name", "is_makeup_workday", "workday_seq",
           "source_version", "generated_on"]


def library_version() -> str:
    return importlib.metadata.version("chinesecalendar")


def last_covered_day() -> dt.date:
    """31 December of the last year the library has the State Council's notice for."""
    from chinese_calendar import constants

    return dt.date(max(d.year for d in constants.holidays), 12, 31)


def calendar_rows(start: dt.date = START, end: dt.date | None = None,
                  generated_on: dt.date | None = None) -> list[dict[str, str]]:
    import chinese_calendar as cc
    from chinese_calendar import constants

    names = {h.value: h.chinese for h in constants.Holiday}
    end = end or last_covered_day()
    generated = (generated_on or dt.date.today()).isoformat()
    version = library_version()
    rows: list[dict[str, str]] = []
    seq = 0
    day = start
    while day <= end:
        workday = cc.is_workday(day)
        seq += int(workday)
        holiday = constants.holidays.get(day)
        rows.append({
            "calendar_date": day.isoformat(),
            "is_workday": str(workday).lower(),
            "is_holiday": str(holiday is not None).lower(),
            "holiday_name": names.get(holiday, holiday) if holiday else "",
            "is_makeup_workday": str(day in constants.workdays).lower(),
            "workday_seq": str(seq),
            "source_version": version,
            "generated_on": generated,
        })
        day += dt.timedelta(days=1)
    return rows


def render(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def committed_generated_on(path: Path = OUT) -> dt.date | None:
    """generated_on of an existing CSV (first data row), to regenerate it identically."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f), None)
    return dt.date.fromisoformat(first["generated_on"]) if first else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--start", type=dt.date.fromisoformat, default=START)
    p.add_argument("--end", type=dt.date.fromisoformat, default=None,
                   help="last day (default: 31 Dec of the last year chinesecalendar covers)")
    p.add_argument("--generated-on", type=dt.date.fromisoformat, default=None,
                   help="value of generated_on (default: today; with --check: the committed file's)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--check", action="store_true", help="do not write; exit 1 if --out differs")
    args = p.parse_args(argv)
    generated_on = args.generated_on or (committed_generated_on(args.out) if args.check else None)
    text = render(calendar_rows(args.start, args.end, generated_on))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: regenerate with scripts/gen_calendar.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date (chinesecalendar {library_version()})")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {text.count(chr(10)) - 1} days, chinesecalendar {library_version()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
