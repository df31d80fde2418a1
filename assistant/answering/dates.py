"""Dates: the one place that parses dates from metadata and text, and writes them for readers.

Two written styles exist and both are kept here so that no other module formats a date: the
citation badge and period labels write the month without a leading zero, as the notes do
(``01/7/2025``, :func:`vn_date`); the sentences of an answer write both with two digits
(``01/07/2025``, :func:`fmt_date`). Unifying them changes what users read, so it is a separate step.
"""

from __future__ import annotations

import re
import reprlib
from datetime import date

YEAR_MIN, YEAR_MAX = 1945, 2100


def parse_date(value: str | date | None) -> date | None:
    """An ISO date (``"2025-07-01"``, or the first ten characters of a timestamp) or a ``date``; ``None`` when
    empty or not a date: metadata comes from hand-written front matter."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def vn_date(d: date) -> str:
    """``01/7/2025``: day with two digits, month without a leading zero, as the notes write it (badges, labels)."""
    return f"{d.day:02d}/{d.month}/{d.year}"


def fmt_date(d: date) -> str:
    """``01/07/2025``: the style of the answer's own sentences ("áp dụng đến 30/06/2025")."""
    return d.strftime("%d/%m/%Y")


def dates_in(folded: str) -> list[date]:
    """The full dates a sentence names ("01/7/2025"), invalid ones skipped."""
    out = []
    for d, mo, y in re.findall(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", folded):
        try:
            out.append(date(int(y), int(mo), int(d)))
        except ValueError:
            continue
    return out


_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AS_OF_ERROR = ("as_of phải là một ngày hợp lệ dạng YYYY-MM-DD (ví dụ 2021-05-23)",
               "as_of must be a valid date YYYY-MM-DD (e.g. 2021-05-23)")


def parse_as_of(value: object) -> date | None:
    """``"2021-05-23"`` -> a date; ``None``/``""`` -> None; anything else raises ``ValueError``
    whose message is ``"<Vietnamese> / <English>"`` (see :data:`AS_OF_ERROR`)."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY_RE.match(value.strip()):
        try:
            d = date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if YEAR_MIN <= d.year <= YEAR_MAX:
                return d
    # reprlib: a bounded echo; repr() of a value nested ~1,000 deep recursed into a 500
    raise ValueError(f"{AS_OF_ERROR[0]} / {AS_OF_ERROR[1]}; nhận được / got {reprlib.repr(value)}")
