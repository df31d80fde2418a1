"""One time line: an answer for a date uses only what existed and applied on that date.

The chain hands this module the ranked passages; :func:`split_hits` keeps, by the one predicate
``validity.valid_on`` (and its ``later_than``), those that existed (document issued by the end of the asked span) and applied
(section period overlapping it): only these reach an answerer, so nothing later can be quoted
by accident and nothing has to be reworded afterwards. What came later is set aside, and
:func:`place_in_time` may show it in one separate labelled line ("Sau ngày D: …") when it changes
the answer. The same step makes every answer for a day other than today open with that day, says
when the quoted rule changed since, and, when the question names a period while another day was
chosen, says which of the two it used.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from assistant.answering.answer import Answer
from assistant.answering.candidates import candidates
from assistant.answering.dates import fmt_date
from assistant.answering.messages import (
    LATER_LABEL,
    STATUS_NOTE_HEAD,
    choose_a_later_day,
    ended_since,
    not_issued_yet,
    nothing_then,
    period_used,
    refusal_future_period,
    refusal_undated_for_period,
    replaced_since,
    since_applies,
    since_issued,
)
from assistant.answering.planning import plan_answer
from assistant.answering.provisions import document_label
from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.answering.validity import (
    RULE_KINDS,
    issued_on,
    later_named,
    later_than,
    latest_named_day,
    passage_period,
    valid_on,
)
from assistant.search.retrieval import ScoredPassage
from assistant.text import fold

Docs = Mapping[str, Mapping[str, Any]]

# extra passages ranked below the top k, so that an answer for a past day still has enough of its own time
TIME_POOL = 10
_VERDICT_OPENING = re.compile(r"^((?:Được|Không|Có|Chưa|Đúng|Sai|Còn|Vẫn)\.\s+)")


def fmt(d: date) -> str:
    return fmt_date(d)


def _doc(docs: Docs, hit: ScoredPassage) -> Mapping[str, Any] | None:
    return docs.get(hit.passage.doc_id)


def for_today(turn: Turn) -> bool:
    """Whether the answer speaks for today only (no other day to name)."""
    return turn.window == (turn.today, turn.today)


def split_hits(turn: Turn, pool: Sequence[ScoredPassage], docs: Docs, k: int
               ) -> tuple[list[ScoredPassage], list[ScoredPassage]]:
    """``(usable, later)``: the best ``k`` passages that existed by the end of the asked span, and the
    best ``k`` that came after it (issued, or starting to apply, after its last day).

    Only ``usable`` reaches an answerer. Among them, a rule that had already stopped applying is
    quoted only when nothing in force answers, and then under its own period's label ("Thời kỳ trước
    (áp dụng đến …)", ``validity_lines.period_prefix``): an old figure is history, clearly dated, never a
    later one passed off as the asked day's.
    """
    _, end = turn.window
    usable: list[ScoredPassage] = []
    later: list[ScoredPassage] = []
    for h in pool:
        (later if later_than(h.passage, end, _doc(docs, h)) is not None else usable).append(h)
    return usable[:k], later[:k]


def date_phrase(turn: Turn) -> str:
    """How the answer names the time it speaks for: "Tại ngày 23/05/2021", "Trong cuộc bầu cử năm 2021",
    "Trước ngày 01/7/2025"; "" when it speaks for today."""
    if for_today(turn):
        return ""
    p = turn.period
    label = str(getattr(p, "label", "") or "") if p is not None and getattr(p, "source", "") == "question" else ""
    if p is not None and label and label != "hiện nay":
        return p.heading
    return f"Tại ngày {fmt(turn.asked_date)}"


def _last_day(turn: Turn) -> date | None:
    return turn.window[1]


def named_later(turn: Turn, later: Sequence[ScoredPassage], docs: Docs) -> ScoredPassage | None:
    """A passage of a document the question names that did not exist yet at the asked time."""
    nums = [fold(n) for n in turn.entities.document_numbers]
    if not nums:
        return None
    end = _last_day(turn)
    for h in later:
        number = fold(h.passage.number)
        issued = issued_on(h.passage, _doc(docs, h))
        if number and issued is not None and end is not None and issued > end and any(
                number == n or number.startswith(n) or n.startswith(number) for n in nums):
            return h
    return None


def _later_lead(turn: Turn, later: Sequence[ScoredPassage], docs: Docs) -> Candidate | None:
    """The sentence a later passage would have answered with (judged as of today)."""
    if not later:
        return None
    now_turn = dataclasses.replace(turn, period=None, as_of=turn.today)
    cands = [c for c in candidates(now_turn, later, docs) if not c.meta and not c.unverified]
    return plan_answer(now_turn, cands, 1).lead if cands else None


def _since(c: Candidate, end: date, docs: Docs) -> str:
    """"(Chỉ thị 45-CT/TW ban hành 14/04/2025)" or "(áp dụng từ 01/07/2025)": when the later text came."""
    doc = docs.get(c.passage.doc_id)
    when = later_than(c.passage, end, doc)
    if when is None:
        return ""
    if when == issued_on(c.passage, doc):
        return since_issued(document_label(c.passage), fmt(when))
    return since_applies(fmt(when))


def _replacement(turn: Turn, ans: Answer, later: Sequence[ScoredPassage], docs: Docs
                 ) -> tuple[date, date, Candidate] | None:
    """``(until, since, candidate)`` when the rule quoted first stopped applying after the asked day
    (on ``until``) and a later passage among the ranked ones starts once it ended (on ``since``):
    the rule the asker relies on was replaced, which changes the answer for anyone acting today."""
    end = _last_day(turn)
    if end is None or not ans.citations:
        return None
    p = ans.citations[0].hit.passage
    _, until = passage_period(p, docs.get(p.doc_id))
    if until is None or until < end or until >= turn.today:
        return None
    # the replacing rule is the one that applies the day after the quoted one ended, not any later one
    nxt = until + timedelta(days=1)
    after = [h for h in later if (passage_period(h.passage, _doc(docs, h))[0] or date.min) > until
             and valid_on(h.passage, nxt, _doc(docs, h))]
    lead = _later_lead(turn, after, docs)
    if lead is None:
        return None
    since = passage_period(lead.passage, docs.get(lead.passage.doc_id))[0]
    return (until, since, lead) if since is not None else None


def _insert_line(text: str, line: str) -> str:
    """Add a line after the answer's body, before its status notes (separated by a blank line)."""
    body, sep, notes = text.partition("\n\n")
    return f"{body}\n{line}{sep}{notes}"


def changed_since(turn: Turn, ans: Answer, docs: Docs) -> str:
    """One line when the rule quoted first stopped applying between the asked day and today:
    "Sau ngày D: quy định trên chỉ áp dụng đến 30/06/2025; từ 01/07/2025 đã thay đổi."."""
    end = _last_day(turn)
    if end is None or end >= turn.today or not ans.citations:
        return ""
    p = ans.citations[0].hit.passage
    _, until = passage_period(p, docs.get(p.doc_id))
    if until is None or until < end or until >= turn.today:
        return ""
    return ended_since(fmt(end), fmt(until), fmt(until + timedelta(days=1)))


def place_in_time(turn: Turn, ans: Answer, later: Sequence[ScoredPassage], docs: Docs,
                  named: ScoredPassage | None = None) -> Answer:
    """The answer composed from what existed at the asked time, placed on the time line.

    What came later is never quoted nor cited (an answer for 2021 cites nothing of 2025); it is only
    named, with its date, in one labelled line "Sau ngày D: …", and only when it changes the answer:

    - Nothing of the asked time answers but a later text would: say so for the asked time and name the
      later text and the day it came (a document the question names that did not exist yet is named
      as such, with its issue day). This is a refusal for the asked time, not an answer.
    - The answer stands: when the rule it quotes first was replaced after the asked day, the line gives
      the date of change and the replacing provision; when it merely stopped applying, the date.
    - An answer for a day other than today opens with that day (after its verdict word), and says
      which time it used when the question named a period other than the chosen day.
    """
    end = _last_day(turn)
    phrase = date_phrase(turn)
    if (ans.refused or not ans.citations) and end is not None and end < turn.today:
        lead = _later_lead(turn, [named] if named is not None else later, docs)
        if lead is None:
            return ans
        when = phrase or f"Tại ngày {fmt(end)}"
        came = later_than(lead.passage, end, docs.get(lead.passage.doc_id)) or end
        if named is not None:
            intro = not_issued_yet(when, document_label(named.passage), fmt(came))
        else:
            intro = nothing_then(when, fmt(end), _since(lead, end, docs), lead.passage.label)
        return Answer(f"{intro} {choose_a_later_day(fmt(came))}", [],
                      refused=True, answered_by="refusal")
    if ans.refused or not ans.citations:
        return ans
    text = ans.text
    replaced = _replacement(turn, ans, later, docs)
    if replaced is not None and end is not None:
        until, since, lead = replaced
        text = _insert_line(text, replaced_since(fmt(end), fmt(until), fmt(since), lead.passage.label))
    else:
        since_line = changed_since(turn, ans, docs)
        if since_line:
            text = _insert_line(text, since_line)
    text = open_with_date(turn, text)
    which = which_date(turn)
    if which:
        text += ("\n" if "\n\n" in text else "\n\n") + which
    return dataclasses.replace(ans, text=text)


def open_with_date(turn: Turn, text: str) -> str:
    """Make the first line name the asked time unless it already does (after a verdict word)."""
    phrase = date_phrase(turn)
    first = text.split("\n", 1)[0].casefold()
    if not phrase or phrase.casefold() in first or fmt(turn.asked_date) in first:
        return text
    m = _VERDICT_OPENING.match(text)
    verdict = m.group(1) if m else ""
    return f"{verdict}{phrase}: {text[len(verdict):]}"


def which_date(turn: Turn) -> str:
    """When the question names its own period and another day was chosen, say which one the answer used."""
    p = turn.period
    if p is None or getattr(p, "source", "") != "question" or turn.as_of == turn.today:
        return ""
    start, end = turn.window
    if (start is None or start <= turn.as_of) and (end is None or turn.as_of <= end):
        return ""
    return period_used(p.label, fmt(turn.as_of))


# --- a period the answer cannot speak for ---------------------------------------------------------

def _placed(p: Any, doc: Mapping[str, Any] | None, start: date | None, end: date | None) -> bool:
    """A cited passage can be placed in the span: it applies there and its own time is known (an issue
    day or a rule's section start), or the span's year is written in it."""
    if not valid_on(p, end or start or date.max, doc, (start, end)):
        return False
    years = {d.year for d in (start, end) if d is not None}
    if any(str(y) in f"{p.text} {p.title}" for y in years):
        return True
    own_start, _ = passage_period(p, doc)
    return issued_on(p, doc) is not None or (own_start is not None and p.kind in RULE_KINDS)


def unplaced_period(turn: Turn, ans: Answer, docs: Docs) -> str:
    """The refusal when the answer cannot speak for the period the question names ("" when it can).

    A period is a time to answer for, never a fact to find in the text, so this is not a premise
    check ("không có thông tin về «năm 2022»" is never said). It refuses only when the period lies
    after today (the sources hold nothing yet to come) or when no cited passage can be placed in it
    (:func:`_placed`: an undated press report does not speak for 2019).
    """
    p = turn.period
    if p is None or getattr(p, "source", "") != "question" or ans.refused or not ans.citations:
        return ""
    start, end = turn.window
    if (start is None or start <= turn.today) and (end is None or end >= turn.today):
        return ""  # a period reaching today ("hiện nay", "từ 01/7/2025"): what the sources hold now speaks for it
    if start is not None and start > turn.today:
        return refusal_future_period(p.label, fmt(turn.today))
    if any(_placed(c.hit.passage, docs.get(c.hit.passage.doc_id), start, end) for c in ans.citations):
        return ""
    return refusal_undated_for_period(p.label)


# --- auditing an answer against the time line ---------------------------------------------------

_EARLIER_OPENING = re.compile(r"^(?:(?:Được|Không|Có|Chưa|Đúng|Sai|Còn|Vẫn)\.\s+)?(?:[^:\[\n]{0,80}:\s+)?"
                              r"(?:Thời kỳ trước|Trước đó)\b")
_MARKERS = re.compile(r"\[(\d+)\]")
_EXPIRED_STATEMENT = "đã hết hiệu lực"  # as validity_lines.validity_line states a text's end


def audit(text: str, citations: Sequence[Mapping[str, Any]], start: date | None, end: date | None) -> list[str]:
    """Where an answer for the span ``[start, end]`` breaks the time line (``[]`` when it does not).

    Works on the answer's JSON alone (its text and ``citations[]`` with ``issued``, ``valid_from``,
    ``valid_to``, ``status``), so evals and tests can check any answer. No citation's document may
    have been issued after ``end``, nor (for a past span) may its quote name a text or a day that came
    after it (:func:`assistant.answering.validity.later_named`); every citation must pass the one predicate
    (:func:`assistant.answering.validity.valid_on`) except in lines labelled with an earlier period ("Thời kỳ
    trước (…)", "Trước đó (…)") and in an answer whose first line states that a text "đã hết hiệu
    lực", where a text that had stopped applying is quoted as history; and at most one line may name
    what came later ("Sau ngày D: …", never with a citation).
    """
    lines = text.split("\n")
    later_head = f"{LATER_LABEL} {fmt(end)}" if end is not None else None
    later_lines = [ln for ln in lines if later_head and later_head in ln]
    problems = [f"{len(later_lines)} lines name «{later_head}»"] if len(later_lines) > 1 else []
    problems += [f"a citation in the «{later_head}» line: {ln}" for ln in later_lines if _MARKERS.search(ln)]
    # an answer about a text's status ("… đã hết hiệu lực từ 01/08/2023 …") quotes that text as history
    status_of_past = _EXPIRED_STATEMENT in lines[0]
    for c in citations:
        n = int(c.get("n", 0))
        # the lines that quote it (a status note under the answer only names the source)
        where = [ln for ln in lines if n in {int(m) for m in _MARKERS.findall(ln)}
                 and not ln.startswith(STATUS_NOTE_HEAD)]
        p = SimpleNamespace(**{k: c.get(k, "") for k in ("issued", "effective", "valid_from", "valid_to", "status")})
        issued = issued_on(p)
        name = f"[{n}] {c.get('label', '')}"
        reported = latest_named_day(str(c.get("quote", ""))) if issued is None else None
        named_later = later_named(str(c.get("quote", "")), end) if end is not None and end < date.today() else ""
        if issued is not None and end is not None and issued > end:
            problems.append(f"{name}: issued {issued.isoformat()}, after {end.isoformat()}")
        elif named_later:
            problems.append(f"{name}: its quote names «{named_later}», after {end}")
        elif reported is not None and end is not None and reported > end:
            problems.append(f"{name}: undated, quotes {reported.isoformat()}, after {end.isoformat()}")
        elif status_of_past or (where and all(_EARLIER_OPENING.match(ln) for ln in where)):
            continue
        elif not valid_on(p, end or start or date.max, None, (start, end)):
            problems.append(f"{name}: applies {c.get('valid_from') or '…'}–{c.get('valid_to') or '…'}, "
                            f"not in {start or '…'}–{end or '…'}")
    return problems
