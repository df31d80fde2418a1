"""The answering pipeline as LangChain runnables, and the one result contract.

analyse (Turn: follow-up, intent, entities, period) -> retrieve -> decide answerable -> answer -> verify citations -> result.
Every way in (CLI, ``POST /ask``, the OpenAI-compatible endpoint, evals) goes through
``Assistant.ask`` and gets the same ``AnswerResult``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.runnables import RunnableBranch, RunnableConfig, RunnableLambda

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
from assistant.compose import correct_premise, entity_rerank, premise_gaps, year_gaps
from assistant.config import Settings
from assistant.contract import AskResponse
from assistant.domain import DomainGate
from assistant.index import KnowledgeIndex
from assistant.lead import lead_kind
from assistant.period import Period, detect_period
from assistant.retrieval import (
    STOPWORDS_FOLDED,
    HybridSearcher,
    KiemNhiemRetriever,
    ScoredPassage,
    passages_payload,
)
from assistant.text import collapse_ws, fold, proper_names, tokenize_folded
from assistant.turn import Turn, build_turn, resolve_followup

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
# extra passages fetched so that one naming the asked election body or level can move up into the top k
ENTITY_POOL = 6
# document numbers as sources write them: 33/2023/NĐ-CP, 83/2025/QH15, 34-KL/TW, 580/2018/UBTVQH14
_DOCNUM_RE = re.compile(r"\b\d{1,4}/\d{4}/[A-ZĐa-zđ]{2,8}(?:-[A-ZĐa-zđ]{1,6})?\d*|\b\d{1,4}-[A-ZĐ]{2,3}/[A-ZĐ]{2,4}\b|"
                        r"\b\d{1,4}/\d{4}\b")


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
    lead: str = ""  # how the first line stands to the question (``assistant.lead``): answer | context | groups | ""
    share_token: str = ""  # set by the API (``assistant.shares``): the core does not sign
    # not part of the JSON contract: the model's raw reply and what verification dropped (evals read it)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON (``assistant.contract.AskResponse``, the API's response model): its field list,
        validated, so the core and the API cannot drift apart."""
        fields = {name: getattr(self, name) for name in AskResponse.model_fields}
        fields["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return AskResponse.model_validate(fields).model_dump()


def condense(question: str, history: Sequence[dict[str, str]] | None) -> tuple[str, str | None]:
    """Make a follow-up standalone: ``(query to search, focus words)`` (see ``turn.resolve_followup``)."""
    hist = [(str(h.get("role", "")), str(h.get("content", ""))) for h in (history or [])]
    return resolve_followup(question, hist)


def _detect_period(text: str, today: date) -> Period | None:
    """The period a question names ("năm 2021", "trước cải cách 2025"), else None (then ``as_of`` applies)."""
    return detect_period(text, today)


INJECTION_REFUSAL = (
    "Tôi không thể bịa ra, giả định hay đóng vai để trả lời. Tôi chỉ trả lời dựa trên nội dung các văn bản "
    "trong kho nguồn, và mỗi ý đều kèm trích dẫn. Bạn có thể hỏi, ví dụ: \"Thành viên Ban bầu cử có được kiêm "
    "nhiệm không?\""
)


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

    # --- the runnable pipeline: every step takes and returns a Turn ----------------------------
    def _build_chain(self) -> Any:
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

    def turn(self, question: str, history: Sequence[dict[str, str]] | None = None, **knobs: Any) -> Turn:
        """The analysed question (no retrieval): what the chain will search and how it will compose."""
        return build_turn(question, history, strip_override=strip_override, detect_period=_detect_period, **knobs)

    def _analyse(self, request: dict[str, Any]) -> Turn:
        t0 = time.perf_counter()
        turn = self.turn(request["question"], request.get("history"), as_of=request.get("as_of"),
                         top_k=request.get("top_k"), filters=request.get("filters"), answerer=request.get("answerer"))
        return turn.with_(t0=t0)

    def _retrieve(self, turn: Turn) -> Turn:
        reply = small_talk(turn.cleaned)
        if reply is not None:
            return turn.with_(reply=reply, decision="small-talk", t_retrieved=time.perf_counter())
        if turn.injection:
            return turn.with_(decision="injection", t_retrieved=time.perf_counter())
        k = turn.top_k or self.settings.top_k
        res = self.searcher.search(turn.standalone, k=k + ENTITY_POOL, filters=turn.filters, focus=turn.focus)
        hits = entity_rerank(turn, res.hits)[:k]
        return turn.with_(hits=tuple(hits), search_query=res.query, t_retrieved=time.perf_counter())

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

    def _corpus_numbers(self) -> list[str]:
        """Every document number the sources hold or mention (a note may quote a decree it is not)."""
        snap = self.index.snapshot()
        cached = self._numbers
        if cached is None or cached[0] != snap.generation:
            found = {str(d.get("number", "")) for d in snap.documents.values()}
            for p in snap.passages:
                found.update(m.group(0) for m in _DOCNUM_RE.finditer(p.text))
                found.update(x.strip() for x in p.amended_by.split(",") if x.strip())
            cached = (snap.generation, sorted(n for n in found if n))
            self._numbers = cached
        return cached[1]

    def _decide(self, turn: Turn) -> Turn:
        if turn.decision:
            return turn
        hits = list(turn.hits)
        missing = self.missing_names(turn.focus or turn.cleaned, hits)
        # a document the question names must be one the sources hold: "Nghị định 45/2024" is not "33/2023"
        missing += [d for d in premise_gaps(turn.with_(entities=dataclasses.replace(
            turn.entities, places=(), amounts=())), "", self._corpus_numbers()) if d not in missing]
        if missing:
            return turn.with_(decision="missing", missing=tuple(missing))
        # another field of law: refuse before any answer is composed (a missing name is the more precise reason)
        # a question that names a document the sources hold is in the field, whatever its wording
        names_ours = bool(turn.entities.document_numbers)
        verdict = None if names_ours else self.domain.check(turn.search_query or turn.standalone, hits)
        if verdict is not None and not verdict.in_domain:
            return turn.with_(decision="out-of-domain", suggestions=tuple(verdict.suggestions))
        if not self.answerable(hits, STEERED_MARGIN if turn.steered else 0.0, turn.search_query or turn.standalone):
            return turn.with_(decision="below-threshold")
        return turn

    def _suggestion(self, turn: Turn) -> str:
        """The nearest thing the sources do hold, offered as a suggestion (never as the answer)."""
        if not turn.hits:
            return ""
        labels = list(dict.fromkeys(h.passage.label for h in turn.hits[:2]))
        return "Gần nhất với câu hỏi, các nguồn có: " + "; ".join(f"«{lb}»" for lb in labels) + "."

    def _refuse(self, turn: Turn) -> Turn:
        if turn.decision == "small-talk":
            return turn.with_(answer=Answer(turn.reply or "", [], refused=False, answered_by="small-talk"))
        if turn.decision == "injection":
            return turn.with_(answer=Answer(INJECTION_REFUSAL, [], refused=True, answered_by="refusal"))
        if turn.decision == "out-of-domain":
            tips = list(turn.suggestions)
            return turn.with_(answer=Answer(refusal_out_of_domain(tips), [], refused=True, answered_by="out-of-domain",
                                            suggestions=tips))
        if turn.decision == "missing":
            text = refusal_for_missing(turn.missing, self._suggestion(turn))
        else:
            text = REFUSAL
        return turn.with_(answer=Answer(text, [], refused=True, answered_by="refusal"))

    def _answer(self, turn: Turn, config: RunnableConfig | None = None) -> Turn:
        hits = list(turn.hits)
        docs = self.index.snapshot().documents
        on_text = (config or {}).get("configurable", {}).get("on_text")
        if (turn.answerer or self.settings.answerer) == "llm":
            ans = self.llm.answer(turn, hits, docs, self._releaser(turn, on_text) if on_text else None)
        else:
            ans = self.extractive.answer(turn, hits, docs)
        return turn.with_(answer=self._premises(turn, ans))

    def _releaser(self, turn: Turn, on_text: Callable[[str], None]) -> Callable[[Answer], None]:
        """Pass on the new text of a partial (streamed) answer only when the whole-answer checks leave it as it
        is: they find fewer gaps as sentences and citations are added, so released text is never taken back."""
        sent = ""

        def release(partial: Answer) -> None:
            nonlocal sent
            quoted = all(c.quote and c.quote in c.hit.passage.text for c in partial.citations)  # as ``_verify``
            if quoted and self._premises(turn, partial) is partial and partial.text.startswith(sent):
                on_text(partial.text[len(sent):])
                sent = partial.text

        return release

    def _premises(self, turn: Turn, ans: Answer) -> Answer:
        """The answer checked as a whole against what the question names; returned as is when nothing is wrong."""
        if not ans.refused and ans.citations:
            # places, years and claimed amounts must be in what the answer rests on, not merely nearby
            quoted = " ".join(f"{c.quote} {c.hit.passage.title} {c.hit.passage.heading}" for c in ans.citations)
            passages = " ".join(c.hit.passage.text for c in ans.citations)
            places = dataclasses.replace(turn.entities, documents=(), document_numbers=(), amounts=())
            amounts = dataclasses.replace(turn.entities, documents=(), document_numbers=(), places=())
            gaps = premise_gaps(turn.with_(entities=places), quoted, []) + year_gaps(turn, ans)
            wrong = premise_gaps(turn.with_(entities=amounts), passages, [])
            if gaps:
                ans = Answer(refusal_for_missing(gaps, self._suggestion(turn)), [], refused=True, answered_by="refusal")
            elif wrong:
                ans = correct_premise(turn, ans, wrong)
        return ans

    def _verify(self, turn: Turn) -> Turn:
        ans: Answer = turn.answer
        ok = [c for c in ans.citations if c.quote and c.quote in c.hit.passage.text]
        markers = {int(m) for m in re.findall(r"\[(\d+)\]", ans.text)}
        valid = {c.n for c in ok}
        if len(ok) != len(ans.citations) or not markers <= valid:
            # never show a marker that does not resolve: keep only lines whose markers all resolve
            lines = [ln for ln in ans.text.split("\n")
                     if {int(m) for m in re.findall(r"\[(\d+)\]", ln)} <= valid]
            ans = dataclasses.replace(ans, text="\n".join(lines).strip() or REFUSAL, citations=ok, refused=not lines,
                                      answered_by=ans.answered_by if lines else "refusal")
        return turn.with_(answer=ans)

    def _result(self, turn: Turn) -> AnswerResult:
        ans: Answer = turn.answer
        t_end = time.perf_counter()
        period: dict[str, Any] = turn.period.to_json() if turn.period is not None else {}
        return AnswerResult(
            answer=ans.text,
            refused=ans.refused,
            citations=[c.to_json(turn.as_of) for c in ans.citations],
            passages=passages_payload(turn.hits),
            timings_ms={
                "retrieve": (turn.t_retrieved - turn.t0) * 1000,
                "generate": (t_end - turn.t_retrieved) * 1000,
                "total": (t_end - turn.t0) * 1000,
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
            filters: dict[str, Any] | None = None, answerer: str | None = None,
            as_of: date | None = None, on_text: Callable[[str], None] | None = None) -> AnswerResult:
        """Answer one question; ``as_of`` is the date the answer must speak for (default: today).

        ``on_text`` receives the LLM answer's verified text as it is generated (pieces that join into a prefix
        of the result's answer, usually the whole of it before its status notes); the extractive answer,
        written at once, sends nothing through it.
        """
        config: RunnableConfig | None = {"configurable": {"on_text": on_text}} if on_text else None
        result: AnswerResult = self.chain.invoke({"question": question, "history": list(history or []), "top_k": top_k,
                                                  "filters": filters, "answerer": answerer, "as_of": as_of}, config)
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
