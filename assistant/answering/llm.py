"""The LLM writer: an OpenAI-compatible chat model, guarded so that unverifiable sentences never reach
the user (:mod:`.guard`). If nothing survives, or the endpoint fails, the extractive answer is
returned with a note saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assistant.answering.answer import Answer, status_lines
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.guard import SHORT_REPLY, SentenceGuard, finished_sentences, split_generated
from assistant.answering.messages import (
    INTENT_HINTS,
    LLM_FALLBACK_NOTE,
    PROMPT_REMINDER,
    REFUSAL,
    SYSTEM_PROMPT,
    llm_error_note,
)
from assistant.answering.turn import Turn
from assistant.config import Settings
from assistant.models import STATUS_LABELS
from assistant.search.retrieval import ScoredPassage

if TYPE_CHECKING:  # imported when first used: the OpenAI client is slow to load and most runs never call it
    from langchain_openai import ChatOpenAI

def turn_hint(turn: Turn | None) -> str:
    """What the analysis found, for the model: the intent, the named things, the date asked."""
    if turn is None:
        return ""
    parts = []
    if turn.intent in INTENT_HINTS:
        parts.append(INTENT_HINTS[turn.intent])
    named = turn.entities.to_json()
    if named:
        parts.append("Câu hỏi nêu: " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in named.items()) + ".")
    label = getattr(turn.period, "label", "") if turn.period is not None else ""
    parts.append(f"Trả lời theo quy định áp dụng {label or 'tại ngày ' + turn.asked_date.strftime('%d/%m/%Y')}; "
                 "không trộn số liệu của thời kỳ khác mà không ghi rõ thời kỳ.")
    return "\n".join(parts)


def build_prompt(question: str, hits: Sequence[ScoredPassage], turn: Turn | None = None) -> str:
    parts = []
    for i, h in enumerate(hits, start=1):
        parts.append(f"[{i}] {h.passage.label} (tình trạng: {STATUS_LABELS.get(h.passage.status, h.passage.status)})\n"
                     f"{h.passage.text}")
    hint = turn_hint(turn)
    hint = f"\n{hint}" if hint else ""
    return "NGUỒN:\n\n" + "\n\n".join(parts) + f"\n\nCÂU HỎI: {question}{hint}\n\n{PROMPT_REMINDER}\nTRẢ LỜI:"


class LLMAnswerer:
    """An OpenAI-compatible chat model, guarded: unverifiable sentences never reach the user."""

    def __init__(self, settings: Settings, extractive: ExtractiveAnswerer) -> None:
        self.settings = settings
        self.extractive = extractive
        self._llm: ChatOpenAI | None = None

    @property
    def llm(self) -> ChatOpenAI:
        if self._llm is None:
            from langchain_openai import ChatOpenAI  # noqa: PLC0415 - the OpenAI client costs ~5 s to import; only the llm answerer needs it

            if not self.settings.llm_url:
                raise RuntimeError("KIEMNHIEM_LLM_URL is not set")
            self._llm = ChatOpenAI(base_url=self.settings.llm_url, model=self.settings.llm_model,
                                   api_key=self.settings.llm_api_key, timeout=self.settings.llm_timeout,
                                   max_retries=0, temperature=0.0, max_tokens=400)
        return self._llm

    def _messages(self, turn: Turn, hits: Sequence[ScoredPassage], query: str = "") -> list[tuple[str, str]]:
        # the model needs the standalone question, with diacritics restored as the search read it (``query``)
        question = query or turn.standalone
        return [("system", SYSTEM_PROMPT), ("human", build_prompt(question, hits, turn))]

    def _fallback(self, turn: Turn, hits: Sequence[ScoredPassage], note: str, answered_by: str,
                  draft: str = "", dropped: Sequence[str] = (),
                  docs: Mapping[str, Mapping[str, Any]] | None = None) -> Answer:
        """The extractive answer, headed by a note saying why the model's own text is not shown."""
        fallback = self.extractive.answer(turn, hits, docs)
        fallback.note = note
        fallback.text = note + "\n" + fallback.text
        fallback.answered_by = answered_by
        fallback.draft, fallback.dropped = draft, list(dropped)
        return fallback

    def _assemble(self, turn: Turn, hits: Sequence[ScoredPassage], generated: str,
                  docs: Mapping[str, Mapping[str, Any]] | None = None, query: str = "") -> Answer:
        if "KHÔNG ĐỦ NGUỒN" in generated.upper() and len(generated) < SHORT_REPLY:
            return Answer(REFUSAL, [], refused=True, answered_by="llm-refusal", draft=generated)
        guard = SentenceGuard(hits, query or turn.standalone)
        for sent in split_generated(generated):
            guard.add(sent)
        if not guard.kept:
            return self._fallback(turn, hits, LLM_FALLBACK_NOTE, "llm-fallback", generated, guard.dropped, docs)
        ans = guard.answer()
        notes = status_lines(ans.citations)
        if notes:
            ans.text += "\n\n" + "\n".join(notes)
        ans.draft = generated
        return ans

    def answer(self, turn: Turn, hits: Sequence[ScoredPassage],
               docs: Mapping[str, Mapping[str, Any]] | None = None,
               on_partial: Callable[[Answer], None] | None = None, query: str = "") -> Answer:
        """The guarded answer. With ``on_partial`` the model streams, and each time a finished sentence passes
        the checks the verified answer so far is passed on (its text a prefix of the returned one). ``query`` is
        the question as the searcher read it (abbreviations expanded, diacritics restored), when it differs."""
        try:
            if on_partial is None:
                generated = str(self.llm.invoke(self._messages(turn, hits, query)).content)
            else:
                generated = self._stream(turn, hits, on_partial, query)
        except Exception as exc:  # endpoint down, timeout, bad reply: fall back, never fail the user
            note = llm_error_note(type(exc).__name__)
            return self._fallback(turn, hits, note, "llm-error", docs=docs)
        # the whole reply is checked again as one: the result is the non-streamed one by construction
        return self._assemble(turn, hits, generated, docs, query)

    def _stream(self, turn: Turn, hits: Sequence[ScoredPassage], on_partial: Callable[[Answer], None],
                query: str = "") -> str:
        """Read the reply as it is generated (``stream: true``); a sentence is checked once text after it shows
        it is finished, and a kept one is released at once. Returns the whole reply."""
        guard = SentenceGuard(hits, query or turn.standalone)
        reply, checked = "", 0
        for chunk in self.llm.stream(self._messages(turn, hits, query)):
            reply += str(chunk.content)
            if len(reply) < SHORT_REPLY:  # a short "KHÔNG ĐỦ NGUỒN" reply is a refusal, whatever came before
                continue
            done = finished_sentences(reply)
            for sent in done[checked:]:
                if guard.add(sent):
                    on_partial(guard.answer())
            checked = max(checked, len(done))
        if len(reply) >= SHORT_REPLY:  # the end of the stream finishes the last sentence
            for sent in split_generated(reply)[checked:]:
                if guard.add(sent):
                    on_partial(guard.answer())
        return reply
