"""Premises: what the answer depends on must be in the evidence it rests on.

Only what the ask names can be a premise (``asks.reliance``): a document the ask names must exist in
the corpus; a place whose own facts are asked, a claimed figure and a year of an asked fact must occur
in the cited evidence. A gap is refused, naming what the sources lack; a figure the sources contradict
is corrected from the lead when the lead states the same kind of figure. What only the story names
never refuses: the answer gives the general rule and one line names what the sources lack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from assistant.answering.answer import Answer
from assistant.answering.asks import (
    LOCAL_FACT_INTENTS,
    incidental_note,
    place_name_only,
    read_question,
    reliance,
)
from assistant.answering.dates import parse_date
from assistant.answering.entities import BODIES
from assistant.answering.figures import NUMBER_RE, has_quantity
from assistant.answering.mentions import has_body
from assistant.answering.messages import (
    REFUSAL,
    partial_note,
    premise_corrected,
    refusal_for_missing,
    refusal_for_other_body,
)
from assistant.answering.milestones import MILESTONES
from assistant.answering.period import period_years
from assistant.answering.turn import Turn
from assistant.answering.validity import RULE_KINDS, passage_period
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage
from assistant.text import collapse_ws, fold


def premise_gaps(turn: Turn, evidence: str, corpus_numbers: Sequence[str]) -> list[str]:
    """Named things of the question that the evidence the answer rests on does not contain.

    Document numbers must exist in the corpus; places and claimed amounts must occur in the
    evidence (the quoted sentences plus the titles and headings of their passages).
    """
    gaps: list[str] = []
    ev = fold(collapse_ws(evidence))
    corpus = [fold(n) for n in corpus_numbers if n]
    for typed, num in zip(turn.entities.documents, turn.entities.document_numbers, strict=False):
        base = num.split("/")[0] if "/" in num else num.split("-")[0]
        known = any(c == num or c.startswith(num) or num.startswith(c) for c in corpus)
        if not known and "/" in num:
            known = any(c.startswith(num.split("/")[0] + "/" + num.split("/")[1]) for c in corpus if c.count("/") >= 1)
        if not known and not ("/" in num or "-" in num):
            known = any(c.split("/")[0].split("-")[0] == base for c in corpus)
        if not known:
            gaps.append(typed)
    for place in turn.entities.places:
        if fold(place) not in ev:
            gaps.append(place)
    for amount in turn.entities.amounts:
        nums = NUMBER_RE.findall(amount)
        if nums and not any(re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", ev) for n in nums):
            gaps.append(amount)
    return gaps


_YEAR_RANGE = re.compile(r"\b(?:19|20)\d\d\s*[-–—]\s*((?:19|20)\d\d)\b")


def _rule_covers_year(p: Passage, y: int) -> bool:
    """A rule speaks for every year of its period; before its period starts it speaks for none.

    An open start falls back to the document's issue date (a decree cannot apply before it was
    signed). Reports and news have no such span: a 2023 report does not speak for 2019.
    """
    if p.kind not in RULE_KINDS or p.status == "tham-khao":
        return False
    start, end = passage_period(p)
    start = start or parse_date(p.issued)
    if start is None:
        return False
    return start.year <= y and (end is None or y <= end.year)


def year_gaps(turn: Turn, ans: Answer) -> list[str]:
    """Years the question names, other than as the time it asks about, that the cited evidence does not speak for.

    A year named as the period asked ("Năm 2022, …", "trong cuộc bầu cử 2021") is a time to answer
    for, never a premise: the chain chose passages for that time, and ``timeline.unplaced_period``
    says when none can speak for it. For the other years (a document's year, a year in passing): a year written in the cited passages, an election year, or a year inside the period of a cited
    rule counts as evidence ("Năm 2020 … theo quy định nào" is answered from a decree in force in
    2020); any other year is a premise the sources lack ("Năm 2019 Bến Tre có bao nhiêu…" is not
    answered from a report whose year the note does not know). A term named as a range
    ("nhiệm kỳ 2026–2031") is named by its first year: its end is a term's name, not a date asked.
    """
    gaps = []
    texts = " ".join(f"{c.hit.passage.text} {c.hit.passage.title}" for c in ans.citations)
    range_ends = {int(m.group(1)) for m in _YEAR_RANGE.finditer(turn.cleaned or turn.raw)}
    asked = period_years(turn.cleaned or turn.raw, turn.as_of)
    for y in turn.entities.years:
        if y in asked or y in range_ends or str(y) in texts:
            continue
        if y > turn.as_of.year:
            gaps.append(f"năm {y}")
            continue
        if y in MILESTONES.election_days or y == MILESTONES.reform_day.year:
            continue
        if not any(_rule_covers_year(c.hit.passage, y) for c in ans.citations):
            gaps.append(f"năm {y}")
    return gaps


def _unit_kind(text: str) -> str:
    f = fold(text)
    if "%" in f or "phan tram" in f:
        return "%"
    for unit in ("chuc danh", "nguoi", "thanh vien", "ngay", "dong", "trieu"):
        if unit in f:
            return unit
    return ""


def correct_premise(turn: Turn, ans: Answer, wrong: Sequence[str]) -> Answer:
    """A figure stated in the question that the sources contradict: correct it from the lead, or refuse.

    The correction is made only when the answer's first line holds a figure of the same kind
    (a percentage for a percentage, a number of posts for a number of posts); otherwise the
    question rests on something the sources do not hold and is refused.
    """
    first = ans.text.split("\n", 1)[0]
    kinds = {_unit_kind(w) for w in wrong} - {""}
    if not kinds or not any(k in fold(first) for k in kinds) or not has_quantity(fold(first)):
        return Answer(refusal_for_missing(list(wrong)), [], refused=True, answered_by="refusal")
    named = ", ".join(f"«{w}»" for w in wrong)
    body = re.sub(r"^(Được\.|Không\.)\s*", "", first)
    opening = "Không. " if turn.intent == "yesno" else ""
    lines = [premise_corrected(named, opening, body), *ans.text.split("\n")[1:]]
    text = "\n".join(lines).strip() or REFUSAL
    return Answer(text, ans.citations, answered_by=ans.answered_by)


def missing_places(places: Sequence[str], hits: Sequence[ScoredPassage]) -> list[str]:
    """The places (``Quảng Ninh``, ``huyện An Biên``) that no retrieved passage mentions."""
    if not places:
        return []
    texts = " ".join(fold(collapse_ws(h.passage.text)) for h in hits)
    return [n for n in places if fold(place_name_only(n)) not in texts]


def only_documents(turn: Turn, documents: Sequence[str]) -> Turn:
    """``turn`` with its entities reduced to the named documents in ``documents`` (as typed)."""
    pairs = [(d, n) for d, n in zip(turn.entities.documents, turn.entities.document_numbers, strict=False)
             if d in documents]
    return replace(turn, entities=replace(turn.entities, documents=tuple(d for d, _ in pairs),
                                          document_numbers=tuple(n for _, n in pairs), places=(), amounts=()))


def missing_premises(turn: Turn, hits: Sequence[ScoredPassage], corpus_numbers: Sequence[str]) -> list[str]:
    """What the answer depends on and the sources lack, before any answer is composed: a place whose own
    facts are asked that no retrieved passage mentions, a document the ask names that the corpus does not
    hold ("Nghị định 45/2024" is not "33/2023"). The story's places and documents never count."""
    rel = reliance(turn)
    missing = missing_places(rel.places, hits)
    return missing + [d for d in premise_gaps(only_documents(turn, rel.documents), "", corpus_numbers)
                      if d not in missing]


def covered_asks(turn: Turn, missing: Sequence[str]) -> str | None:
    """Partial answers instead of all-or-nothing: the asks of a message that name nothing in ``missing``
    (joined), when some do and some do not; None when every ask depends on something missing."""
    if turn.focus is not None:
        return None
    asks = read_question(turn.cleaned).asks
    keep = [a for a in asks if not any(fold(place_name_only(m)) in fold(a) for m in missing)]
    if len(asks) < 2 or not keep or len(keep) == len(asks):
        return None
    return " ".join(keep)


def other_bodies_only(turn: Turn, ans: Answer) -> list[str]:
    """The names of the other election bodies the answer's quotes speak of, when the question asks about one body
    and no quote (nor its heading) names it; else [].

    Why: "Hội đồng bầu cử quốc gia có cơ cấu tổ chức thế nào?" found only the rules of the local boards ("Ủy ban
    bầu cử, Ban bầu cử và Tổ bầu cử làm việc theo chế độ tập thể"); quoted, they read as the national council's.
    A quote naming no body at all is not judged (it may be the asked body's own article).
    """
    if len(turn.entities.bodies) != 1:
        return []
    asked = turn.entities.bodies[0]
    texts = [fold(f"{c.quote} {c.hit.passage.heading}") for c in ans.citations]
    if any(has_body(t, asked) for t in texts):
        return []
    return [_capital(BODIES[b]) for b in BODIES if b != asked and any(has_body(t, b) for t in texts)]


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def premise_failure(turn: Turn, ans: Answer, suggestion: Callable[[], str]) -> Answer | None:
    """The answer refused or corrected when a premise it depends on fails, else None.

    Only what the answer depends on is checked (``asks.reliance``): a place whose own facts are asked must
    be in the quoted evidence, a figure the ask claims must be in the cited passages, a year the ask names
    for a fact at that time (a count, an amount, a date) or a year still to come must be one the cited
    evidence speaks for. What only the story names (a place, a background decree, a past year, a count of
    people) never refuses: the answer gives the general rule (``with_note``).
    """
    if ans.refused or not ans.citations:
        return None
    rel = reliance(turn)
    reading = read_question(turn.focus or turn.cleaned)
    quoted = " ".join(f"{c.quote} {c.hit.passage.title} {c.hit.passage.heading}" for c in ans.citations)
    passages = " ".join(c.hit.passage.text for c in ans.citations)
    places = replace(turn.entities, documents=(), document_numbers=(), amounts=(), places=rel.places)
    amounts = replace(turn.entities, documents=(), document_numbers=(), places=(),
                      amounts=tuple(a for a in turn.entities.amounts if reading.in_ask(a)))
    years = [y for y in year_gaps(turn, ans) if reading.in_ask(y.split()[-1])
             and (int(y.split()[-1]) > turn.as_of.year or turn.intent in LOCAL_FACT_INTENTS)]
    gaps = premise_gaps(replace(turn, entities=places), quoted, []) + years
    if gaps:
        return Answer(refusal_for_missing(gaps, suggestion()), [], refused=True, answered_by="refusal")
    others = other_bodies_only(turn, ans)
    if others:
        return Answer(refusal_for_other_body(_capital(BODIES[turn.entities.bodies[0]]), others), [], refused=True,
                      answered_by="refusal")
    wrong = premise_gaps(replace(turn, entities=amounts), passages, [])
    return correct_premise(turn, ans, wrong) if wrong else None


def with_note(turn: Turn, ans: Answer, hits: Sequence[ScoredPassage], corpus_numbers: Sequence[str],
              missing: Sequence[str] = ()) -> Answer:
    """The answer opened by one line naming the story's places and documents the sources lack ("Nguồn không
    có quy định riêng của <X>; theo quy định chung: …"), and closed by one naming the asks it leaves out
    (``missing``, a partial answer). Depends on the hits, not the citations: stable while an answer streams."""
    if ans.refused:
        return ans
    rel = reliance(turn)
    lacking = missing_places(rel.incidental_places, hits)
    lacking += premise_gaps(only_documents(turn, rel.incidental_documents), "", corpus_numbers)
    text = incidental_note(ans.text, lacking)
    if missing:
        text = f"{text}\n\n{partial_note(missing)}"
    return replace(ans, text=text) if text != ans.text else ans


def check_premises(turn: Turn, ans: Answer, suggestion: Callable[[], str], hits: Sequence[ScoredPassage] = (),
                   corpus_numbers: Sequence[str] = (), missing: Sequence[str] = ()) -> Answer:
    """The answer checked as a whole against what the question names: refused or corrected when a premise it
    depends on fails (``premise_failure``), else with its notes (``with_note``)."""
    if ans.refused or not ans.citations:
        return ans
    return premise_failure(turn, ans, suggestion) or with_note(turn, ans, hits, corpus_numbers, missing)
