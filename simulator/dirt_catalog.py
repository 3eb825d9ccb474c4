"""Every dirt and fault string of the source contract, the simulator kinds that produce it, and where the
hub handles it.

The contract (yiwang/contracts/source_systems.yaml) lists, per field, the `dirt:` real exports of that
field contain (a list, or "same as <system>.<table>.<field>"), per file the row-level `dirt:` (property
owners), and per delivery the `faults:` (a list, or "same as <system>"). `contract_forms()` walks the
contract and resolves the references; `FORMS` registers each string where the contract defines it, with

- `kinds`: the simulator dirt kinds producing it (`simulator.dirt`; their rates come from `DirtConfig`).
  `CLEAN` means the form is the simulator's own clean value (e.g. "1964-02-15", "汉族"): produced at
  1 - rate. Kinds in `simulator.dirt.STRUCTURAL_KINDS` are each company's fixed delivery variant.
- `level`: value (a field's value), row (a record), file (a delivered file) or request (an HTTP call).
- `form`: a regular expression a produced value of that form matches (value level), used by
  tests/simulator/test_dirt_coverage.py to find the form in simulated output.
- `handled_by`: where the hub normalises or survives it.

tests/simulator/test_dirt_coverage.py fails when a contract string has no entry here, when the simulator
does not produce the form, or when staging does not normalise a value-level form to what the clean
value normalises to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from simulator.contract import load_raw
from simulator.dirt import KIND_GROUP, STRUCTURAL_KINDS

CLEAN = "clean"


@dataclass(frozen=True)
class Form:
    text: str
    kinds: tuple[str, ...]
    level: str  # value | row | file | request
    handled_by: str
    form: str | None = None  # regex over the value as delivered (value level)


@dataclass(frozen=True)
class ContractForm:
    """One dirt/fault string where the contract applies it (`where`) and where it is defined (`defined_at`)."""

    where: str
    defined_at: str
    text: str


def _f(text: str, kinds: str | tuple[str, ...], level: str, handled_by: str, form: str | None = None) -> Form:
    return Form(text, (kinds,) if isinstance(kinds, str) else tuple(kinds), level, handled_by, form)


ID = "staging id_no_columns (macros/normalize_id_no.sql)"
NAME = "staging clean_person_name (macros/normalize_people.sql)"
DATE = "staging parse_date (macros/normalize_dates.sql)"
PHONE = "staging phone_columns (macros/normalize_phone.sql)"
ADDR = "identity idn_address_clean + idn_flat_pattern (macros/identity/idn_normalize.sql), places address patterns"
TITLE_ONLY = "identity idn_title_only / idn_title_gender (macros/identity/idn_normalize.sql): no name evidence, the sex kept"
TITLE_ONLY_FORM = r"^[^0-9A-Za-z·]{1,2}(先生|女士|师傅|阿姨)$"
GRID = "places grid_text_pattern + cn_to_int, grid_code_in_text (macros/places, macros/normalize_codes.sql)"

FORMS: dict[tuple[str, str], Form] = {
    (where, f.text): f
    for where, f in [
        ("party.dj_org.wgmc", _f("第3网格", "grid_text_number_only", "value", GRID, r"^第\d+网格$")),
        (
            "party.dj_org.wgmc",
            _f("三网格", "grid_text_chinese_numeral", "value", GRID, r"^[一二三四五六七八九十]+网格$"),
        ),
        (
            "party.dj_org.wgmc",
            _f("前进社区3网格", "grid_text_community_prefix", "value", GRID, r"^.+社区\d+网格$"),
        ),
        ("party.dj_org.wgmc", _f("a 15-digit grid_code", "grid_text_code", "value", GRID, r"^\d{15}$")),
        (
            "party.dj_org.host_uscc",
            _f(
                "legacy 9-digit org code 12345678-9",
                "uscc_legacy_org_code",
                "value",
                "staging legacy_org_code (macros/normalize_codes.sql)",
                r"^[0-9A-Z]{8}-[0-9X]$",
            ),
        ),
        (
            "party.dj_org.host_uscc",
            _f(
                "lowercase",
                "uscc_lowercase",
                "value",
                "staging normalize_uscc (macros/normalize_codes.sql)",
                r"^[0-9a-z]{18}$",
            ),
        ),
        (
            "party.dj_dy.xm",
            _f(
                "traditional characters",
                "name_traditional",
                "value",
                NAME + " to_simplified",
                "[張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧蔣葉蘇呂盧鍾譚陸賈韋鄒閆龍賀顧龔萬錢嚴湯偉華麗軍紅國靜強傑濤剛輝鵬蘭鳳飛雲東寧陽歡帥凱曉穎豔潔]",
            ),
        ),
        ("party.dj_dy.xm", _f("张三（书记）", "name_title_suffix", "value", NAME, r"[（(][^（()）]+[）)]$")),
        ("party.dj_dy.xm", _f("trailing spaces", "name_trailing_space", "value", NAME, r"\S +$")),
        (
            "party.dj_dy.xm",
            _f(
                "middle dot vs period in minority names",
                "name_minority_period",
                "value",
                NAME,
                r"^[^·]+[.•][^·]+$",
            ),
        ),
        ("party.dj_dy.xb", _f("1", "sex_digit_code", "value", "staging normalize_gender", r"^1$")),
        ("party.dj_dy.xb", _f("2", "sex_digit_code", "value", "staging normalize_gender", r"^2$")),
        ("party.dj_dy.xb", _f("M", "sex_letter_code", "value", "staging normalize_gender", r"^M$")),
        ("party.dj_dy.xb", _f("F", "sex_letter_code", "value", "staging normalize_gender", r"^F$")),
        (
            "party.dj_dy.sfzh",
            _f(
                "15-digit legacy",
                "id_legacy15",
                "value",
                ID + " (15 -> 18), identity idn_legacy_century",
                r"^\d{15}$",
            ),
        ),
        ("party.dj_dy.sfzh", _f("lowercase x", "id_lowercase_x", "value", ID, r"^\d{17}x$")),
        (
            "party.dj_dy.sfzh",
            _f("full-width digits", ("id_fullwidth_digits", "id_fullwidth_x"), "value", ID, r"[０-９Ｘ]"),
        ),
        (
            "party.dj_dy.sfzh",
            _f("spaces or hyphens", "id_spaces_hyphens", "value", ID, r"^\d{6}[ -]\d{8}[ -]\d{3}[\dX]$"),
        ),
        (
            "party.dj_dy.sfzh",
            _f(
                "4.20103E+17",
                "id_excel_scientific",
                "value",
                ID + " (kind excel_mangled, no ID)",
                r"^\d\.\d+E\+17$",
            ),
        ),
        (
            "party.dj_dy.sfzh",
            _f(
                "wrong check char",
                "id_wrong_check_char",
                "value",
                ID + " (id_no_valid false)",
                r"^\d{17}[\dX]$",
            ),
        ),
        (
            "party.dj_dy.sfzh",
            _f(
                "null",
                "id_null",
                "value",
                ID + " (id_no_null_words: null, 无, ... -> NULL)",
                r"^(|null|NULL|无)$",
            ),
        ),
        ("party.dj_dy.csrq", _f("1964-02-15", CLEAN, "value", DATE, r"^\d{4}-\d{2}-\d{2}$")),
        ("party.dj_dy.csrq", _f("1964/2/15", "date_slash", "value", DATE, r"^\d{4}/\d{1,2}/\d{1,2}$")),
        ("party.dj_dy.csrq", _f("19640215", "date_compact", "value", DATE, r"^\d{8}$")),
        (
            "party.dj_dy.csrq",
            _f("1964年2月15日", "date_chinese", "value", DATE, r"^\d{4}年\d{1,2}月\d{1,2}日$"),
        ),
        (
            "party.dj_dy.csrq",
            _f("Excel serial", "date_excel_serial", "value", DATE + " (serials 61..73051)", r"^\d{4,5}$"),
        ),
        ("party.dj_dy.mz", _f("汉", "ethnic_short", "value", "staging normalize_ethnicity", r"^[^族0-9]+$")),
        ("party.dj_dy.mz", _f("汉族", CLEAN, "value", "staging normalize_ethnicity", r"族$")),
        ("party.dj_dy.mz", _f("01", "ethnic_code", "value", "staging normalize_ethnicity", r"^\d{2}$")),
        (
            "party.dj_dy.sjhm",
            _f("+86 138-0013-8000", "phone_intl_format", "value", PHONE, r"^\+86 \d{3}-\d{4}-\d{4}$"),
        ),
        ("party.dj_dy.sjhm", _f("8613800138000", "phone_86_prefix", "value", PHONE, r"^861\d{10}$")),
        (
            "party.dj_dy.sjhm",
            _f(
                "(027)85551234",
                "phone_landline",
                "value",
                PHONE + " (kind landline)",
                r"^\(0\d{2,3}\)\d{7,8}$",
            ),
        ),
        (
            "party.dj_dy.sjhm",
            _f(
                "two numbers in one field",
                "phone_two_numbers",
                "value",
                PHONE + " (phone, phone_2)",
                r"^1\d{10}[/，,;、 ]1\d{10}$",
            ),
        ),
        (
            "party.dj_dy.sjhm",
            _f(
                "13800000000",
                "phone_placeholder",
                "value",
                PHONE + " (kind placeholder, NULL)",
                r"^13800000000$",
            ),
        ),
        (
            "party.dj_dy.jtzz",
            _f(
                "with or without province and city",
                ("addr_with_province", "addr_without_city"),
                "value",
                ADDR,
                r"^(.+省.+市.+|[^省市]+)\d+栋\d+单元\d+室$",
            ),
        ),
        ("party.dj_dy.jtzz", _f("3栋2单元501", CLEAN, "value", ADDR, r"\d+栋\d+单元\d+室?$")),
        ("party.dj_dy.jtzz", _f("3-2-501", "addr_dashed", "value", ADDR, r"\d+-\d+-\d+$")),
        (
            "party.dj_dy.jtzz",
            _f(
                "三栋二单元五〇一",
                "addr_chinese_numerals",
                "value",
                ADDR,
                r"[一二三四五六七八九十]+栋[一二三四五六七八九十]+单元[〇一二三四五六七八九]+$",
            ),
        ),
        (
            "party.dj_dy.jtzz",
            _f(
                "estate alias",
                "addr_estate_alias",
                "value",
                ADDR + "; the alias joins its estate in identity.estate_xref (places)",
                r"\d+栋\d+单元\d+室$",
            ),
        ),
        ("party.dj_bd.czd_sq", _f("前进社区", CLEAN, "value", "places community_core", r"社区$")),
        (
            "party.dj_bd.czd_sq",
            _f(
                "前进社区居委会",
                "community_juweihui_suffix",
                "value",
                "places community_core",
                r"社区居委会$",
            ),
        ),
        (
            "party.dj_bd.czd_sq",
            _f(
                "前进居委会",
                "community_short_juweihui",
                "value",
                "places community_core",
                r"^(?!.*社区).+居委会$",
            ),
        ),
        (
            "grid.wg_sj.lbdm",
            _f(
                "codes unknown to the reference list",
                "category_unknown_code",
                "value",
                "staging keeps the code (category_code); marts count it under an unknown category",
                r"^\d{4}$",
            ),
        ),
        (
            "grid.wg_sj.lbdm",
            _f(
                "category only as text in sjms",
                "category_text_only",
                "value",
                "intermediate int_grid_events_categorised: no stated code; the category is found in the "
                "description (category_source description_minor / description_major)",
                r"^$",
            ),
        ),
        ("grid.wg_sj.myd", _f("5", "myd_numeric", "value", "staging normalize_satisfaction", r"^5$")),
        ("grid.wg_sj.myd", _f("3", "myd_numeric", "value", "staging normalize_satisfaction", r"^3$")),
        ("grid.wg_sj.myd", _f("1", "myd_numeric", "value", "staging normalize_satisfaction", r"^1$")),
        (
            "property.owners",
            _f(
                'building/unit/room merged into one column "3-2-501"',
                "owners_merged_room",
                "row",
                "staging stg_property__owners splits fh/ld 3-2-501 into ld, dy, fh",
                r"^\d+-\d+-\d+$",
            ),
        ),
        (
            "property.owners",
            _f(
                "id numbers partly masked, e.g. 420106********1234",
                "owners_masked_id",
                "value",
                ID + " (id_no_masked, partial evidence in identity)",
                r"^\d{6}\*+\d{3}[\dX]$",
            ),
        ),
        (
            "property.owners",
            _f(
                "Excel-mangled id numbers",
                "owners_excel_id",
                "value",
                ID + " (kind excel_mangled); connectors read wide Excel numbers as Excel shows them",
                r"^\d\.\d+E\+17$",
            ),
        ),
        (
            "property.owners",
            _f(
                "owners listed twice",
                "owners_duplicate",
                "row",
                "connectors quarantine the exact duplicate (duplicate_in_batch); staging one row per key",
            ),
        ),
        (
            "hotline.tickets.ldr",
            _f(
                "李先生 / 王女士: surname and title only",
                "name_title_only",
                "value",
                TITLE_ONLY,
                TITLE_ONLY_FORM,
            ),
        ),
        (
            "property.complaints",
            _f(
                "complainants named by surname and title only, e.g. 王女士",
                "name_title_only",
                "value",
                TITLE_ONLY,
                TITLE_ONLY_FORM,
            ),
        ),
        (
            "approval.faults",
            _f(
                "HTTP 429 with Retry-After",
                "http_429_retry_after",
                "request",
                "connectors/http.py CappedRetry honours Retry-After",
            ),
        ),
        (
            "approval.faults",
            _f("occasional HTTP 502/503", "http_5xx", "request", "connectors/http.py retries 502/503/504"),
        ),
        (
            "approval.faults",
            _f(
                "a page repeated after a retry",
                "http_repeated_page",
                "request",
                "connectors/http.py recognises a page served twice and skips it",
            ),
        ),
        (
            "approval.faults",
            _f(
                "fields added without notice",
                "http_added_fields",
                "request",
                "connectors land an added field as a VARCHAR column under its own name",
            ),
        ),
        (
            "property.faults",
            _f(
                "GBK or UTF-8 (with or without BOM)",
                "property_encodings",
                "file",
                "connectors/tabular.py decodes UTF-8 (BOM) / GBK",
            ),
        ),
        (
            "property.faults",
            _f(
                "header names vary by company",
                "property_header_variants",
                "file",
                "connectors map the contract's header variants to canonical names",
            ),
        ),
        (
            "property.faults",
            _f(
                "a file re-sent with corrections",
                "property_resend",
                "file",
                "connectors/files.py lands a changed checksum at the same path as a new batch; "
                "staging keeps the latest version per key",
            ),
        ),
        (
            "property.faults",
            _f(
                "a truncated file",
                "property_truncated_file",
                "file",
                "connectors quarantine the cut-off last row",
            ),
        ),
        (
            "property.faults",
            _f("an empty file", "property_empty_file", "file", "connectors: an empty batch, ledger note"),
        ),
        (
            "property.faults",
            _f(
                "extra columns",
                "property_extra_columns",
                "file",
                "connectors land extra columns as VARCHAR under their own names",
            ),
        ),
        (
            "hotline.faults",
            _f(
                "a day's file re-exported with more rows",
                "hotline_reexport",
                "file",
                "connectors/files.py lands the new checksum as a new batch (rows already there not again)",
            ),
        ),
        (
            "hotline.faults",
            _f(
                "a malformed line",
                "hotline_malformed_line",
                "row",
                "connectors/jsonl.py quarantines the line (read = landed + quarantined)",
            ),
        ),
        (
            "hotline.faults",
            _f(
                "duplicate tickets",
                "hotline_duplicate_ticket",
                "row",
                "connectors quarantine the exact duplicate line; staging one row per gdbh",
            ),
        ),
    ]
}

SAME_AS = "same as "


def _dirt_list(value: object, where: str) -> tuple[str, list[str]] | None:
    """(defined_at, strings) of a `dirt:`/`faults:` value; None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.startswith(SAME_AS):
            raise ValueError(f"{where}: {value!r} is neither a list nor 'same as ...'")
        return value[len(SAME_AS) :].strip(), []
    return where, [str(x) for x in value]


def contract_forms() -> list[ContractForm]:
    """Every dirt/fault string of the contract, "same as" references resolved (to where the list is defined)."""
    raw = load_raw()
    lists: dict[str, list[str]] = {}
    refs: dict[str, str] = {}

    def note(where: str, value: object) -> None:
        got = _dirt_list(value, where)
        if got is None:
            return
        target, items = got
        if target == where:
            lists[where] = items
        else:
            refs[where] = target

    for system, spec in raw["systems"].items():
        note(f"{system}.faults", (spec.get("delivery") or {}).get("faults"))
        for group in ("tables", "resources", "files", "records"):
            for name, tspec in (spec.get(group) or {}).items():
                note(f"{system}.{name}", tspec.get("dirt"))
                for fld, fspec in (tspec.get("fields") or {}).items():
                    if isinstance(fspec, dict):
                        note(f"{system}.{name}.{fld}", fspec.get("dirt"))
    # "same as approval" for faults names a system: its delivery's faults
    refs = {w: (f"{t}.faults" if w.endswith(".faults") and "." not in t else t) for w, t in refs.items()}
    out = [ContractForm(w, w, t) for w, items in lists.items() for t in items]
    for where, target in refs.items():
        seen = set()
        while target in refs:  # a reference to a reference
            if target in seen:
                raise ValueError(f"{where}: circular 'same as' reference")
            seen.add(target)
            target = refs[target]
        if target not in lists:
            raise ValueError(f"{where}: 'same as {target}' names no dirt/fault list of the contract")
        out += [ContractForm(where, target, t) for t in lists[target]]
    return out


def unregistered() -> list[ContractForm]:
    """Contract strings without an entry in FORMS."""
    return [c for c in contract_forms() if (c.defined_at, c.text) not in FORMS]


def unknown_kinds() -> list[tuple[str, str]]:
    """Kinds named in FORMS that the simulator does not have."""
    known = set(KIND_GROUP) | set(STRUCTURAL_KINDS) | {CLEAN}
    return [(f.text, k) for f in FORMS.values() for k in f.kinds if k not in known]


def forms_by_kind() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in FORMS.values():
        for k in f.kinds:
            out.setdefault(k, []).append(f.text)
    return out


def iter_value_forms() -> Iterator[tuple[ContractForm, Form]]:
    for c in contract_forms():
        f = FORMS.get((c.defined_at, c.text))
        if f is not None and f.form is not None:
            yield c, f
