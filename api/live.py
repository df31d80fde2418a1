"""An answer whose verified text arrives while it is still being written (the LLM answerer streaming).

The blocking ``Assistant.ask`` runs in the threadpool (through the LLM gate) with an ``on_text`` callback that
hands each released piece to the event loop. ``start`` waits for the first piece or the result, so a failure
before any text (a bad request, a busy model, an unreachable store) is still a plain HTTP error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request

from api.limits import run_answer
from assistant.answering.answer import answer_pieces
from assistant.answering.chain import AnswerResult


class LiveAnswer:
    def __init__(self, task: asyncio.Task[AnswerResult] | None = None) -> None:
        self.task = task
        self.buffer: list[str] = []  # released pieces not yet passed on
        self.arrived = asyncio.Event()
        self.sent = ""  # the text already passed on

    @classmethod
    async def start(cls, request: Request, answerer: str, fn: Callable[..., AnswerResult], *args: Any) -> LiveAnswer:
        """Run ``fn(*args, on_text)``; return once text or the result is there (raising what ``fn`` raised)."""
        loop = asyncio.get_running_loop()
        live = cls()

        def push(piece: str) -> None:
            live.buffer.append(piece)
            live.arrived.set()

        def on_text(piece: str) -> None:  # called from the worker thread; runs on the loop before the result
            loop.call_soon_threadsafe(push, piece)

        task = live.task = asyncio.ensure_future(run_answer(request, answerer, fn, *args, on_text))
        # a client that leaves mid-answer: ``run_answer`` cancels the model call; the outcome is read here
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        await live._wait()
        if not live.buffer and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        return live

    async def _wait(self) -> None:
        """Until a piece arrives or the answer is finished."""
        assert self.task is not None
        if self.buffer or self.task.done():
            return
        waiter = asyncio.ensure_future(self.arrived.wait())
        await asyncio.wait({self.task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def pieces(self) -> AsyncIterator[str]:
        """Verified text as it is released, in stream tokens (words); ends when the answer is finished."""
        assert self.task is not None
        while True:
            await self._wait()
            self.arrived.clear()
            if not self.buffer:
                return  # finished, and every piece (pushed before the result) was passed on
            text, self.buffer = "".join(self.buffer), []
            self.sent += text
            for piece in answer_pieces(text):
                yield piece

    def rest(self, answer: str) -> tuple[bool, str]:
        """``(kept, text still to send)`` for the finished answer: ``kept`` is False when what was sent is not its
        beginning (an answer taken back as a whole, e.g. the model failed mid-reply), and then all of it follows."""
        if answer.startswith(self.sent):
            return True, answer[len(self.sent):]
        return False, answer
