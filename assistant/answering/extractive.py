"""The extractive writer (the default): it only ever writes sentences copied from the passages.

Each quoted sentence is followed by its marker, so it cannot invent a number or a citation; the
only words of its own are a verdict word or a period label that a tested rule derives from the
quoted sentence or from the source's metadata, and the fixed lines of :mod:`.messages`.
Deterministic: the same question gives the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from assistant.answering.answer import Answer, Citation, document_name, status_lines
from assistant.answering.candidates import candidates
from assistant.answering.dates import fmt_date
from assistant.answering.mentions import POST_NAMES
from assistant.answering.messages import (
    NO_FIGURE,
    NO_FIGURE_PART,
    REFUSAL,
    unanswered_pair_line,
    unverified_reply,
)
from assistant.answering.planning import Plan, overlaps, plan_answer
from assistant.answering.provisions import governing_provision, provision_name
from assistant.answering.sentences import Candidate, display, list_lead_in
from assistant.answering.turn import Turn, sub_turns
from assistant.answering.validity import passage_period, period_phrase
from assistant.answering.validity_lines import period_prefix, validity_caveat, validity_line
from assistant.answering.verdicts import unanswered_pair, verdict_word
from assistant.answering.weights import WEIGHTS, Weights
from assistant.config import Settings
from assistant.search.retrieval import STOPWORDS_FOLDED, ScoredPassage
from assistant.text import tokenize_folded


class ExtractiveAnswerer:
    """Quote the sentences that answer best, composed by intent and period (``assistant.answering.compose``).

    Deterministic, so the same question gives the same answer; every sentence shown is a verbatim
    quote followed by its marker, except a verdict word or period label that a tested rule derives
    from the quoted sentence or from the source's metadata.
    """

    def __init__(self, settings: Settings, weights: Weights | None = None) -> None:
        self.settings = settings
        self.weights = weights or WEIGHTS  # the scoring weight table (weights.yaml; the fit passes its own)

    def plan(self, turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]] | None = None
             ) -> Plan:
        cands = candidates(turn, hits, docs, weights=self.weights)
        return plan_answer(turn, cands, self.settings.max_answer_sentences, weights=self.weights)

    def answer(self, turn: Turn, hits: Sequence[ScoredPassage],
               docs: Mapping[str, Mapping[str, Any]] | None = None) -> Answer:
        docs = docs or {}
        if turn.intent == "change":
            changed = self._change(turn, hits, docs)
            if changed is not None:
                return changed
        plan = self.plan(turn, hits, docs)
        gap = ""
        if plan.no_figure:
            part = self._part_without_figure(turn, hits, docs)
            if part is None:
                return Answer(NO_FIGURE, [], refused=True, answered_by="refusal")
            (turn, plan), gap = part, NO_FIGURE_PART
        lead = plan.lead
        if lead is None:
            return Answer(REFUSAL, [], refused=True, answered_by="refusal")
        if plan.unverified_lead and not (turn.intent == "validity" and validity_line(turn, hits, docs)):
            return Answer(unverified_reply(display(lead.text), lead.passage.label), [], refused=True,
                          answered_by="refusal")
        pair = None if plan.gone else unanswered_pair(turn, plan.considered)
        asked: Turn | None = turn  # the question the lead answers: the first part of a message asking several
        if turn.intent not in ("validity", "source", "change") and not plan.gone:
            parts = self._each_part(turn, hits, docs, plan)
            if parts is not None:
                lead, asked = parts
        citations: list[Citation] = []
        by_span: dict[tuple[str, int, int], Citation] = {}

        def cite(c: Candidate) -> int:
            key = (c.passage.id, c.start, c.end)
            if key not in by_span:
                by_span[key] = Citation(len(citations) + 1, c.hit, c.quote)
                citations.append(by_span[key])
            return by_span[key].n

        def markers(c: Candidate) -> str:
            ns = [cite(c)] + [cite(t) for t in plan.merged.get(id(c), [])]
            return "".join(f"[{n}]" for n in dict.fromkeys(ns))

        lines: list[str] = []
        covered_docs: set[str] = set()
        if turn.intent == "validity":
            found = validity_line(turn, hits, docs)
            if found is not None:
                doc_id, sentence = found
                every = candidates(turn, hits, docs, weights=self.weights)
                own = [c for c in every if c.passage.doc_id == doc_id and not c.meta and not c.unverified]
                number = next((h.passage.number for h in hits if h.passage.doc_id == doc_id), "")
                caveat = validity_caveat(number, every) if "còn hiệu lực" in sentence else None
                if caveat is not None:
                    # the metadata says in force, a source doubts it: say both, the doubt quoted
                    lines.append(f"{sentence.rstrip('.')}; tuy nhiên, nguồn ghi: {display(caveat.text)} "
                                 f"{markers(caveat)}")
                    plan.support = [c for c in plan.support if not overlaps(c, [caveat])]
                    lead = None  # the caveat is already the quoted line
                elif own:
                    lead = own[0]
                    plan.support = [c for c in plan.support if not overlaps(c, [lead])]
                    lines.append(f"{sentence} {markers(lead)}")
                else:
                    lines.append(sentence)
                covered_docs.add(doc_id)
        if lead is None:
            text = "\n".join(lines + [f"{display(c.text)} {markers(c)}" for c in plan.support])
            return Answer(text, citations)
        named = False  # the first line already names the provision and its period
        provision = governing_provision(turn, [lead, *plan.merged.get(id(lead), [])]) \
            if turn.intent == "source" else None
        if provision is not None:
            # "theo nghị định nào?": the provision, named from the passage's metadata, then its words
            head = period_prefix(turn, provision, docs, True)
            lines.append(f"{head}Quy định áp dụng: {provision_name(provision.passage, turn.asked_date)}. "
                         f"[{cite(provision)}]")
            named = True
        if pair is not None:
            a, b = (POST_NAMES.get(x, x) for x in pair)
            lines.append(unanswered_pair_line(a, b))
            asked = None
        prefix = "Không." if plan.gone and turn.intent == "yesno" else (
            _verdict(asked, lead) if asked is not None else None) or ""
        contested = any(not c.in_period and c.hit.passage.doc_id == lead.passage.doc_id for c in plan.considered)
        period = period_prefix(turn, lead, docs, contested) if not covered_docs and not named else ""
        head = " ".join(x for x in (prefix, period) if x)
        lines.append(f"{head + ' ' if head and not head.endswith(' ') else head}{display(lead.text)} {markers(lead)}")
        for c in plan.support:
            label = period_prefix(turn, c, docs) if not c.in_period else ""
            lines.append(f"{label}{display(c.text)} {markers(c)}")
        text = "\n".join(lines + ([gap] if gap else []))
        notes = [n for n in status_lines(citations) if not any(f"({document_name(c.hit.passage)})" in n
                                                              and c.hit.passage.doc_id in covered_docs
                                                              for c in citations)]
        if notes:
            text += "\n\n" + "\n".join(notes)
        return Answer(text, citations)

    def _part_without_figure(self, turn: Turn, hits: Sequence[ScoredPassage],
                             docs: Mapping[str, Mapping[str, Any]]) -> tuple[Turn, Plan] | None:
        """A message that also asks something other than the missing figure ("có được kiêm không? nếu kiêm thì
        phụ cấp thế nào?") is answered on that part, and the answer says the figure is not in the sources: a
        partial answer, never a refusal of what the sources do cover. None when no other part is answered."""
        for sub in sub_turns(turn):
            if sub.intent == "amount":
                continue
            plan = self.plan(sub, hits, docs)
            if plan.lead is not None and not plan.no_figure and not plan.unverified_lead:
                return sub, plan
        return None

    def _each_part(self, turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]],
                   plan: Plan, reach: float = 0.4) -> tuple[Candidate, Turn] | None:
        """A message asking two questions gets each one's best sentence, in the order asked, then the
        plan's other sentences; returns the new lead and the part it answers (for its verdict word).

        A part's sentence shares a word pair only that part names ("phụ cấp", "bảo hiểm", "thành
        lập"); the first part's sentence names none of the later parts' (they add a condition to it:
        "ở đơn vị vũ trang … 5 đến 9" answers the second part, "11 đến 21" the first). None, and the
        plan untouched, unless each part finds a whole sentence within ``reach`` of the plan's lead and
        the plan's lead is one of them: the message read whole is then the better answer.
        """
        assert plan.lead is not None
        subs = sub_turns(turn)
        pairs = [_word_pairs(s.folded) for s in subs]
        own = [w - set().union(*(x for j, x in enumerate(pairs) if j != i)) for i, w in enumerate(pairs)]
        if not subs or any(not o for o in own[1:]):
            return None
        firsts: list[Candidate] = []
        for i, sub in enumerate(subs):
            def fits(c: Candidate, i: int = i) -> bool:
                shared = [len(o & _word_pairs(c.folded)) for o in own]
                return not any(shared[1:]) if i == 0 else shared[i] >= 1

            c = plan_answer(sub, [c for c in candidates(sub, hits, docs, weights=self.weights) if fits(c)], 1,
                            weights=self.weights).lead
            if (c is None or c.unverified or c.in_period != plan.lead.in_period or overlaps(c, firsts)
                    or c.score < plan.lead.score - reach or not c.text.lstrip("-•*0123456789. ")[:1].isupper()):
                return None
            firsts.append(c)
        if not overlaps(plan.lead, firsts):
            return None
        if verdict_word(turn, plan.lead.text) not in (None, verdict_word(subs[0], firsts[0].text)):
            return None  # never a different yes or no than the message read whole
        rest = [c for c in [plan.lead, *plan.support] if not overlaps(c, firsts)]
        plan.support = [*firsts[1:], *rest][: max(self.settings.max_answer_sentences - 1, len(firsts) - 1)]
        return firsts[0], subs[0]

    def _change(self, turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]]) -> Answer | None:
        """"What changed": the best sentence from before the change and the best from after, each labelled."""
        cands = [c for c in candidates(replace(turn, period=None), hits, docs, max_hits=5, window=0.2,
                                        weights=self.weights)
                 if not c.meta and not c.unverified]
        def period(c: Candidate) -> tuple[Any, Any]:
            return passage_period(c.passage, docs.get(c.passage.doc_id))

        old = [c for c in cands if period(c)[1] is not None and period(c)[1] < turn.as_of]
        if not old:
            return None
        before = old[0]
        cut = period(before)[1]
        # after: a rule that starts once the old one ended (not merely a text in force since long before)
        new = [c for c in cands if c.in_period and period(c)[0] is not None and period(c)[0] > cut]
        if not new:
            return None
        after = new[0]
        citations = [Citation(1, before.hit, before.text), Citation(2, after.hit, after.text)]
        b_phrase = period_phrase(before.passage, docs.get(before.passage.doc_id))
        a_start = passage_period(after.passage, docs.get(after.passage.doc_id))[0]
        a_phrase = f"Từ {fmt_date(a_start)}" if a_start else "Hiện nay"
        lines = [f"{a_phrase}: {display(after.text)} [2]",
                 f"Trước đó ({b_phrase}): {display(before.text)} [1]"]
        notes = status_lines(citations)
        text = "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")
        return Answer(text, citations)


def _verdict(turn: Turn, lead: Candidate) -> str | None:
    """The verdict the lead states, read with its list's lead-in when the lead is an item of a list whose
    introduction carries the rule ("Không được ứng cử … đối với: … người đang chấp hành hình phạt tù")."""
    word = verdict_word(turn, lead.text)
    if word is None:
        intro = list_lead_in(lead.passage.text, lead.start)
        if intro is not None:
            word = verdict_word(turn, f"{intro} {lead.text}")
    return word


def _word_pairs(folded: str) -> set[str]:
    """Adjacent syllable pairs without a stop word: most Vietnamese words are two syllables, and
    "phụ cấp" must not match "cấp xã"."""
    toks = tokenize_folded(folded)
    return {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)
            if a not in STOPWORDS_FOLDED and b not in STOPWORDS_FOLDED}
