"""How well a quotable span answers the turn: its retrieval score adjusted by intent and entities.

:func:`adjustment` is the rule-based part (the verdict for a yes/no question, the figure for the
asked level and body for an amount question, the deciding authority for a "who decides" one, a
primary text before a summary); :func:`entity_rerank` nudges whole passages by the body their heading names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.figures import (
    FIGURES_REMARK_RE,
    QUANTITY_WORDS,
    asked_unit,
    asks_rate,
    counts_unit,
    has_quantity,
    has_rate,
    total_for_level,
)
from assistant.answering.mentions import has_body, mentions_level, post_rules, says_gone
from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.answering.verdicts import VERDICT_RE, verdict_word
from assistant.models import Passage
from assistant.retrieval import ScoredPassage
from assistant.text import fold

_MUST_DO_Q = re.compile(r"\b(phai|can) lam (gi|sao|the nao|nhu the nao)\b")

PRIMARY_KINDS = {"luat": 3, "nghi-dinh": 3, "thong-tu": 3, "nghi-quyet": 2, "quy-dinh": 2, "ket-luan": 2,
                 "chi-thi": 2, "huong-dan": 1, "hoi-dap": 1, "tin-tuc": 0, "khac": 0}

OTHER_PERIOD_PENALTY = 0.2


def primacy(p: Passage) -> int:
    """How primary a source is: a law's article before a summary, a summary before news or Q&A."""
    score = PRIMARY_KINDS.get(p.kind, 0)
    if p.status != "tham-khao":
        score += 1
    if re.match(r"(Điều|Khoản|Mục|Chương)\b", p.section):
        score += 1
    return score


def adjustment(c: Candidate, turn: Turn) -> float:
    """Intent- and entity-aware adjustment of a candidate's retrieval score."""
    f = c.folded
    head = fold(f"{c.passage.heading} {c.passage.section}")
    ents = turn.entities
    b = 0.0
    has_number = has_quantity(f)
    if turn.intent == "yesno":
        if verdict_word(turn, c.text) is not None:
            b += 0.06  # states the outcome outright
        elif verdict_word(turn, c.text, any_level=True) is not None:
            b -= 0.04  # states an outcome, but for another level than the one asked
        elif VERDICT_RE.search(f):
            b += 0.02
    if turn.intent == "amount":
        rate = asks_rate(turn.folded)
        if rate:
            has_number = has_rate(f)  # "chỉ hưởng một mức phụ cấp" counts allowances, it is not how much
        if has_number:
            b += 0.06
        elif not rate and re.search(rf"\b{QUANTITY_WORDS} (muc|nguoi|chuc danh|thanh vien)\b", f):
            b += 0.03
        else:
            b -= 0.04
        unit = asked_unit(turn.folded)
        if unit and counts_unit(f, unit) and not total_for_level(turn, f):
            b += 0.1  # counts what was asked ("9 đến 17 người"), not a deadline or an article number
        if not ents.levels and sum(mentions_level(f, lv, explicit=True) for lv in ("tinh", "huyen", "xa")) == 1:
            b -= 0.03  # one level's figure ("26 trường hợp ở cấp huyện") is not the total asked for
        if FIGURES_REMARK_RE.search(f):
            b -= 0.1  # "Số liệu … không còn phản ánh tình hình hiện tại" speaks about figures, it gives none
    if turn.intent == "authority" and re.search(
            r"\b(uy ban nhan dan|hoi dong nhan dan|chinh phu|quoc hoi|bo noi vu|bo chinh tri|ban thuong vu|"
            r"cap uy|thu tuong|hoi dong bau cu)\b", f) and re.search(r"\b(thanh lap|quyet dinh|bo nhiem|phe duyet)\b", f):
        b += 0.08
    if turn.intent == "validity":
        if re.search(r"\b(thay the|thay bang|duoc thay|bai bo|khong con (doi tuong )?ap dung|het hieu luc)\b", f):
            b += 0.08  # says what ended it or what replaced it
        elif re.search(r"\b(hieu luc|con ap dung|khong con|ap dung)\b", f):
            b += 0.04
    if _MUST_DO_Q.search(turn.folded) and re.search(r"\b(phai|co trach nhiem)\b", f):
        b += 0.06  # "thì phải làm gì?": the duty ("phải làm đơn xin rút"), before what follows if it is not done
    if turn.intent == "when" and re.search(r"\d{1,2}/\d{1,2}(/\d{4})?|\d+ ngay|cham nhat|tu ngay|ket thuc|den khi", f):
        b += 0.06
    if ents.levels and turn.intent in ("amount", "authority", "yesno", "when", "validity", "list"):
        asked = [lv for lv in ents.levels if lv != "trung-uong"]
        if asked:
            here = any(mentions_level(f, lv) for lv in asked)
            if here or any(mentions_level(head, lv) for lv in asked):
                b += 0.05
            others = [lv for lv in ("tinh", "huyen", "xa") if lv not in asked
                      and mentions_level(f, lv, explicit=True)]
            if others:
                b -= 0.03 * len(others)  # a figure for another level, or a total across levels
            if here and any(says_gone(f, lv) for lv in asked):
                b += 0.08  # the asked level no longer has it: that is the answer, not an old figure
    if turn.asked_date >= turn.as_of and re.search(r"\b(tung quy dinh|truoc day|truoc do da)\b", f):
        b -= 0.04  # "used to provide": a statement about the past, not today's rule
    if "bo sung" in f and "bo sung" not in turn.folded:
        b -= 0.05  # by-elections are a special case the question did not ask about
    if ents.bodies:
        qh_asked = bool(re.search(r"\b(quoc hoi|dbqh)\b", turn.folded)) and "hoi dong nhan dan" not in turn.folded
        hd_asked = bool(re.search(r"\b(hoi dong nhan dan|hdnd)\b", turn.folded)) and "quoc hoi" not in turn.folded
        if qh_asked and "hoi dong nhan dan" in f and "quoc hoi" not in f:
            b -= 0.06
        if hd_asked and "quoc hoi" in f and "hoi dong nhan dan" not in f:
            b -= 0.06
    years = [str(y) for y in ents.years]
    if turn.intent == "when" and years:
        if any(y in f for y in years):
            b += 0.06
        elif re.search(r"\b(19|20)\d\d\b", f):
            b -= 0.04
    if ents.bodies:
        asked_here = [bd for bd in ents.bodies if has_body(f, bd) or has_body(head, bd)]
        others = [bd for bd in ("uy ban bau cu", "ban bau cu", "to bau cu") if bd not in ents.bodies and has_body(f, bd)]
        if asked_here:
            b += 0.05
        elif others:
            b -= 0.06
    if ents.posts and turn.intent != "other":  # in "what did the deputy secretary say", the post names a speaker
        b += min(0.06, 0.03 * sum(1 for rule in post_rules(ents.posts) if rule.search(f)))
    # a primary text outranks a summary or Q&A carrying the same sentence; current outranks expired
    b += 0.01 * primacy(c.passage)
    if c.extended:
        # a list question is answered by the list; elsewhere a quote that needs its neighbour leads only when best
        b += 0.06 if turn.intent == "list" and c.text.rstrip().endswith(tuple(".;)")) and ":" in c.text else -0.04
    if c.meta:
        b -= 0.08
    return b


ENTITY_BONUS = 0.02


def entity_rerank(turn: Turn, hits: Sequence[ScoredPassage]) -> list[ScoredPassage]:
    """Nudge passages whose heading names the asked election body up, and those about another body down.

    "Ban bầu cử" is also inside "Ủy ban bầu cử": retrieval alone confuses the two; the heading says
    which body an article is about.
    """
    bodies = turn.entities.bodies
    if not bodies or turn.intent not in ("amount", "authority", "when"):
        return list(hits)  # only a figure or a deadline depends on which body the article is about
    for h in hits:
        head = fold(f"{h.passage.heading} {h.passage.section}")
        if any(has_body(head, b) for b in bodies):
            h.score += ENTITY_BONUS
        elif any(has_body(head, b) for b in ("uy ban bau cu", "ban bau cu", "to bau cu") if b not in bodies):
            h.score -= ENTITY_BONUS
    return sorted(hits, key=lambda h: -h.score)


CLAUSE_PENALTY = 0.01  # a clause wins over its whole sentence only when the rest is off the question
