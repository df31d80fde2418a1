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
    amount_ask,
    asked_unit,
    asks_rate,
    counts_unit,
    has_quantity,
    has_rate,
    total_for_level,
)
from assistant.answering.mentions import LOCAL_LEVELS, has_body, mentions_level, post_rules, says_gone
from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.answering.verdicts import VERDICT_RE, verdict_word
from assistant.answering.weights import WEIGHTS, Weights
from assistant.lexicon import LEXICON
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage
from assistant.text import fold

_MUST_DO_Q = re.compile(r"\b(phai|can) lam (gi|sao|the nao|nhu the nao)\b")

PRIMARY_KINDS = LEXICON.primacy  # lexicon.yaml: a law's article before a summary, a summary before news

def primacy(p: Passage) -> int:
    """How primary a source is: a law's article before a summary, a summary before news or Q&A."""
    score = PRIMARY_KINDS.get(p.kind, 0)
    if p.status != "tham-khao":
        score += 1
    if re.match(r"(Điều|Khoản|Mục|Chương)\b", p.section):
        score += 1
    return score


def features(c: Candidate, turn: Turn) -> dict[str, float]:
    """The named features of a candidate for this turn (only those that fire), in the order they are summed.

    Each is a principle, not a question: the verdict for a yes/no question, the figure for the asked
    level and body for an amount question, the deciding authority for a "who decides" one, a primary
    text before a summary. Their weights are data (``weights.yaml``, fitted by ``assistant/tools/fit_weights.py``).
    """
    f = c.folded
    head = fold(f"{c.passage.heading} {c.passage.section}")
    ents = turn.entities
    out: dict[str, float] = {}
    has_number = has_quantity(f)
    if turn.intent == "yesno":
        if verdict_word(turn, c.text) is not None:
            out["yesno_verdict"] = 1  # states the outcome outright
        elif verdict_word(turn, c.text, any_level=True) is not None:
            out["yesno_verdict_other_level"] = 1  # states an outcome, but for another level than the one asked
        elif VERDICT_RE.search(f):
            out["yesno_verdict_words"] = 1
    if turn.intent == "amount":
        rate = asks_rate(amount_ask(turn))
        if rate:
            has_number = has_rate(f)  # "chỉ hưởng một mức phụ cấp" counts allowances, it is not how much
        if has_number:
            out["amount_figure"] = 1
        elif not rate and re.search(rf"\b{QUANTITY_WORDS} (muc|nguoi|chuc danh|thanh vien)\b", f):
            out["amount_figure_in_words"] = 1
        else:
            out["amount_no_figure"] = 1
        unit = asked_unit(amount_ask(turn))
        if unit and counts_unit(f, unit) and not total_for_level(turn, f):
            out["amount_counts_unit"] = 1  # counts what was asked ("9 đến 17 người"), not a deadline or an article number
        if not ents.levels and sum(mentions_level(f, lv, explicit=True) for lv in LOCAL_LEVELS[:3]) == 1:
            out["amount_one_level_of_several"] = 1  # one level's figure ("26 trường hợp ở cấp huyện") is not the total asked for
        if FIGURES_REMARK_RE.search(f):
            out["amount_remark_on_figures"] = 1  # "Số liệu … không còn phản ánh tình hình hiện tại" speaks about figures, it gives none
    if turn.intent == "authority" and re.search(
            r"\b(uy ban nhan dan|hoi dong nhan dan|chinh phu|quoc hoi|bo noi vu|bo chinh tri|ban thuong vu|"
            r"cap uy|thu tuong|hoi dong bau cu)\b", f) and re.search(r"\b(thanh lap|quyet dinh|bo nhiem|phe duyet)\b", f):
        out["authority_decides"] = 1
    if turn.intent == "validity":
        if re.search(r"\b(thay the|thay bang|duoc thay|bai bo|khong con (doi tuong )?ap dung|het hieu luc)\b", f):
            out["validity_ended_or_replaced"] = 1  # says what ended it or what replaced it
        elif re.search(r"\b(hieu luc|con ap dung|khong con|ap dung)\b", f):
            out["validity_in_force_words"] = 1
    if _MUST_DO_Q.search(turn.folded) and re.search(r"\b(phai|co trach nhiem)\b", f):
        out["duty_for_must_do"] = 1  # "thì phải làm gì?": the duty ("phải làm đơn xin rút"), before what follows if it is not done
    if turn.intent == "when" and re.search(r"\d{1,2}/\d{1,2}(/\d{4})?|\d+ ngay|cham nhat|tu ngay|ket thuc|den khi", f):
        out["when_date_or_deadline"] = 1
    if ents.levels and turn.intent in ("amount", "authority", "yesno", "when", "validity", "list"):
        asked = [lv for lv in ents.levels if lv != "trung-uong"]
        if asked:
            here = any(mentions_level(f, lv) for lv in asked)
            if here or any(mentions_level(head, lv) for lv in asked):
                out["level_asked"] = 1
            others = [lv for lv in LOCAL_LEVELS[:3] if lv not in asked
                      and mentions_level(f, lv, explicit=True)]
            if others:
                out["level_other"] = len(others)  # a figure for another level, or a total across levels
            if here and any(says_gone(f, lv) for lv in asked):
                out["level_gone"] = 1  # the asked level no longer has it: that is the answer, not an old figure
    if re.search(r"\b(tung quy dinh|truoc day|truoc do da|truoc (?:quy dinh|nghi dinh|luat|thong tu|chi thi|"
                 r"ket luan|nghi quyet|van ban) nay)\b", f):
        # "used to provide", "before this decision": what held before the text, not its rule; a reader
        # asking about any day the text speaks for wants the rule
        out["past_statement"] = 1
    if "bo sung" in f and "bo sung" not in turn.folded:
        out["by_election"] = 1  # by-elections are a special case the question did not ask about
    if ents.bodies:
        qh_asked = bool(re.search(r"\b(quoc hoi|dbqh)\b", turn.folded)) and "hoi dong nhan dan" not in turn.folded
        hd_asked = bool(re.search(r"\b(hoi dong nhan dan|hdnd)\b", turn.folded)) and "quoc hoi" not in turn.folded
        if qh_asked and "hoi dong nhan dan" in f and "quoc hoi" not in f:
            out["body_for_hdnd_not_qh"] = 1
        if hd_asked and "quoc hoi" in f and "hoi dong nhan dan" not in f:
            out["body_for_qh_not_hdnd"] = 1
    years = [str(y) for y in ents.years]
    if turn.intent == "when" and years:
        if any(y in f for y in years):
            out["when_year_asked"] = 1
        elif re.search(r"\b(19|20)\d\d\b", f):
            out["when_other_year"] = 1
    if ents.bodies:
        asked_here = [bd for bd in ents.bodies if has_body(f, bd) or has_body(head, bd)]
        others = [bd for bd in LEXICON.election_bodies if bd not in ents.bodies and has_body(f, bd)]
        if asked_here:
            out["body_asked"] = 1
        elif others:
            out["body_other"] = 1
    if ents.posts and turn.intent != "other":  # in "what did the deputy secretary say", the post names a speaker
        named = min(2, sum(1 for rule in post_rules(ents.posts) if rule.search(f)))  # at most two posts count
        if named:
            out["posts_named"] = named
    # a primary text outranks a summary or Q&A carrying the same sentence; current outranks expired
    out["primacy"] = primacy(c.passage)
    if c.extended:
        # a list question is answered by the list; elsewhere a quote that needs its neighbour leads only when best
        if turn.intent == "list" and c.text.rstrip().endswith(tuple(".;)")) and ":" in c.text:
            out["extended_list"] = 1
        else:
            out["extended_elsewhere"] = 1
    if c.meta:
        out["meta"] = 1
    return out


def adjustment(c: Candidate, turn: Turn, weights: Weights | None = None) -> float:
    """The candidate's score adjustment: Σ weight × feature, summed in :func:`features`' order."""
    w = (weights or WEIGHTS).features
    b = 0.0
    for name, value in features(c, turn).items():
        b += w[name] * value
    return b




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
            h.score += WEIGHTS.entity_heading
        elif any(has_body(head, b) for b in LEXICON.election_bodies if b not in bodies):
            h.score -= WEIGHTS.entity_heading
    return sorted(hits, key=lambda h: -h.score)

