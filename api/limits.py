"""Who may pick which answerer, the bounded LLM pool, and a thread lane of its own for /health.

A slow language model must not be able to take the server down: LLM answers run at most
``llm_max_concurrent`` at a time per worker, at most ``llm_max_queue`` more wait (asynchronously,
holding no thread), and anything beyond is refused at once with ``503 llm_busy``. One client address holds
at most ``llm_max_per_client`` of those places (``429 llm_client_busy`` beyond), and a client that hangs up
gives its place back at once: the model call made for it is cancelled (``assistant.answering.llm.Abort``).
Health probes run on their own small executor, so they never queue behind answers in the shared threadpool.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.errors import APIError
from assistant.answering.llm import Abort
from assistant.config import Settings

T = TypeVar("T")
_HEALTH_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")


async def run_for_health(fn: Callable[[], T]) -> T:
    """Run a blocking probe on the health lane (never behind answers in the shared threadpool)."""
    return await asyncio.get_running_loop().run_in_executor(_HEALTH_POOL, fn)


def allowed_answerers(settings: Settings) -> list[str]:
    return list(settings.allowed_answerers) or [settings.answerer]


def resolve_answerer(requested: str | None, settings: Settings) -> str:
    """The answerer a request will use; one the operator did not allow is a 422, not a silent switch."""
    if requested is None:
        return settings.answerer
    allowed = allowed_answerers(settings)
    if requested not in allowed:
        raise APIError(422, "answerer_not_allowed",
                       f"Máy chủ không cho phép chọn cách trả lời '{requested}'; được phép: {', '.join(allowed)}.",
                       f"This server does not allow answerer '{requested}'; allowed: {', '.join(allowed)}.")
    return requested


class LLMGate:
    """At most ``max_concurrent`` LLM answers at once; at most ``max_queue`` waiting; the rest get 503.
    One client holds at most ``max_per_client`` of these places (running or waiting); beyond, 429."""

    def __init__(self, max_concurrent: int, max_queue: int, max_per_client: int | None = None) -> None:
        self.max_concurrent = max_concurrent
        self.capacity = max_concurrent + max_queue
        self.max_per_client = max_per_client or self.capacity
        self.inside = 0  # running + waiting
        self.per_client: Counter[str] = Counter()
        self._sem: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self, client: str = "-") -> AsyncIterator[None]:
        if self.per_client[client] >= self.max_per_client:
            n = self.max_per_client
            raise APIError(429, "llm_client_busy",
                           f"Bạn đã có {n} câu hỏi đang chờ mô hình ngôn ngữ trả lời; hãy đợi chúng xong rồi hỏi tiếp.",
                           f"You already have {n} questions waiting for the language model; wait for them first.",
                           headers={"Retry-After": "5"})
        if self.inside >= self.capacity:
            raise APIError(503, "llm_busy", "Mô hình ngôn ngữ đang bận; vui lòng thử lại sau ít phút.",
                           "The language model is busy; please retry shortly.", headers={"Retry-After": "10"})
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_concurrent)
        self.inside += 1
        self.per_client[client] += 1
        try:
            async with self._sem:
                yield
        finally:
            self.inside -= 1
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]


async def run_answer(request: Request, answerer: str, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking answer in the threadpool, through the LLM gate when the LLM writes it.

    An LLM answer is raced against its client's disconnect: when the client hangs up first, the model call is
    cancelled (``fn`` receives the :class:`Abort` as ``abort=``) and the place in the gate is given back now,
    not when the model would have finished writing for nobody.
    """
    if answerer != "llm":
        return await run_in_threadpool(fn, *args)
    abort = Abort()
    client = request.client.host if request.client else "-"
    async with request.app.state.llm_gate.slot(client):
        work = asyncio.ensure_future(run_in_threadpool(fn, *args, abort=abort))
        work.add_done_callback(lambda t: t.cancelled() or t.exception())  # read, even when nobody waits for it
        gone = asyncio.ensure_future(_disconnect(request))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not work.done():  # the client left, or this request was cancelled: stop the model call
                abort.set()
        if not work.done():
            raise APIError(499, "client_closed_request", "Người hỏi đã ngắt kết nối.", "The client disconnected.")
        return work.result()


async def _disconnect(request: Request) -> None:
    """Returns once the client has hung up (the request body has been read by then: only the disconnect is left)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
