"""Section periods and editorial notes written under a section heading, removed from the body text."""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from pathlib import Path

from assistant.ingest.errors import LoadError
from assistant.models import SectionMarker, SectionPeriod
from assistant.text import collapse_ws, fold

# "> Áp dụng: valid_from=2025-07-01; valid_to=…; elections=2016, 2021" right under a section heading
# (matched on folded text, so "Ap dung" works too); "> Ghi chú biên soạn: …" guidance for maintainers
_PERIOD_MARK_RE = re.compile(r"^[ \t]{0,3}(?:>[ \t]*)?ap dung[ \t]*:")
_EDITORIAL_RE = re.compile(r"^[ \t]{0,3}(?:>[ \t]*)?ghi chu bien soan[ \t]*:")
_QUOTE_CONT_RE = re.compile(r"^[ \t]{0,3}>")
_MD_HEADING_RE = re.compile(r"^##[ \t]+\S")
_FENCE_LINE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")
PERIOD_KEYS = ("valid_from", "valid_to", "elections")


def extract_annotations(
    path: Path, text: str, first_line: int | None, markdown: bool = True
) -> tuple[str, list[str], list[SectionMarker]]:
    """Remove ``> Áp dụng: …`` and ``> Ghi chú biên soạn: …`` lines from ``text``.

    Returns the text without them, the editorial notes (never indexed or quoted) and, for each
    period marker, where it stood (its ``##`` heading line, or its offset in the returned text).
    ``first_line`` is the file line of ``text``'s first line (None when lines are not the file's,
    e.g. text extracted from a PDF). In a Markdown note with ``##`` sections a period marker must
    stand right under a ``##`` heading (blank lines and editorial notes may sit between), once.
    """
    lines = text.split("\n")
    out: list[str] = []
    out_len = 0
    editorial: list[str] = []
    periods: list[SectionMarker] = []
    heading, seen_headings = "", Counter[str]()
    has_sections = markdown and any(_MD_HEADING_RE.match(ln) for ln in lines)
    in_fence = False
    under_heading = False  # only blank lines and annotations since the last "##" heading
    marked_heading = False  # the current "##" section already has a period marker

    def where(i: int) -> int | None:
        return first_line + i if first_line is not None else None

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE_LINE_RE.match(line):
            in_fence = not in_fence
        folded = fold(line) if not in_fence else ""
        if not in_fence and _EDITORIAL_RE.match(folded):
            parts = [line.split(":", 1)[1].strip()]
            j = i + 1
            quoted = line.lstrip().startswith(">")
            while quoted and j < len(lines) and _QUOTE_CONT_RE.match(lines[j]) and not (
                _PERIOD_MARK_RE.match(fold(lines[j])) or _EDITORIAL_RE.match(fold(lines[j]))
            ):
                parts.append(lines[j].lstrip()[1:].strip())
                j += 1
            note = collapse_ws(" ".join(p for p in parts if p))
            if not note:
                raise LoadError(path, "ghi chú biên soạn trống", where(i), en="empty 'Ghi chú biên soạn' note")
            editorial.append(note)
            i = j
            continue
        if not in_fence and _PERIOD_MARK_RE.match(folded):
            if has_sections and not under_heading:
                raise LoadError(
                    path,
                    "'Áp dụng:' phải đặt ngay dưới tiêu đề '##' của mục",
                    where(i),
                    en="'Áp dụng:' must stand right under a '##' heading",
                )
            if has_sections and marked_heading:
                raise LoadError(path, "mục đã có dòng 'Áp dụng:'", where(i),
                                en="the section already has an 'Áp dụng:' line")
            anchor = heading if has_sections else ""
            occurrence = seen_headings[anchor] - 1 if anchor else 0
            periods.append(SectionMarker(out_len, anchor, occurrence,
                                         parse_period_marker(path, line.split(":", 1)[1], where(i))))
            marked_heading = True
            i += 1
            continue
        if not in_fence and _MD_HEADING_RE.match(line):
            under_heading, marked_heading = True, False
            heading = line.rstrip()
            seen_headings[heading] += 1
        elif line.strip():
            under_heading = False
        out.append(line)
        out_len += len(line) + 1
        i += 1
    return "\n".join(out), editorial, periods


def parse_period_marker(path: Path, spec: str, line: int | None) -> SectionPeriod:
    """``valid_from=2025-07-01; valid_to=2025-06-30; elections=2016, 2021`` -> :class:`SectionPeriod`."""
    values: dict[str, str] = {}
    for item in spec.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in PERIOD_KEYS:
            raise LoadError(
                path,
                f"'Áp dụng:' dùng {'; '.join(k + '=…' for k in PERIOD_KEYS)}; mục {item.strip()!r} không hợp lệ",
                line,
                en=f"invalid item {item.strip()!r}; use {'; '.join(k + '=…' for k in PERIOD_KEYS)}",
            )
        if key in values:
            raise LoadError(path, f"'Áp dụng:' khóa '{key}' bị lặp", line, en=f"'Áp dụng:' duplicate key '{key}'")
        values[key] = value.strip()
    if not values:
        raise LoadError(path, "'Áp dụng:' trống", line, en="empty 'Áp dụng:' line")
    dates: dict[str, str] = {}
    for key in ("valid_from", "valid_to"):
        raw = values.get(key, "")
        if not raw:
            continue
        try:
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
                raise ValueError(raw)
            dates[key] = _dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            raise LoadError(path, f"'Áp dụng:' {key}={raw} không phải ngày dạng YYYY-MM-DD", line,
                            en=f"'Áp dụng:' {key}={raw} is not an ISO date") from None
    if dates.get("valid_from") and dates.get("valid_to") and dates["valid_to"] < dates["valid_from"]:
        raise LoadError(path, f"'Áp dụng:' valid_to={dates['valid_to']} trước valid_from={dates['valid_from']}", line,
                        en=f"'Áp dụng:' valid_to={dates['valid_to']} is before valid_from={dates['valid_from']}")
    elections: list[int] = []
    for tok in re.split(r"[,\s]+", values.get("elections", "")):
        if not tok:
            continue
        if not re.match(r"^(19|20)\d{2}$", tok):
            raise LoadError(path, f"'Áp dụng:' elections: {tok!r} không phải năm (ví dụ 2016, 2021)", line,
                            en=f"'Áp dụng:' elections: {tok!r} is not a year (e.g. 2016, 2021)")
        if int(tok) not in elections:
            elections.append(int(tok))
    return SectionPeriod(dates.get("valid_from", ""), dates.get("valid_to", ""), tuple(sorted(elections)))
