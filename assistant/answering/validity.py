"""Whether a passage applies on a date: THE validity predicate, and how a passage's period is named.

:func:`valid_on` is the only place that decides whether a rule applies on a day (or within a span).
Candidate selection uses it, and ``tests/unit/test_period.py`` tests it; nothing else compares
passage dates. A passage's span (:func:`passage_period`) is its section's own period, else its
document's (``knowledge/README.md``: ``valid_from``/``valid_to``, ``effective``/``expired``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from assistant.answering.dates import fmt_date, parse_date, vn_date
from assistant.answering.period import format_elections, parse_elections
from assistant.lexicon import LEXICON
from assistant.models import Passage

# kinds whose passages state rules ("Quy định cũ"); news, Q&A and summaries are "Thông tin cũ" (lexicon.yaml)
RULE_KINDS = LEXICON.rule_kinds

Span = tuple[date | None, date | None]


def passage_period(p: Passage, doc: Mapping[str, Any] | None = None) -> Span:
    """``(valid_from, valid_to)`` of a passage: its section's own period, else its document's."""
    start = parse_date(p.valid_from) or parse_date(p.effective)
    end = parse_date(p.valid_to)
    if end is None and doc is not None:
        end = parse_date(str(doc.get("expired", "") or ""))
    return start, end


def valid_on(p: Passage, when: date, doc: Mapping[str, Any] | None = None, period: Span | None = None) -> bool:
    """Whether the passage's rule applies on ``when`` (or overlaps the asked ``period``).

    A document known to have expired with no date is not a rule of any day we can name. An election is
    judged on its day (the caller passes that day as ``when``); the elections a passage names are not
    compared here (see ``tests/unit/test_period.py::test_valid_on_ignores_named_elections``).
    """
    start, end = passage_period(p, doc)
    if end is None and p.status == "het-hieu-luc":
        return False  # expired with no date: not a rule of today, and no period to match a past one
    if period is not None and (period[0] or period[1]):
        a, b = period
        return (end is None or a is None or end >= a) and (start is None or b is None or start <= b)
    return (start is None or start <= when) and (end is None or end >= when)


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
