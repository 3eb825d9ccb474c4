"""Decoding a text drop line by line, with the encoding chosen and validated, never guessed silently.

The contract delivers CSV files as UTF-8 (with or without BOM) or GBK (read as GB18030, its superset); a
Taiwanese or Hong Kong export may arrive as Big5. Single-byte code pages "decode" any bytes and so are never
accepted. For each likely encoding the file is decoded line by line and the decoding is validated:

- lines that do not decode (undecodable bytes), and
- the share of characters outside common CJK (GB2312 hanzi and Big5 level-1 hanzi), ASCII and common
  punctuation: Big5 read as GB18030, or UTF-8 read as GB18030, decodes without an error into rare characters
  (typically 30-70 % of them), while a right decoding has almost none.

Where more than one candidate reads plausibly (short texts: GBK read as Big5 can look like common traditional
characters), the one with both fewer failing lines and fewer unusual characters than every other wins; failing
that, charset-normalizer, restricted to the same encodings, decides, and only in favour of the candidate that
reads clearly best. A file whose encoding cannot be told (no candidate decodes its
header line, or the candidates stay ambiguous) is not decoded at all: :class:`UndecodableFile` says why, and the caller quarantines the file
whole. Otherwise each line that fails (bytes the encoding cannot decode, or a line that reads as mojibake
although the rest of the file is clean) is reported on its own with its line number, and the rest decodes.
Text is returned as received: traditional characters are not converted (staging normalises names).
"""

from __future__ import annotations

import bisect
import codecs
import itertools
import re
from dataclasses import dataclass, field
from functools import cache

from charset_normalizer import from_bytes

# (codec, label) in order of preference; the contract's encodings first
CANDIDATES = (("utf-8", "utf-8"), ("gb18030", "gb18030"), ("cp950", "big5"))
FAMILY = {
    "utf_8": "utf-8",
    "utf_8_sig": "utf-8",
    "ascii": "utf-8",
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "hz": "gb18030",
    "big5": "big5",
    "cp950": "big5",
    "big5hkscs": "big5",
}
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

GOOD_SHARE = 0.10  # at most this share of unusual characters: a plausible decoding
BAD_SHARE = 0.25  # at least this share: certainly a wrong decoding; in between: ambiguous
LINE_BAD_SHARE = 0.40  # one line of an otherwise clean file that reads this badly is mis-encoded
LINE_MIN_CHARS = 6  # ... when it has at least this many non-ASCII characters
MAX_BAD_LINE_SHARE = 0.25  # more failing lines than this (and more than two): not this encoding
SAMPLE_BYTES = 256 * 1024  # what charset-normalizer looks at


class UndecodableFile(ValueError):
    """The file's encoding cannot be told: no accepted encoding decodes it, or several could."""


@dataclass
class BadLine:
    line: int  # 1-based
    raw: bytes
    rule: str  # encoding | truncated_row
    reason: str


@dataclass
class Decoded:
    encoding: str
    lines: list[str | None]  # each physical line without its "\n" (a "\r" before it is kept); None = bad
    bad: list[BadLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ends_with_newline: bool = True

    def text_of(self, raw: bytes) -> str:
        """A bad line as readable text (undecodable bytes as \\xNN escapes), for the quarantine."""
        codec = "utf-8" if self.encoding.startswith("utf-8") else self.encoding
        return raw.decode(codec, errors="backslashreplace").rstrip("\r")


@cache
def _unusual() -> re.Pattern[str]:
    """Matches a character outside ASCII, common CJK and common punctuation."""
    common: set[str] = set()
    for hi in range(0xA1, 0xF8):  # GB2312: punctuation/numerals/full-width rows and every hanzi row
        if 0xA4 <= hi <= 0xAF:  # kana, Greek, Cyrillic, pinyin, box drawing: what mojibake turns into
            continue
        for lo in range(0xA1, 0xFF):
            try:
                common.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for hi in range(0xA4, 0xC7):  # Big5 level-1 hanzi (the common traditional characters)
        for lo in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            try:
                common.add(bytes([hi, lo]).decode("big5"))
            except UnicodeDecodeError:
                pass
    common.update("·・×÷—…‘’“”《》【】「」『』〔〕№℃㎡￥")
    chars = "".join(sorted(common))
    ranges = "\\x00-\\x7f\\u2000-\\u206f\\u3000-\\u303f\\uff00-\\uffef\\u00b7"
    return re.compile("[^" + ranges + re.escape(chars) + "]")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def unusual_share(text: str) -> tuple[int, int]:
    """(unusual characters, non-ASCII characters) in ``text``."""
    return len(_unusual().findall(text)), len(_NON_ASCII.findall(text))


@dataclass
class _Try:
    codec: str
    label: str
    lines: list[str | None]
    bad: list[BadLine]
    unusual: int  # over the lines that decode and do not read as mojibake
    non_ascii: int
    header_ok: bool
    mojibake: list[tuple[int, int, int]] = field(default_factory=list)  # (index, unusual, non-ASCII) per line

    @property
    def share(self) -> float:
        return self.unusual / self.non_ascii if self.non_ascii else 0.0

    @property
    def failing(self) -> int:
        """Lines this encoding cannot read: undecodable, or decoded into mostly rare characters."""
        return sum(1 for b in self.bad if b.rule == "encoding") + len(self.mojibake)

    def describe(self) -> str:
        parts = [f"{self.failing} undecodable or mis-encoded line(s)"] if self.failing else []
        parts.append(f"{self.share:.0%} unusual characters")
        return f"{self.label}: {', '.join(parts)}"


def _split(data: bytes) -> tuple[list[bytes], bool, bytes]:
    """(lines without their line end, whether the data ends with one, the line separator)."""
    sep = b"\r" if b"\n" not in data and b"\r" in data else b"\n"  # classic Mac line ends
    parts = data.split(sep)
    ends = parts[-1] == b""
    if ends:
        parts.pop()
    return parts, ends, sep


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _try(
    codec: str,
    label: str,
    data: bytes,
    raw_lines: list[bytes],
    ends_with_newline: bool,
    sep: bytes,
    limit: int | None = None,
) -> _Try:
    """Decode with ``codec``; stop early (header_ok False) once more than ``limit`` lines fail."""
    lines: list[str | None]
    bad: list[BadLine] = []
    try:  # the whole file at C speed; line by line only when some line does not decode
        text = data.decode(codec)
        lines = list(text.split(sep.decode()))
        if ends_with_newline:
            lines.pop()
    except UnicodeDecodeError:
        lines = []
        last = len(raw_lines) - 1
        for i, raw in enumerate(raw_lines):
            try:
                lines.append(raw.decode(codec))
            except UnicodeDecodeError as e:
                lines.append(None)
                if (
                    i == last
                    and not ends_with_newline
                    and e.end >= len(raw)
                    and "end of data" in str(e.reason)
                ):
                    bad.append(
                        BadLine(
                            i + 1,
                            raw,
                            "truncated_row",
                            f"line {i + 1}: the file ends inside a character (truncated file)",
                        )
                    )
                else:
                    bad.append(
                        BadLine(
                            i + 1,
                            raw,
                            "encoding",
                            f"line {i + 1}: not valid {label} ({e.reason} at byte {e.start})",
                        )
                    )
                    if limit is not None and len(bad) > limit:  # certainly not this encoding: stop here
                        return _Try(codec, label, lines, bad, 0, 0, False)
        text = "\n".join("" if line is None else line for line in lines)
    # unusual characters found in one pass over the text, then attributed to their lines
    starts = list(itertools.accumulate((len(line or "") + 1 for line in lines), initial=0))
    per_line: dict[int, int] = {}
    for m in _unusual().finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        per_line[i] = per_line.get(i, 0) + 1
    unusual, non_ascii = sum(per_line.values()), _non_ascii(text)
    mojibake: list[tuple[int, int, int]] = []
    for i, u in sorted(per_line.items()):
        n = _non_ascii(lines[i] or "")
        if n >= LINE_MIN_CHARS and u / n >= LINE_BAD_SHARE:
            mojibake.append((i, u, n))
            unusual -= u
            non_ascii -= n
    first = next((i for i, raw in enumerate(raw_lines) if raw.strip()), None)
    header_ok = first is not None and lines[first] is not None and first not in {m[0] for m in mojibake}
    return _Try(codec, label, lines, bad, unusual, non_ascii, header_ok, mojibake)


def _limit(n_lines: int) -> int:
    return max(2, int(n_lines * MAX_BAD_LINE_SHARE))


def _acceptable(t: _Try, n_lines: int) -> bool:
    return t.header_ok and t.failing <= _limit(n_lines) and t.share <= GOOD_SHARE


def _certainly_wrong(t: _Try, n_lines: int) -> bool:
    return not t.header_ok or t.failing > _limit(n_lines) or t.share >= BAD_SHARE


def _detector_family(t: _Try, raw_lines: list[bytes]) -> str | None:
    """charset-normalizer's verdict (restricted to the candidates) on the lines that decoded."""
    sample = bytearray()
    for raw, text in zip(raw_lines, t.lines, strict=True):
        if text is not None:
            sample += raw + b"\n"
            if len(sample) >= SAMPLE_BYTES:
                break
    best = from_bytes(bytes(sample), cp_isolation=["utf_8", "gb18030", "big5"]).best()
    return FAMILY.get(best.encoding) if best is not None else None


def _mojibake_lines(t: _Try) -> None:
    """In a file that decodes cleanly overall, a line that reads as rare characters is another encoding."""
    for i, u, n in t.mojibake:
        text = t.lines[i]
        assert text is not None
        t.lines[i] = None
        t.bad.append(
            BadLine(
                i + 1,
                text.encode(t.codec),
                "encoding",
                f"line {i + 1}: reads as {u} unusual character(s) of {n} in {t.label}: "
                "another encoding (mis-encoded line)",
            )
        )
    t.bad.sort(key=lambda b: b.line)


def decode_lines(data: bytes) -> Decoded:
    """Decode ``data`` line by line (see the module docstring). Raises :class:`UndecodableFile`."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            if codec == "utf-8-sig":
                raw_lines, ends, sep = _split(data[len(bom) :])
                t = _try("utf-8", "utf-8", data[len(bom) :], raw_lines, ends, sep)
                if not t.header_ok:
                    raise UndecodableFile(
                        "starts with a UTF-8 byte-order mark but its first line is not UTF-8"
                    )
                _mojibake_lines(t)
                return Decoded("utf-8-sig", t.lines, t.bad, ["encoding utf-8-sig"], ends)
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as e:
                raise UndecodableFile(
                    f"starts with a {codec.upper()} byte-order mark but does not decode "
                    f"({e.reason} at byte {e.start})"
                ) from e
            parts = text.lstrip("\ufeff").split("\n")
            ends = parts[-1] == ""
            if ends:
                parts.pop()
            return Decoded(codec, list(parts), [], [f"encoding {codec}"], ends)
    raw_lines, ends, sep = _split(data)
    n_lines = sum(1 for raw in raw_lines if raw.strip())
    limit = _limit(n_lines)
    utf8 = _try("utf-8", "utf-8", data, raw_lines, ends, sep, limit)
    if not utf8.bad and not utf8.mojibake:  # valid UTF-8 throughout: nothing else reads it as well
        return Decoded("utf-8", utf8.lines, [], ["encoding utf-8"], ends)
    tries = [
        utf8,
        *(_try(codec, label, data, raw_lines, ends, sep, limit) for codec, label in CANDIDATES[1:]),
    ]
    summary = "; ".join(t.describe() for t in tries)
    ok = [t for t in tries if _acceptable(t, n_lines)]
    fewest = min((t.failing for t in ok), default=0)
    ok = [t for t in ok if t.failing == fewest]
    if utf8 in ok and (utf8.non_ascii or not fewest or not any(t.non_ascii for t in ok)):
        # CJK text that is valid UTF-8 is UTF-8 (other encodings almost never are); and where every line that
        # decodes is ASCII, every candidate reads the same text
        chosen = utf8
    else:
        ok = [t for t in ok if t is not utf8]
        unsure = [t for t in tries[1:] if t not in ok and not _certainly_wrong(t, n_lines)]
        if not ok and not unsure:
            raise UndecodableFile(f"not UTF-8, GBK/GB18030 or Big5 ({summary})")
        if len(ok) == 1 and not unsure:
            chosen = ok[0]
        else:
            # several candidates read plausibly: the best one wins outright when it has both fewer failing lines
            # and fewer unusual characters than every other; else charset-normalizer (restricted to the
            # candidates) decides, and only in favour of the one that reads clearly best
            rivals = ok + unsure
            best = min(rivals, key=lambda t: (t.failing, t.share))
            others = [t for t in rivals if t is not best]
            dominated = best in ok and all(t.failing > best.failing and t.share > best.share for t in others)
            clearly = all((t.failing, t.share) > (best.failing, best.share) for t in others)
            detected = _detector_family(best, raw_lines) if best in ok and not dominated else best.label
            if not dominated and (detected != best.label or not clearly):
                raise UndecodableFile(
                    f"encoding is ambiguous ({summary}; charset-normalizer detects "
                    f"{detected or 'nothing'}): not decoded rather than guessed"
                )
            chosen = best
    _mojibake_lines(chosen)
    encoding = "utf-8" if chosen.codec == "utf-8" else chosen.codec
    notes = [f"encoding {chosen.label}" + (f" ({chosen.codec})" if chosen.label != chosen.codec else "")]
    return Decoded(encoding, chosen.lines, chosen.bad, notes, ends)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """The whole file as text and its encoding; bad lines are left out (see :func:`decode_lines`)."""
    d = decode_lines(data)
    text = "\n".join(line for line in d.lines if line is not None)
    return (text + "\n" if d.ends_with_newline and d.lines else text), d.encoding
