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
from functools import lru_cache

from assistant.answering.figures import NUMBER_RE, answers_amount, figure_units, names_allowance
from assistant.answering.mentions import (
    LOCAL_LEVELS,
    mentions_level,
    other_body_only,
    other_level_only,
    other_posts_only,
    says_gone,
)
from assistant.answering.references import primary_backing
from assistant.answering.scoring import primacy
from assistant.answering.sentences import LIST_ITEM_RE, Candidate
from assistant.answering.turn import Turn
from assistant.answering.validity import passage_period
from assistant.answering.weights import WEIGHTS, Weights
from assistant.search.retrieval import STOPWORDS_FOLDED
from assistant.text import tokenize_folded


@lru_cache(maxsize=1 << 13)
def _informative(text: str) -> frozenset[str]:
    """Cached: an answer compares every pair of its candidate quotes, the same quotes answer after answer."""
    return frozenset(t for t in tokenize_folded(text) if t not in STOPWORDS_FOLDED and len(t) > 1)


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


def plan_answer(turn: Turn, cands: Sequence[Candidate], max_sentences: int = 4, margin: float = 0.08,
                weights: Weights | None = None) -> Plan:
    """Pick the lead by intent and period, then the supporting sentences that belong with it."""
    usable = [c for c in cands if not c.meta] or list(cands)
    if turn.intent in ("amount", "when", "authority"):
        # a figure, a deadline or an authority belongs to one body and one level: another's is no answer
        usable = [c for c in usable if not other_body_only(turn, c) and not other_level_only(turn, c)] or usable
    elif turn.intent == "yesno":
        # whether a post may hold another is asked of one level: a rule said only of another level (a
        # provincial standing member's two posts, for a commune's deputy secretary) does not answer it
        usable = [c for c in usable if not other_level_only(turn, c)] or usable
        # a whole list of figures is not the asked figure: its items are candidates of their own
        items = {c.passage.id for c in usable if not c.extended}
        usable = [c for c in usable if not (c.extended and ":" in c.text and c.passage.id in items)] or usable
    if not usable:
        return Plan(None, [])
    valid = [c for c in usable if c.in_period]
    # "nothing in force answers" is a matter of relevance: an in-force span far below the best span is
    # about something else, and the older rule the question is about answers, under its period's label.
    # Relevance is compared before the other-period penalty: that penalty orders rules that say the same
    # thing, and counting it here as well let an off-topic in-force sentence beat the expired law asked about
    w = weights or WEIGHTS
    def relevance(c: Candidate) -> float:
        return c.score + (0.0 if c.in_period else w.other_period)

    best_relevance = max(relevance(c) for c in usable)
    if valid and valid[0].score >= best_relevance - w.in_force_margin:
        pool = valid
    else:  # the rule the question is about, whatever its period (its label says which)
        pool = sorted(usable, key=relevance, reverse=True)
    pool = [c for c in pool if not c.unverified] or pool
    best = max(usable, key=lambda c: c.score)
    inner = [c for c in usable if c.passage.id == best.passage.id and best.start <= c.start and c.end <= best.end
             and (c.start, c.end) != (best.start, best.end)]
    if inner and not best.unverified:
        top_inner = max(inner, key=lambda c: c.score)
        if top_inner.unverified and top_inner.score >= best.score - 2 * (weights or WEIGHTS).clause:
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
            # further below, only the same text's figure or another period's (labelled): a figure of another
            # text that far below the best sentence is about something else (another post's allowance)
            with_figure = [c for c in usable if answers_amount(turn, c) and not c.unverified
                           and c.score >= usable[0].score - 0.3
                           and (c.in_period != lead.in_period or c.passage.doc_id == lead.passage.doc_id
                                and names_allowance(turn, c.folded))]
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
    support = complete_provision(turn, lead, support, pool, max_sentences)
    backing = primary_backing(lead, pool, chosen)
    if backing is not None:  # a Q&A's or a summary's rule, then the article it rests on, in the law's words
        support = [backing, *support][: max(max_sentences - 1, len(support))]
    return Plan(lead, support, merged=merged, considered=list(cands))


# intents whose answer is a rule (may I, how much, how is it done), not one fact (when, who decides, which text)
RULE_INTENTS = ("yesno", "amount", "other")
# lines a whole provision may take: a verdict, its condition, amount, start and exceptions
WHOLE_PROVISION_LINES = 6


def _pairs(folded: str) -> set[tuple[str, str]]:
    toks = [t for t in tokenize_folded(folded) if t not in STOPWORDS_FOLDED]
    return set(zip(toks, toks[1:], strict=False))


def _numbered_article_item(c: Candidate) -> bool:
    """The candidate is a numbered item ("2. Mức phụ cấp …") of an article of a legal text."""
    p = c.passage
    return (primacy(p) > 2 and not c.unverified and re.match(r"(Điều|Khoản)\b", p.section) is not None
            and LIST_ITEM_RE.match(p.text[c.sent.start:c.sent.end]) is not None)


def complete_provision(turn: Turn, lead: Candidate, support: Sequence[Candidate], pool: Sequence[Candidate],
                       max_sentences: int) -> list[Candidate]:
    """A rule question gets the whole rule: the other items of the first provision the answer quotes.

    Principle: an article that lists its rule in numbered items (condition, amount, from when, what it
    does not count for, the one-level cap) states one rule; quoting the item that scored best leaves the
    reader to ask again for the rest. So when the answer quotes a numbered item of an article of a legal
    text (its lead, or the first such line after a summary's lead), that article's other whole items that
    speak of the question's subject (share a two-word term with it) are quoted with it, all in the
    source's order, before anything from other passages. Items about another body or level, from another
    period, a note's own doubts and editorial remarks never join.
    """
    if turn.intent not in RULE_INTENTS or max_sentences <= 1:  # a one-sentence plan (one part of a message)
        return list(support)
    anchor = next((c for c in [lead, *support] if _numbered_article_item(c)), None)
    if anchor is None:
        return list(support)
    p = anchor.passage
    asked = _pairs(turn.folded)
    units = figure_units(anchor.folded)
    items: list[Candidate] = [] if anchor is lead else [anchor]
    for c in pool:
        if (c.passage.id != p.id or (c.start, c.end) != (c.sent.start, c.sent.end) or c.elide is not None
                or c.meta or c.unverified or c.in_period != anchor.in_period or not _numbered_article_item(c)
                or overlaps(c, [lead, *items]) or not asked & _pairs(c.folded) or units & figure_units(c.folded)
                or other_body_only(turn, c, strict=True) or other_level_only(turn, c)):
            continue  # another group's figure, body or level is an alternative, not a part of this rule
        items.append(c)
    added = [c for c in items if c is not anchor]
    if not added:
        return list(support)
    # what the plan chose from other passages stays; the provision's items fill the room left
    rest = [c for c in support if c is not anchor and not overlaps(c, items)]
    room = max(max_sentences, WHOLE_PROVISION_LINES) - 1 - len(rest) - (0 if anchor is lead else 1)
    keep = sorted(added, key=lambda c: -c.score)[: max(room, 0)]
    chosen = sorted(keep + ([] if anchor is lead else [anchor]), key=lambda c: c.start)
    return [*chosen, *rest][: max(max_sentences, WHOLE_PROVISION_LINES) - 1]


_LEAVING_RE = re.compile(r"\b(nghi viec|thoi viec|tinh gian bien che|doi du|sap xep lai)\b")


def gone_level(turn: Turn, pool: Sequence[Candidate]) -> Candidate | None:
    """The sentence saying the asked level was abolished, when nothing in force speaks of that level otherwise.

    "Ban bầu cử cấp huyện có bao nhiêu thành viên?" asked after 2025: the old figure is no answer,
    "không còn Ủy ban bầu cử, Ban bầu cử cấp huyện" is.
    """
    asked = [lv for lv in turn.entities.levels if lv in LOCAL_LEVELS]
    if len(asked) != 1 or turn.intent not in ("amount", "when", "authority", "yesno"):
        return None
    now = [c for c in pool if c.in_period and mentions_level(c.folded, asked[0], explicit=True)]
    # what is gone for another post (người hoạt động không chuyên trách) is not gone for the asked one
    gone = [c for c in now if says_gone(c.folded, asked[0]) and not c.unverified
            and not other_posts_only(turn.folded, c.folded)]
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
