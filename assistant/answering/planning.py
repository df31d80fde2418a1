"""The plan of an extractive answer: which quoted sentence leads, and which may follow it.

The lead is chosen by intent and period; the same fact from several notes becomes one sentence
with several markers, the primary text (law, decree) first; a note's own "chưa xác minh" never pads
an answer; another period's figure is never mixed into an answer for this one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from assistant.answering.figures import NUMBER_RE, answers_amount
from assistant.answering.mentions import mentions_level, other_body_only, other_level_only, says_gone
from assistant.answering.scoring import CLAUSE_PENALTY, primacy
from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.answering.validity import passage_period
from assistant.retrieval import STOPWORDS_FOLDED
from assistant.text import tokenize_folded


def _informative(text: str) -> set[str]:
    return {t for t in tokenize_folded(text) if t not in STOPWORDS_FOLDED and len(t) > 1}


def same_fact(a: str, b: str) -> bool:
    """Two quotes state the same fact: nearly the same words and the same figures."""
    ta, tb = _informative(a), _informative(b)
    if not ta or not tb:
        return False
    overlap = len(ta & tb) / min(len(ta), len(tb))
    na, nb = set(NUMBER_RE.findall(a)), set(NUMBER_RE.findall(b))
    if na or nb:
        return overlap > 0.5 and bool(na & nb) and (na <= nb or nb <= na)
    return overlap > 0.8


@dataclass
class Plan:
    """What the answer will say, before markers are numbered."""

    lead: Candidate | None
    support: list[Candidate]
    unverified_lead: bool = False
    no_figure: bool = False
    considered: list[Candidate] = field(default_factory=list)  # every candidate weighed (for period labels)
    merged: dict[int, list[Candidate]] = field(default_factory=dict)  # id(candidate) -> same-fact twins
    gone: bool = False  # the lead says the asked level was abolished ("có … cấp huyện không?" -> "Không.")


def plan_answer(turn: Turn, cands: Sequence[Candidate], max_sentences: int = 4, margin: float = 0.08) -> Plan:
    """Pick the lead by intent and period, then the supporting sentences that belong with it."""
    usable = [c for c in cands if not c.meta] or list(cands)
    if turn.intent in ("amount", "when", "authority"):
        # a figure, a deadline or an authority belongs to one body and one level: another's is no answer
        usable = [c for c in usable if not other_body_only(turn, c) and not other_level_only(turn, c)] or usable
        # a whole list of figures is not the asked figure: its items are candidates of their own
        items = {c.passage.id for c in usable if not c.extended}
        usable = [c for c in usable if not (c.extended and ":" in c.text and c.passage.id in items)] or usable
    if not usable:
        return Plan(None, [])
    valid = [c for c in usable if c.in_period]
    pool = valid if valid and valid[0].score >= usable[0].score - 0.25 else usable
    pool = [c for c in pool if not c.unverified] or pool
    best = max(usable, key=lambda c: c.score)
    inner = [c for c in usable if c.passage.id == best.passage.id and best.start <= c.start and c.end <= best.end
             and (c.start, c.end) != (best.start, best.end)]
    if inner and not best.unverified:
        top_inner = max(inner, key=lambda c: c.score)
        if top_inner.unverified and top_inner.score >= best.score - 2 * CLAUSE_PENALTY:
            best = top_inner  # the clause that meets the question is the note saying it does not know
    if best.unverified and best.in_period and turn.intent != "change" and not other_level_only(turn, best):
        # the best evidence is the note saying it does not know exactly this: say so, do not pad
        return Plan(best, [], unverified_lead=True)
    lead = pool[0]
    gone = gone_level(turn, pool)
    if gone is not None:
        return Plan(gone, [], gone=True)  # the asked level no longer exists: that is the answer, today's undisputed rule
    if turn.intent == "amount" and not answers_amount(turn, lead):
        # the asked figure, from this period if the sources have it, else from another (then labelled)
        with_figure = [c for c in pool if answers_amount(turn, c) and c.score >= lead.score - 2 * margin]
        if not with_figure:
            with_figure = [c for c in usable if answers_amount(turn, c) and not c.unverified
                           and c.score >= usable[0].score - 0.3]
        if not with_figure:
            return Plan(None, [], no_figure=True, considered=list(cands))  # the sources do not give it
        lead = with_figure[0]
    chosen = [lead]
    merged: dict[int, list[Candidate]] = {}
    for c in pool[1:]:
        if c.score < lead.score - 2 * margin:
            break
        if c.unverified or c.meta or lead.in_period != c.in_period or overlaps(c, chosen):
            continue  # never mix another period's figure into an answer for this one
        twin = next((x for x in chosen if same_fact(x.text, c.text)), None)
        if twin is not None:
            if c.passage.doc_id != twin.passage.doc_id:
                if primacy(c.passage) > primacy(twin.passage):
                    # the primary text states the fact; the summary's marker stays beside it
                    chosen[chosen.index(twin)] = c
                    merged[id(c)] = [twin, *merged.pop(id(twin), [])]
                    if twin is lead:
                        lead = c
                else:
                    merged.setdefault(id(twin), []).append(c)
            continue
        if len(chosen) >= max_sentences or c.score < lead.score - margin:
            continue
        if turn.intent == "amount" and c.passage.id != lead.passage.id and not answers_amount(turn, c):
            continue  # a figure question is answered by figures, not by opinions that happen to score well
        if turn.intent in ("amount", "when") and other_level_only(turn, c):
            continue  # the figure for another level is not part of this answer
        if turn.intent in ("amount", "when", "authority") and other_body_only(turn, c, strict=True):
            continue  # nor the figure of another body (the ĐBQH board beside the HĐND board's)
        chosen.append(c)
    lead, support = chosen[0], chosen[1:]
    order = {id(c.hit): i for i, c in enumerate(cands)}
    support.sort(key=lambda c: (order.get(id(c.hit), 0), c.start))
    return Plan(lead, support, merged=merged, considered=list(cands))


_LEAVING_RE = re.compile(r"\b(nghi viec|thoi viec|tinh gian bien che|doi du|sap xep lai)\b")


def gone_level(turn: Turn, pool: Sequence[Candidate]) -> Candidate | None:
    """The sentence saying the asked level was abolished, when nothing in force speaks of that level otherwise.

    "Ban bầu cử cấp huyện có bao nhiêu thành viên?" asked after 2025: the old figure is no answer,
    "không còn Ủy ban bầu cử, Ban bầu cử cấp huyện" is.
    """
    asked = [lv for lv in turn.entities.levels if lv in ("tinh", "huyen", "xa", "thon")]
    if len(asked) != 1 or turn.intent not in ("amount", "when", "authority", "yesno"):
        return None
    now = [c for c in pool if c.in_period and mentions_level(c.folded, asked[0], explicit=True)]
    gone = [c for c in now if says_gone(c.folded, asked[0]) and not c.unverified]
    if not gone:
        return None
    def since(c: Candidate) -> date:
        return passage_period(c.passage)[0] or date.min

    # only dated evidence says a level was gone by the asked day ("chủ trương kết thúc cấp huyện" in an
    # undated timeline is a plan, not an answer for 2024)
    gone = [c for c in gone if date.min < since(c) <= turn.asked_date]
    if not gone:
        return None
    best = max(gone, key=lambda c: c.score)
    # a sentence about people leaving (severance on "nghỉ việc", "tinh giản biên chế") follows from the
    # abolition: it does not say the level still has the thing
    others = [c for c in now if c not in gone and not _LEAVING_RE.search(c.folded)]
    if turn.entities.posts:  # about a post: only what speaks of that post at the level says it is still there
        others = [c for c in others if any(p in c.folded for p in turn.entities.posts)]

    # a sentence in force that still speaks of the level outweighs the abolition, unless it predates it
    if any(since(c) >= since(best) for c in others):
        return None
    return best


def overlaps(c: Candidate, chosen: Sequence[Candidate]) -> bool:
    return any(x.passage.id == c.passage.id and x.start < c.end and c.start < x.end for x in chosen)
