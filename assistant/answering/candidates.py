"""Every quotable span of the top passages, scored for the turn, best first.

Evidence valid on the asked date (:func:`assistant.answering.validity.valid_on`) is preferred;
evidence from another period stays a candidate with a penalty, so that it can be used, labelled,
when nothing valid answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.answering.safety import unsafe_quote
from assistant.answering.scoring import adjustment
from assistant.answering.sentences import (
    LIST_ITEM_RE,
    META_RE,
    Candidate,
    clauses,
    extend_span,
    is_heading,
    is_unverified,
    list_items,
)
from assistant.answering.turn import Turn
from assistant.answering.validity import issued_by_number, later_named, valid_on
from assistant.answering.weights import WEIGHTS, Weights
from assistant.search.retrieval import QUESTION_SECTION, ScoredPassage
from assistant.text import collapse_ws, fold


def candidates(turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]] | None = None,
               max_hits: int = 4, window: float = 0.1, weights: Weights | None = None) -> list[Candidate]:
    """Every quotable span of the top passages, scored for this turn (``weights``: default the shipped table);
    best first."""
    if not hits:
        return []
    w = weights or WEIGHTS
    docs = docs or {}
    top = hits[0].score
    asked = turn.asked_date
    period = None
    if turn.period is not None and not getattr(turn.period, "elections", ()):
        # a span ("năm 2020", "nhiệm kỳ 2025–2030") takes any rule in force within it; an election
        # (and a term named by its election) is judged on election day: the 2021 bodies were formed
        # under the 2015 law, whatever changed before the term ended
        period = (getattr(turn.period, "start", None), getattr(turn.period, "end", None))
    # an answer for a past span quotes no sentence that names what came after it (validity.later_named)
    last = turn.window[1]
    past = last if last is not None and last < turn.today else None
    numbers = issued_by_number(docs) if past is not None else {}
    out: list[Candidate] = []
    seen: set[tuple[str, int, int]] = set()
    for rank, h in enumerate(hits[:max_hits]):
        if rank and h.score < top - window:
            continue
        if h.passage.section == QUESTION_SECTION:
            continue
        doc = docs.get(h.passage.doc_id)
        in_period = valid_on(h.passage, asked, doc, period, turn.period.elections if turn.period else ())
        for s in h.sentences:
            if is_heading(h.passage, s.start):
                continue
            span = extend_span(h.passage, s.start, s.end)
            if span is None or unsafe_quote(h.passage.text[span[0] : span[1]], h.passage.source_urls):
                continue  # a planted instruction or a foreign link is never quoted, nor the span around it
            if past is not None and later_named(h.passage.text[span[0] : span[1]], past, numbers):
                continue
            key = (h.passage.id, *span)
            if key in seen:
                continue
            seen.add(key)
            folded = fold(collapse_ws(LIST_ITEM_RE.sub("", h.passage.text[s.start : s.end])))
            c = Candidate(h, s, span[0], span[1], 0.0,
                          unverified=is_unverified(folded),
                          meta=bool(META_RE.match(folded)), in_period=in_period,
                          extended=span != (s.start, s.end))
            c.score = s.score + w.retrieval * (h.score - top) + adjustment(c, turn, w)
            if not in_period:
                c.score -= w.other_period
            out.append(c)
            items = list_items(h.passage.text, s.start, s.end) if not c.extended else []
            for i, (a, b) in enumerate(items):
                part = Candidate(h, s, s.start, b, 0.0, unverified=c.unverified, meta=c.meta, in_period=in_period,
                                 elide=(items[0][0], a) if i else None)
                part.score = s.score + w.retrieval * (h.score - top) + adjustment(part, turn, w) - w.clause
                if not in_period:
                    part.score -= w.other_period
                out.append(part)
            for a, b in clauses(h.passage.text, s.start, s.end) if not c.extended else []:
                part = Candidate(h, s, a, b, 0.0, unverified=is_unverified(fold(h.passage.text[a:b])),
                                 meta=c.meta, in_period=in_period, extended=False)
                part.score = s.score + w.retrieval * (h.score - top) + adjustment(part, turn, w) - w.clause
                if not in_period:
                    part.score -= w.other_period
                out.append(part)
    if hits[0].via_question and hits[0].sentences:
        # the user asked what this Q&A asks: its answer's opening sentence is the direct answer
        first = min(hits[0].sentences, key=lambda x: x.start)
        for c in out:
            if c.sent is first:
                c.score += w.via_question
    out.sort(key=lambda c: -c.score)
    return out
