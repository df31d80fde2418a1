"""The answering pipeline as LangChain runnables, and the one result contract.

condense follow-up -> retrieve -> decide answerable -> answer -> verify citations -> result.
Every way in (CLI, ``POST /ask``, the OpenAI-compatible endpoint, evals) goes through
``Assistant.ask`` and gets the same ``AnswerResult``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.runnables import RunnableBranch, RunnableLambda

from assistant.answer import (
    REFUSAL,
    Answer,
    ExtractiveAnswerer,
    LLMAnswerer,
    answer_pieces,
    refusal_for_missing,
    refusal_out_of_domain,
    small_talk,
)
from assistant.config import Settings
from assistant.domain import DomainGate
from assistant.index import KnowledgeIndex
from assistant.retrieval import (
    STOPWORDS_FOLDED,
    HybridSearcher,
    KiemNhiemRetriever,
    ScoredPassage,
    passages_payload,
)
from assistant.text import collapse_ws, fold, nfc, proper_names, tokenize_folded

# A follow-up leans on the conversation: "còn cấp xã thì sao?", "vậy mức phụ cấp là bao nhiêu?"
_FOLLOWUP_RE = re.compile(
    r"^(con|the con|vay|the|va|nhung|neu|truong hop|con truong hop|con doi voi|doi voi|o|voi)\b|"
    r"(thi sao|the nao|ra sao|nhu the nao|thi the nao|nua khong|nua|cung vay|cung the|do|nay|kia|ay)\??$|"
    r"\b(truong hop (do|nay|tren)|nguoi (do|nay)|chuc danh (do|nay)|van ban (do|nay|tren)|dieu (do|nay)|"
    r"quy dinh (do|nay|tren)|cai (do|nay)|no)\b"
)


# Attempts to override the assistant's instructions ("Bỏ qua mọi hướng dẫn trước đó và …", "Ignore all
# previous instructions and …"), matched on folded text. The phrase is dropped before retrieval (so it
# never reaches an LLM prompt and does not skew the search) and what remains is answered only on evidence
# stronger than usual (``STEERED_MARGIN`` above ``min_score``).
_OVR_NOUN = (r"(?:huong dan|chi dan|chi thi|yeu cau|quy tac|cau lenh|lenh|loi nhac|instructions?|prompts?|rules?|"
             r"directions?|guidelines?)")
_OVR_FILL = r"(?:(?:cac|nhung|the|your|my|of|previous|prior|above|earlier|preceding)\s+)*"
_OVR_QUAL = (r"(?:\s+(?:truoc do|truoc day|truoc|o tren|phia tren|ben tren|he thong|cua ban|previous|prior|above|"
             r"earlier|before|so far))")
_OVERRIDE_RE = re.compile(
    r"(?:\b(?:hay|xin|vui long|please)\s+)?\b(?:bo qua|phot lo|quen di|quen|ignore|disregard|forget)\s+"
    rf"(?:(?:het|moi|tat ca|toan bo|all|any|every)\s+{_OVR_FILL}{_OVR_NOUN}{_OVR_QUAL}*"
    rf"|(?:(?:the|your|my|cac|nhung)\s+)*(?:previous|prior|above|earlier|preceding|system)\s+{_OVR_NOUN}{_OVR_QUAL}*"
    rf"|{_OVR_FILL}{_OVR_NOUN}{_OVR_QUAL}+)\b"
)
_OVERRIDE_TAIL_RE = re.compile(
    r"(?:[\s,.;:!\-–—]|\b(?:va|roi|sau do|ma|and|then|now)\b)*"
    r"(?:\b(?:hay\s+)?(?:tra loi|answer)(?:\s+(?:cau hoi|the question|this|sau|following))*\s*[:,\-–—]\s*)?"
)
STEERED_MARGIN = 0.05


def phrase_support(query: str, hits: Sequence[ScoredPassage]) -> float | None:
    """Share of the query's two-word phrases (adjacent informative words) found adjacent in the passages.

    ``None`` when the query has no such phrase (a single informative word cannot be judged this way).
    """
    toks = tokenize_folded(query)
    pairs = {(a, b) for a, b in zip(toks, toks[1:], strict=False)
             if a not in STOPWORDS_FOLDED and b not in STOPWORDS_FOLDED}
    if not pairs:
        return None
    seen: set[tuple[str, str]] = set()
    for h in hits:
        pt = tokenize_folded(h.passage.text)
        seen.update(zip(pt, pt[1:], strict=False))
    return sum(1 for p in pairs if p in seen) / len(pairs)


def strip_override(question: str) -> tuple[str, bool]:
    """``(question without instruction-override phrases, whether there were any)``."""
    folded_chars = [fold(ch) for ch in question]
    folded = "".join(folded_chars)
    if not _OVERRIDE_RE.search(folded):
        return question, False
    origin = [i for i, f in enumerate(folded_chars) for _ in f]  # folded index -> original index
    origin.append(len(question))
    kept, pos = [], 0
    for m in _OVERRIDE_RE.finditer(folded):
        kept.append(question[pos : origin[m.start()]])
        pos = origin[m.end()]
        tail = _OVERRIDE_TAIL_RE.match(folded, m.end())
        if tail:
            pos = origin[tail.end()]
    kept.append(question[pos:])
    rest = collapse_ws(" ".join(kept)).strip(" ,.;:-–—")
    return (rest or question), True


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
    # not part of the JSON contract: the model's raw reply and what verification dropped (evals read it)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "refused": self.refused,
            "citations": self.citations,
            "passages": self.passages,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "query": self.query,
            "answered_by": self.answered_by,
            "as_of": self.as_of,
            "period": self.period,
            "suggestions": self.suggestions,
        }


def condense(question: str, history: Sequence[dict[str, str]] | None) -> tuple[str, str | None]:
    """Make a follow-up standalone: ``(query to search, focus words)``.

    Without a generative model we do what a careful reader does: when the new message cannot
    stand alone (a follow-up cue, or too few topic words), it is read together with the previous
    user question, and its own words are kept as the focus for choosing sentences.
    """
    question = collapse_ws(nfc(question))
    prev = [h["content"] for h in (history or []) if h.get("role") == "user" and h.get("content", "").strip()]
    if not prev:
        return question, None
    fq = fold(question).strip(" ?.!")
    content = [t for t in tokenize_folded(question) if len(t) > 1]
    is_followup = bool(_FOLLOWUP_RE.search(fq)) or len(content) <= 4
    if not is_followup:
        return question, None
    return f"{collapse_ws(nfc(prev[-1]))} {question}", question


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

    # --- the runnable pipeline ----------------------------------------------------------------
    def _build_chain(self) -> Any:
        return (
            RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(self._decide, name="answerable")
            | RunnableBranch(
                (lambda s: s["refused"], RunnableLambda(self._refuse, name="refuse")),
                RunnableLambda(self._answer, name="answer"),
            )
            | RunnableLambda(self._verify, name="verify_citations")
            | RunnableLambda(self._result, name="result")
        )

    def retriever(self, k: int | None = None, filters: dict[str, Any] | None = None) -> KiemNhiemRetriever:
        return KiemNhiemRetriever(searcher=self.searcher, k=k or self.settings.top_k, filters=filters)

    def _condense(self, state: dict[str, Any]) -> dict[str, Any]:
        state["t0"] = time.perf_counter()
        question, steered = strip_override(nfc(state["question"]))
        query, focus = condense(question, state.get("history"))
        return {**state, "question": question, "steered": steered, "query": query, "focus": focus}

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        reply = small_talk(state["question"])
        if reply is not None:
            return {**state, "hits": [], "small_talk": reply, "t_retrieved": time.perf_counter()}
        res = self.searcher.search(state["query"], k=state.get("top_k") or self.settings.top_k,
                                   filters=state.get("filters"), focus=state.get("focus"))
        return {**state, "hits": res.hits, "small_talk": None, "t_retrieved": time.perf_counter(),
                "search_query": res.query}

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

    @staticmethod
    def missing_names(question: str, hits: Sequence[ScoredPassage]) -> list[str]:
        """Names the question is specifically about (``Quảng Ninh``) that no retrieved passage mentions."""
        names = proper_names(question)
        if not names:
            return []
        texts = " ".join(fold(collapse_ws(h.passage.text)) for h in hits)
        return [n for n in names if fold(n) not in texts]

    def _decide(self, state: dict[str, Any]) -> dict[str, Any]:
        if state["small_talk"] is not None:
            return {**state, "refused": True, "missing": []}
        missing = self.missing_names(state["focus"] or state["question"], state["hits"])
        # another field of law: refuse before any answer is composed (a missing name is the more precise reason)
        verdict = None if missing else self.domain.check(state.get("search_query") or state["query"], state["hits"])
        if verdict is not None and not verdict.in_domain:
            return {**state, "refused": True, "missing": [], "domain": verdict}
        refused = bool(missing) or not self.answerable(state["hits"], STEERED_MARGIN if state.get("steered") else 0.0,
                                                        state.get("search_query") or state["query"])
        return {**state, "refused": refused, "missing": missing}

    def _refuse(self, state: dict[str, Any]) -> dict[str, Any]:
        if state["small_talk"] is not None:
            return {**state, "answer": Answer(state["small_talk"], [], refused=False, answered_by="small-talk")}
        if state.get("domain") is not None:
            tips = state["domain"].suggestions
            return {**state, "answer": Answer(refusal_out_of_domain(tips), [], refused=True, answered_by="out-of-domain",
                                              suggestions=tips)}
        text = refusal_for_missing(state["missing"]) if state.get("missing") else REFUSAL
        return {**state, "answer": Answer(text, [], refused=True, answered_by="refusal")}

    def _answer(self, state: dict[str, Any]) -> dict[str, Any]:
        if (state.get("answerer") or self.settings.answerer) == "llm":
            # the model needs the standalone question, with diacritics restored as the search read it;
            # the extractive picker the literal one
            return {**state, "answer": self.llm.answer(state.get("search_query") or state["query"], state["hits"])}
        return {**state, "answer": self.extractive.answer(state["question"], state["hits"])}

    def _verify(self, state: dict[str, Any]) -> dict[str, Any]:
        ans: Answer = state["answer"]
        ok = [c for c in ans.citations if c.quote and c.quote in c.hit.passage.text]
        markers = {int(m) for m in re.findall(r"\[(\d+)\]", ans.text)}
        valid = {c.n for c in ok}
        if len(ok) != len(ans.citations) or not markers <= valid:
            # never show a marker that does not resolve: keep only lines whose markers all resolve
            lines = [ln for ln in ans.text.split("\n")
                     if {int(m) for m in re.findall(r"\[(\d+)\]", ln)} <= valid]
            ans = dataclasses.replace(ans, text="\n".join(lines).strip() or REFUSAL, citations=ok, refused=not lines,
                                      answered_by=ans.answered_by if lines else "refusal")
        return {**state, "answer": ans}

    def _result(self, state: dict[str, Any]) -> AnswerResult:
        ans: Answer = state["answer"]
        t_end = time.perf_counter()
        return AnswerResult(
            answer=ans.text,
            refused=ans.refused,
            citations=[c.to_json() for c in ans.citations],
            passages=passages_payload(state["hits"]),
            timings_ms={
                "retrieve": (state["t_retrieved"] - state["t0"]) * 1000,
                "generate": (t_end - state["t_retrieved"]) * 1000,
                "total": (t_end - state["t0"]) * 1000,
            },
            query=state["query"],
            answered_by=ans.answered_by,
            diagnostics={"draft": ans.draft, "dropped": ans.dropped} if ans.draft else {},
            as_of=state["as_of"].isoformat(),
            suggestions=list(ans.suggestions),
        )

    # --- public API ---------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None, top_k: int | None = None,
            filters: dict[str, Any] | None = None, answerer: str | None = None,
            as_of: date | None = None) -> AnswerResult:
        """Answer one question; ``as_of`` is the date the answer must speak for (default: today)."""
        result: AnswerResult = self.chain.invoke({"question": question, "history": list(history or []), "top_k": top_k,
                                                  "filters": filters, "answerer": answerer,
                                                  "as_of": as_of or date.today()})
        return result

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None, top_k: int | None = None,
               filters: dict[str, Any] | None = None, as_of: date | None = None) -> Iterator[tuple[str, Any]]:
        """``("token", str)`` pieces of the verified answer, then ``("result", AnswerResult)``.

        Tokens are only released after verification, so what streams is exactly what ``ask`` returns.
        """
        result = self.ask(question, history, top_k, filters, as_of=as_of)
        for piece in answer_pieces(result.answer):
            yield "token", piece
        yield "result", result
