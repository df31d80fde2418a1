"""The LLM writer: an OpenAI-compatible chat model, guarded so that unverifiable sentences never reach
the user (:mod:`.guard`). If nothing survives, or the endpoint fails, the extractive answer is
returned with a note saying why.

The model is called over HTTP on one event-loop thread per process (:class:`ModelLoop`), while the answer is
written in the caller's thread: a blocking HTTP read cannot be interrupted from another thread, a coroutine
can. So when whoever asked goes away (:class:`Abort`), the call is cancelled, its connection closed, and the
model stops generating for nobody; the answer ends with :class:`AnswerAborted`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

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

T = TypeVar("T")


class AnswerAborted(Exception):
    """Whoever asked has gone (:meth:`Abort.set`): the model call was cancelled and no answer is written."""


class Abort:
    """Set, from any thread, when the asker of one answer has gone; the model call running for it is cancelled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        self._callbacks: list[Callable[[], Any]] = []

    @property
    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._lock:
            if self._set:
                return
            self._set = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_set(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback`` when set (at once if it already is); returns a function that unregisters it."""
        with self._lock:
            if not self._set:
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], Any]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


class ModelLoop:
    """The one event-loop thread (per process) on which every model call runs, so that any can be cancelled."""

    _loop: asyncio.AbstractEventLoop | None = None
    _lock = threading.Lock()

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="llm-calls", daemon=True).start()
                cls._loop = loop
            return cls._loop

    @classmethod
    def call(cls, coro: Coroutine[Any, Any, T], abort: Abort | None) -> T:
        """``coro``'s result, waited for in this thread; :class:`AnswerAborted` once ``abort`` is set."""
        future = asyncio.run_coroutine_threadsafe(coro, cls.loop())
        forget = abort.on_set(future.cancel) if abort is not None else (lambda: None)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise AnswerAborted from None
        finally:
            forget()

    @classmethod
    def iterate(cls, items: AsyncIterator[T], abort: Abort | None) -> Iterator[T]:
        """``items`` read on the model loop and passed to this thread as they come; stopping early (or ``abort``)
        cancels the reading, which closes the model's connection."""
        passed: queue.SimpleQueue[Any] = queue.SimpleQueue()
        end = object()

        async def pump() -> None:
            async for item in items:
                passed.put(item)

        future = asyncio.run_coroutine_threadsafe(pump(), cls.loop())
        future.add_done_callback(lambda _: passed.put(end))  # after every item: the loop thread put them
        forget = abort.on_set(future.cancel) if abort is not None else (lambda: None)
        try:
            while (item := passed.get()) is not end:
                yield item
            if future.cancelled():
                raise AnswerAborted
            failure = future.exception()
            if failure is not None:
                raise failure
        finally:
            future.cancel()
            forget()


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
               on_partial: Callable[[Answer], None] | None = None, query: str = "",
               abort: Abort | None = None) -> Answer:
        """The guarded answer. With ``on_partial`` the model streams, and each time a finished sentence passes
        the checks the verified answer so far is passed on (its text a prefix of the returned one). ``query`` is
        the question as the searcher read it (abbreviations expanded, diacritics restored), when it differs.
        Once ``abort`` is set the model call is cancelled and :class:`AnswerAborted` raised."""
        try:
            if on_partial is None:
                reply = ModelLoop.call(self.llm.ainvoke(self._messages(turn, hits, query)), abort)
                generated = str(reply.content)
            else:
                generated = self._stream(turn, hits, on_partial, query, abort)
        except AnswerAborted:
            raise
        except Exception as exc:  # endpoint down, timeout, bad reply: fall back, never fail the user
            note = llm_error_note(type(exc).__name__)
            return self._fallback(turn, hits, note, "llm-error", docs=docs)
        # the whole reply is checked again as one: the result is the non-streamed one by construction
        return self._assemble(turn, hits, generated, docs, query)

    def _stream(self, turn: Turn, hits: Sequence[ScoredPassage], on_partial: Callable[[Answer], None],
                query: str = "", abort: Abort | None = None) -> str:
        """Read the reply as it is generated (``stream: true``); a sentence is checked once text after it shows
        it is finished, and a kept one is released at once. Returns the whole reply."""
        guard = SentenceGuard(hits, query or turn.standalone)
        reply, checked = "", 0
        for chunk in ModelLoop.iterate(self.llm.astream(self._messages(turn, hits, query)), abort):
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
