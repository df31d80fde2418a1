"""The answering pipeline as LangChain runnables, and the one result contract.

analyse (Turn: follow-up, intent, entities, period) -> retrieve -> decide answerable -> answer -> verify citations -> result.
Every way in (CLI, ``POST /ask``, the OpenAI-compatible endpoint, evals) goes through
``Assistant.ask`` and gets the same ``AnswerResult``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from langchain_core.runnables import Runnable, RunnableBranch, RunnableConfig, RunnableLambda

from assistant.answering.answer import Answer, answer_pieces
from assistant.answering.asks import read_question, reliance, search_text
from assistant.answering.cache import AnswerCache, answer_key
from assistant.answering.domain import DomainGate, phrase_support
from assistant.answering.entities import detect_entities
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.intent import detect_intent, small_talk
from assistant.answering.lead import lead_kind
from assistant.answering.llm import Abort, LLMAnswerer
from assistant.answering.messages import (
    INJECTION_REFUSAL,
    REFUSAL,
    nearest_offer,
    refusal_for_missing,
    refusal_out_of_domain,
)
from assistant.answering.premises import (
    check_premises,
    covered_asks,
    missing_premises,
    premise_failure,
    with_note,
)
from assistant.answering.references import follow_references, primary_documents
from assistant.answering.scoring import entity_rerank
from assistant.answering.timeline import (
    TIME_POOL,
    named_later,
    open_with_date,
    place_in_time,
    split_hits,
    unplaced_period,
)
from assistant.answering.trace import Filters, Trace
from assistant.answering.turn import Turn, build_turn
from assistant.answering.validity import later_than
from assistant.answering.validity_lines import validity_line
from assistant.config import Settings
from assistant.contract import AskResponse
from assistant.ingest.pipeline import KnowledgeIndex
from assistant.search.retrieval import HybridSearcher, KiemNhiemRetriever, ScoredPassage, passages_payload
from assistant.search.store import IndexStoreError, Snapshot
from assistant.text import fold

STEERED_MARGIN = 0.05
# extra passages fetched so that one naming the asked election body or level can move up into the top k
ENTITY_POOL = 6
# passages searched inside one document when a secondary source's article is fetched (every article of a note)
FOLLOW_POOL = 50


@dataclass
class AnswerResult:
    answer: str
    refused: bool
    citations: list[dict[str, Any]] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    query: str = ""  # the standalone question that was searched (after follow-up resolution)
    # extractive | llm | llm-fallback | llm-error | llm-refusal | refusal | out-of-domain | small-talk
    answered_by: str = "extractive"
    # the date the answer speaks for (ISO): the request's ``as_of`` or today; ``period`` says what the
    # question itself asked for ({"from", "to", "label", "source"}) when it named a time
    as_of: str = ""
    period: dict[str, Any] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)  # in-field questions offered by an out-of-domain refusal
    lead: str = ""  # how the first line stands to the question (``answering.lead``): answer | context | groups | ""
    share_token: str = ""  # set by the API (``assistant.shares``): the core does not sign
    # not part of the JSON contract: the model's raw reply and what verification dropped (evals read it)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON (``assistant.contract.AskResponse``, the API's response model): its field list,
        validated, so the core and the API cannot drift apart."""
        fields = {name: getattr(self, name) for name in AskResponse.model_fields}
        fields["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return AskResponse.model_validate(fields).model_dump()


class Assistant:
    """Holds the model, index and answerers for one process; ``ask`` is thread-safe."""

    def __init__(self, settings: Settings, index: KnowledgeIndex | None = None) -> None:
        self.settings = settings
        self.index = index or KnowledgeIndex(settings)
        self.searcher = HybridSearcher(self.index, settings)
        self.extractive = ExtractiveAnswerer(settings)
        self.llm = LLMAnswerer(settings, self.extractive)
        self.domain = DomainGate(settings)
        self.chain = self._build_chain()
        self._numbers: tuple[int, list[str]] | None = None
        self._primary: tuple[int, list[str]] | None = None
        self.answers = AnswerCache(settings.answer_cache)  # whole extractive answers (answering/cache.py)

    # --- the runnable pipeline: every step takes and returns a Trace ---------------------------
    def _build_chain(self) -> Runnable[dict[str, Any], AnswerResult]:
        return (
            RunnableLambda(self._analyse, name="analyse")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._decide, name="answerable")
            | RunnableBranch(
                (lambda t: bool(t.decision), RunnableLambda(self._refuse, name="refuse")),
                RunnableLambda(self._answer, name="answer"),
            )
            | RunnableLambda(self._verify, name="verify_citations")
            | RunnableLambda(self._result, name="result")
        )

    def retriever(self, k: int | None = None, filters: dict[str, Any] | None = None) -> KiemNhiemRetriever:
        return KiemNhiemRetriever(searcher=self.searcher, k=k or self.settings.top_k, filters=filters)

    def turn(self, question: str, history: Sequence[dict[str, str]] | None = None, *, as_of: date | None = None,
             today: date | None = None) -> Turn:
        """The analysed question (no retrieval): what the chain will search and how it will compose."""
        return build_turn(question, history, as_of=as_of, today=today)

    def _analyse(self, request: dict[str, Any]) -> Trace:
        t0 = time.perf_counter()
        turn = self.turn(request["question"], request.get("history"), as_of=request.get("as_of"))
        return Trace(turn, top_k=request.get("top_k"), filters=request.get("filters"),
                     answerer=request.get("answerer"), t0=t0)

    def _retrieve(self, trace: Trace) -> Trace:
        turn = trace.turn
        reply = small_talk(turn.cleaned)
        if reply is not None:
            return replace(trace, reply=reply, decision="small-talk", t_retrieved=time.perf_counter())
        if turn.injection:
            return replace(trace, decision="injection", t_retrieved=time.perf_counter())
        k = trace.top_k or self.settings.top_k
        # a story told before the question is searched by its ask (with the story's posts and levels)
        # and without the places only its story names (they would pull the search and the field gate off)
        reading = read_question(turn.cleaned)
        story = [p for p in reliance(turn).incidental_places if not reading.in_ask(p)]
        query, ask = search_text(turn.standalone, story) if turn.focus is None else (turn.standalone, None)
        res = self.searcher.search(query, k=k + ENTITY_POOL + TIME_POOL, filters=trace.filters,
                                   focus=turn.focus or ask)
        pool = entity_rerank(turn, res.hits[: k + ENTITY_POOL]) + list(res.hits[k + ENTITY_POOL:])
        snap = self.index.snapshot()
        hits = follow_references(pool[:k], snap.passages, snap.documents, lambda doc_id: self.searcher.search(
            turn.standalone, k=FOLLOW_POOL, filters={**(trace.filters or {}), "doc_id": doc_id},
            focus=turn.focus).hits,  # the caller's filters hold for the followed article too
            primary_docs=self._primary_docs(snap), doc_passages=snap.doc_passages)
        pool = hits + [h for h in pool[k:] if all(h.passage.id != x.passage.id for x in hits)]
        return replace(trace, hits=tuple(hits), pool=tuple(pool), search_query=res.query,
                       t_retrieved=time.perf_counter())

    def answerable(self, hits: Sequence[ScoredPassage], margin: float = 0.0, query: str = "") -> bool:
        """Refuse unless the best passage clears the threshold calibrated on the gold set (plus ``margin``).

        In the marginal band just above the threshold, the question must also share a two-word
        phrase with what was retrieved: Vietnamese syllables are shared by unrelated words
        ("tiết" in "chi tiết" and "thời tiết"), so word overlap alone lets off-topic questions through.
        """
        if not hits:
            return False
        top = hits[0]
        if top.score < self.settings.min_score + margin or top.coverage < self.settings.min_coverage:
            return False
        if query and top.score < self.settings.min_score + margin + self.settings.phrase_margin:
            if phrase_support(query, hits[: self.settings.top_k]) == 0.0:  # None: no phrase to judge by
                return False
        return True

    def _primary_docs(self, snap: Snapshot) -> list[str]:
        """``references.primary_documents`` of the snapshot, once per generation (a scan of every passage)."""
        cached = self._primary
        if cached is None or cached[0] != snap.generation:
            cached = (snap.generation, primary_documents(snap.passages))
            self._primary = cached
        return cached[1]

    def _corpus_numbers(self) -> list[str]:
        """Every document number the sources hold or mention (a note may quote a decree it is not)."""
        snap = self.index.snapshot()
        cached = self._numbers
        if cached is None or cached[0] != snap.generation:
            cached = (snap.generation, snap.corpus_numbers())  # persisted with the generation (passage folder)
            self._numbers = cached
        return cached[1]

    def _decide(self, trace: Trace) -> Trace:
        if trace.decision:
            return trace
        turn, hits = trace.turn, list(trace.hits)
        # only what the answer depends on can stop it (premises.missing_premises); a message that also asks
        # about something else is answered on that (a partial answer, which says what it leaves out)
        missing = missing_premises(turn, hits, self._corpus_numbers())
        if missing:
            rest = None if trace.missing else covered_asks(turn, missing)
            if rest is None:
                return replace(trace, decision="missing", missing=tuple(missing))
            part = replace(turn, cleaned=rest, standalone=rest, folded=fold(rest), intent=detect_intent(fold(rest)),
                           entities=detect_entities(rest))
            return self._decide(self._retrieve(replace(trace, turn=part, hits=(), missing=tuple(missing))))
        # another field of law: refuse before any answer is composed (a missing name is the more precise reason)
        # a question that names a document the sources hold is in the field, whatever its wording
        names_ours = bool(turn.entities.document_numbers)
        verdict = None if names_ours else self.domain.check(trace.query, hits)
        if verdict is not None and not verdict.in_domain:
            return replace(trace, decision="out-of-domain", suggestions=tuple(verdict.suggestions))
        if not self.answerable(hits, STEERED_MARGIN if turn.steered else 0.0, trace.query):
            if turn.intent == "validity" and validity_line(turn, hits, self.index.snapshot().documents):
                return trace  # a named document's status is read from its metadata, not from passage scores
            return replace(trace, decision="below-threshold")
        return trace

    def _suggestion(self, trace: Trace) -> str:
        """The nearest thing the sources do hold, offered as a suggestion (never as the answer): only what
        existed at the asked time (a refusal for 2021 does not point to a directive of 2025)."""
        docs = self.index.snapshot().documents
        end = trace.turn.window[1]
        known = [h for h in trace.hits if later_than(h.passage, end, docs.get(h.passage.doc_id)) is None]
        if not known:
            return ""
        return nearest_offer(list(dict.fromkeys(h.passage.label for h in known[:2])))

    def _refuse(self, trace: Trace) -> Trace:
        if trace.decision == "small-talk":
            return replace(trace, answer=Answer(trace.reply or "", [], refused=False, answered_by="small-talk"))
        if trace.decision == "injection":
            return replace(trace, answer=Answer(INJECTION_REFUSAL, [], refused=True, answered_by="refusal"))
        if trace.decision == "out-of-domain":
            tips = list(trace.suggestions)
            return replace(trace, answer=Answer(refusal_out_of_domain(tips), [], refused=True,
                                                answered_by="out-of-domain", suggestions=tips))
        if trace.decision == "missing":
            text = refusal_for_missing(trace.missing, self._suggestion(trace))
        else:
            text = REFUSAL
        return replace(trace, answer=Answer(text, [], refused=True, answered_by="refusal"))

    def _answer(self, trace: Trace, config: RunnableConfig | None = None) -> Trace:
        """Answer from the passages that existed at the asked time (``timeline.split_hits``); what came
        later is never quoted, only named with its date in one labelled line (``timeline.place_in_time``)."""
        turn = trace.turn
        docs = self.index.snapshot().documents
        hits, later = split_hits(turn, trace.pool or trace.hits, docs, trace.top_k or self.settings.top_k)
        named = named_later(turn, later, docs)  # asked about a text that did not exist yet: say so
        configurable = (config or {}).get("configurable", {})
        on_text = configurable.get("on_text")
        if not hits or named is not None:
            ans = Answer(REFUSAL, [], refused=True, answered_by="refusal")
        elif (trace.answerer or self.settings.answerer) == "llm":
            ans = self.llm.answer(turn, hits, docs, self._releaser(trace, on_text) if on_text else None,
                                  query=trace.search_query, abort=configurable.get("abort"))
        else:
            ans = self.extractive.answer(turn, hits, docs)
        ans = place_in_time(turn, ans, later, docs, named)
        return replace(trace, answer=self._premises(trace, ans, docs))

    def _releaser(self, trace: Trace, on_text: Callable[[str], None]) -> Callable[[Answer], None]:
        """Pass on the new text of a partial (streamed) answer only when the whole-answer checks leave it as it
        is: they find fewer gaps as sentences and citations are added, so released text is never taken back."""
        sent = ""

        def release(partial: Answer) -> None:
            nonlocal sent
            quoted = all(c.quote and c.quote in c.hit.passage.text for c in partial.citations)  # as ``_verify``
            if quoted and premise_failure(trace.turn, partial, lambda: "") is None and not unplaced_period(
                    trace.turn, partial, self.index.snapshot().documents):
                # the general-rule line goes under the opening line once that line is whole (a second one has
                # begun); it depends on the hits only, and a partial answer's closing line comes last
                text = with_note(trace.turn, partial, trace.hits, self._corpus_numbers()).text \
                    if "\n" in partial.text else partial.text
                text = open_with_date(trace.turn, text)  # as ``place_in_time`` will open the whole answer
                if text.startswith(sent):
                    on_text(text[len(sent):])
                    sent = text

        return release

    def _premises(self, trace: Trace, ans: Answer, docs: dict[str, dict[str, Any]] | None = None) -> Answer:
        """The answer checked as a whole against what the question names; returned as is when nothing is wrong.

        The period a question names is a time, not a premise: when no cited passage can speak for it, the
        refusal says so (``timeline.unplaced_period``), never "không có thông tin về «năm …»"."""
        if not ans.refused and ans.citations:
            when = unplaced_period(trace.turn, ans, docs if docs is not None else self.index.snapshot().documents)
            if when:
                return Answer(when, [], refused=True, answered_by="refusal")
        return check_premises(trace.turn, ans, lambda: self._suggestion(trace), trace.hits, self._corpus_numbers(),
                              trace.missing if not trace.decision else ())

    @staticmethod
    def _verify(trace: Trace) -> Trace:
        ans = trace.answer
        assert ans is not None  # refuse or answer always writes one
        ok = [c for c in ans.citations if c.quote and c.quote in c.hit.passage.text]
        markers = {int(m) for m in re.findall(r"\[(\d+)\]", ans.text)}
        valid = {c.n for c in ok}
        if len(ok) != len(ans.citations) or not markers <= valid:
            # never show a marker that does not resolve: keep only lines whose markers all resolve
            lines = [ln for ln in ans.text.split("\n")
                     if {int(m) for m in re.findall(r"\[(\d+)\]", ln)} <= valid]
            ans = replace(ans, text="\n".join(lines).strip() or REFUSAL, citations=ok, refused=not lines,
                          answered_by=ans.answered_by if lines else "refusal")
        return replace(trace, answer=ans)

    @staticmethod
    def _result(trace: Trace) -> AnswerResult:
        ans, turn = trace.answer, trace.turn
        assert ans is not None
        t_end = time.perf_counter()
        period: dict[str, Any] = turn.period.to_json() if turn.period is not None else {}
        return AnswerResult(
            answer=ans.text,
            refused=ans.refused,
            citations=[c.to_json(turn.as_of) for c in ans.citations],
            passages=passages_payload(trace.hits),
            timings_ms={
                "retrieve": (trace.t_retrieved - trace.t0) * 1000,
                "generate": (t_end - trace.t_retrieved) * 1000,
                "total": (t_end - trace.t0) * 1000,
            },
            query=turn.standalone,
            answered_by=ans.answered_by,
            diagnostics={"draft": ans.draft, "dropped": ans.dropped, "turn": turn.to_json()} if ans.draft
            else {"turn": turn.to_json()},
            as_of=turn.as_of.isoformat(),
            period=period,
            suggestions=list(ans.suggestions),
            lead=lead_kind(turn, ans.text, ans.refused),
        )

    # --- public API ---------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None, top_k: int | None = None,
            filters: Filters | None = None, answerer: str | None = None,
            as_of: date | None = None, on_text: Callable[[str], None] | None = None,
            abort: Abort | None = None) -> AnswerResult:
        """Answer one question; ``as_of`` is the date the answer must speak for (default: today).

        ``on_text`` receives the LLM answer's verified text as it is generated (pieces that join into a prefix
        of the result's answer, usually the whole of it before its status notes); the extractive answer,
        written at once, sends nothing through it. Setting ``abort`` (the asker has gone) cancels the model
        call, and ``ask`` raises :class:`~assistant.answering.llm.AnswerAborted`.
        """
        t0 = time.perf_counter()
        key, generation = None, None
        if self.answers.size and (answerer or self.settings.answerer) == "extractive":
            try:
                generation = self.index.snapshot().generation
            except IndexStoreError:
                generation = None  # no index: the chain says so, nothing is kept
            if generation is not None:
                key = answer_key(question, history, top_k, filters, "extractive", as_of, date.today())
                kept: AnswerResult | None = self.answers.get(generation, key)
                if kept is not None:
                    total = (time.perf_counter() - t0) * 1000
                    return replace(kept, timings_ms={"retrieve": 0.0, "generate": 0.0, "total": total})
        configurable = {k: v for k, v in (("on_text", on_text), ("abort", abort)) if v is not None}
        config: RunnableConfig | None = {"configurable": configurable} if configurable else None
        result: AnswerResult = self.chain.invoke({"question": question, "history": list(history or []), "top_k": top_k,
                                                  "filters": filters, "answerer": answerer, "as_of": as_of}, config)
        if key is not None and generation is not None:
            self.answers.put(generation, key, result)
        return result

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None, top_k: int | None = None,
               filters: Filters | None = None, as_of: date | None = None) -> Iterator[tuple[str, str | AnswerResult]]:
        """``("token", str)`` pieces of the verified answer, then ``("result", AnswerResult)``.

        Tokens are only released after verification, so what streams is exactly what ``ask`` returns.
        """
        result = self.ask(question, history, top_k, filters, as_of=as_of)
        for piece in answer_pieces(result.answer):
            yield "token", piece
        yield "result", result
