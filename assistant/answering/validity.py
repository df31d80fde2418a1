"""Whether a passage applies on a date: THE validity predicate, and how a passage's period is named.

:func:`valid_on` is the only place that decides whether a rule applies on a day (or within a span).
Candidate selection uses it, and ``tests/unit/test_period.py`` tests it; nothing else compares
passage dates. A passage's span (:func:`passage_period`) is its section's own period, else its
document's (``knowledge/README.md``: ``valid_from``/``valid_to``, ``effective``/``expired``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from assistant.answering.dates import fmt_date, parse_date, vn_date
from assistant.answering.period import format_elections, parse_elections
from assistant.lexicon import LEXICON
from assistant.models import Passage

# kinds whose passages state rules ("Quy định cũ"); news, Q&A and summaries are "Thông tin cũ" (lexicon.yaml)
RULE_KINDS = LEXICON.rule_kinds

Span = tuple[date | None, date | None]


def _doc_value(doc: Mapping[str, Any] | None, key: str) -> str:
    return str(doc.get(key, "") or "") if doc else ""


def issued_on(p: Any, doc: Mapping[str, Any] | None = None) -> date | None:
    """The day the passage's document was issued (``issued``), or ``None`` when the metadata does not say."""
    return parse_date(str(getattr(p, "issued", "") or "")) or parse_date(_doc_value(doc, "issued"))


_NAMED_DAY_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)\b")


@lru_cache(maxsize=4096)
def latest_named_day(text: str) -> date | None:
    """The latest full date (``14/4/2025``) a text names, or ``None``."""
    days = []
    for d, m, y in _NAMED_DAY_RE.findall(text):
        try:
            days.append(date(int(y), int(m), int(d)))
        except ValueError:
            continue
    return max(days) if days else None


# a document number that carries its year: "33/2023/NĐ-CP", "34/2019", "85/2015/QH13"
_NUMBER_YEAR_RE = re.compile(r"(?<![\d/])\d{1,4}/((?:19|20)\d\d)(?![\d])")
# any document number, folded: "45-ct/tw", "33/2023/nd-cp", "137-kl/tw"
_NUMBER_RE = re.compile(r"(?<![\w/])\d{1,4}(?:[-/][a-z0-9đ]+)+")


def later_named(text: str, end: date | None, issued_by_number: Mapping[str, date] | None = None) -> str:
    """The text a sentence names that did not exist yet on ``end``: a document numbered in a later year
    ("Nghị định 33/2023/NĐ-CP" for 2016) or an indexed document issued after ``end``
    (``issued_by_number``: folded number → issue day, e.g. "45-ct/tw"). ``""`` when none.

    Why a sentence, not only its passage: a note valid in 2016 may add, in one sentence, what a later
    text changed; quoted for 2016 that sentence tells the reader something nobody could have known then.
    A later day alone does not count: "trước ngày 01/7/2025" names the end of the sentence's own period.
    """
    if end is None:
        return ""
    for m in _NUMBER_YEAR_RE.finditer(text):
        if int(m.group(1)) > end.year:
            return m.group(0)
    if issued_by_number:
        for m in _NUMBER_RE.finditer(text.casefold()):
            issued = issued_by_number.get(m.group(0))
            if issued is not None and issued > end:
                return m.group(0)
    return ""


def issued_by_number(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, date]:
    """Folded document number → issue day, for the documents in the index that state both."""
    out: dict[str, date] = {}
    for d in docs.values():
        number = str(d.get("number", "") or "").strip().casefold()
        day = parse_date(str(d.get("issued", "") or ""))
        if number and day is not None:
            out[number] = day
    return out


def exists_from(p: Any, doc: Mapping[str, Any] | None = None) -> date | None:
    """The first day the passage's text existed: its document's issue day; for a note that gives none
    (a summary, a press report), the latest day its own text names, since a text cannot report a day
    that had not come yet when it was written."""
    return issued_on(p, doc) or latest_named_day(str(getattr(p, "text", "") or ""))


def passage_period(p: Any, doc: Mapping[str, Any] | None = None) -> Span:
    """``(valid_from, valid_to)`` of a passage: its section's own period, else its document's."""
    start = parse_date(str(getattr(p, "valid_from", "") or "")) or parse_date(str(getattr(p, "effective", "") or ""))
    end = (parse_date(str(getattr(p, "valid_to", "") or "")) or parse_date(str(getattr(p, "expired", "") or ""))
           or parse_date(_doc_value(doc, "expired")))
    return start, end


def valid_on(p: Any, when: date, doc: Mapping[str, Any] | None = None, period: Span | None = None,
             elections: Iterable[int] = ()) -> bool:
    """THE date-validity predicate: whether a passage may speak for the day ``when`` (or, given a
    ``period`` with a bound, for that span; ``None`` = open end).

    Why two conditions: an answer for a past day must use only what a reader could have used on that
    day. The passage must *exist* (:func:`exists_from` on or before the last day asked: a 2025
    directive says nothing about 2021, however well it matches, nor does an undated summary that
    reports 14/4/2025) and its section must *apply* (its period, else its document's, overlaps the
    day or span). A document known to have expired with no date is not a rule of any day we can name.
    Missing dates do not exclude: what a note does not date is taken as always applying. An election
    is judged on its day (the caller passes that day and the asked ``elections``): a section that names
    the elections it speaks for must name the asked one (the 2016 consultation, valid until 2025, does
    not speak for the 2021 election).
    """
    named = parse_elections(str(getattr(p, "elections", "") or ""))
    asked = set(elections)
    if named and asked and not asked & set(named):
        return False
    a, b = period if period is not None and (period[0] or period[1]) else (when, when)
    existed = exists_from(p, doc)
    if existed is not None and b is not None and existed > b:
        return False
    start, end = passage_period(p, doc)
    if end is None and getattr(p, "status", "") == "het-hieu-luc":
        return False  # expired with no date: not a rule of today, and no period to match a past one
    return (end is None or a is None or end >= a) and (start is None or b is None or start <= b)


def later_than(p: Any, end: date | None, doc: Mapping[str, Any] | None = None) -> date | None:
    """The day a passage came after a span ending on ``end``: the day its text existed or its section
    started, whichever is later, when that is after ``end``; else ``None`` (``None`` too for an open end)."""
    if end is None:
        return None
    start, _ = passage_period(p, doc)
    days = [d for d in (exists_from(p, doc), start) if d is not None and d > end]
    return max(days) if days else None


def period_label(passage: Passage, as_of: date) -> str:
    """A citation badge for the passage seen from ``as_of``.

    ``"Quy định cũ · 2016–2021"`` / ``"Quy định cũ · đến 31/7/2023"`` when it stopped applying
    before ``as_of`` (``"Thông tin cũ · …"`` for news, Q&A and summaries); ``"Áp dụng từ 15/3/2026"`` when
    its section starts later; ``"Hiện hành từ 01/7/2025"`` when it applies and its section starts later than
    the document (a recent change); ``""`` when it plainly applies.
    """
    start, end = parse_date(passage.valid_from), passage_period(passage)[1]  # the section's own start
    elections = parse_elections(passage.elections)
    if end is not None and end < as_of:
        span = format_elections(elections) if elections else f"đến {vn_date(end)}"
        old = "Quy định cũ" if passage.kind in RULE_KINDS else "Thông tin cũ"
        return f"{old} · {span}"
    if start is not None and start > as_of:
        return f"Áp dụng từ {vn_date(start)}"
    doc_effective = parse_date(passage.effective)
    if start is not None and start != doc_effective:
        return f"Hiện hành từ {vn_date(start)}"
    return ""


def period_fields(passage: Passage, as_of: date | None = None) -> dict[str, str]:
    """``valid_from``, ``valid_to``, ``period_label`` of a citation (``as_of`` default: today)."""
    return {
        "valid_from": passage.valid_from or "",
        "valid_to": passage.valid_to or "",
        "period_label": period_label(passage, as_of or date.today()),
    }


def period_phrase(p: Passage, doc: Mapping[str, Any] | None = None) -> str:
    """How an answer names the period a quote speaks for: "áp dụng đến 30/06/2025 (bầu cử 2016, 2021)"."""
    start, end = passage_period(p, doc)
    elections = ", ".join(y.strip() for y in str(p.elections or "").split(",") if y.strip())
    parts = []
    if end is not None:
        parts.append(f"áp dụng đến {fmt_date(end)}")
    elif start is not None and start > date(2000, 1, 1):
        parts.append(f"áp dụng từ {fmt_date(start)}")
    if elections:
        parts.append(f"bầu cử {elections}")
    if not parts and p.status == "het-hieu-luc":
        parts.append("quy định đã hết hiệu lực")
    return ", ".join(parts)
