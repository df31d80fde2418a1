"""Who may pick which answerer, the bounded LLM pool, and a thread lane of its own for /health.

A slow language model must not be able to take the server down: LLM answers run at most
``llm_max_concurrent`` at a time per worker, at most ``llm_max_queue`` more wait (asynchronously,
holding no thread), and anything beyond is refused at once with ``503 llm_busy``. Health probes run
on their own small executor, so they never queue behind answers in the shared threadpool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from api.errors import APIError
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
    """At most ``max_concurrent`` LLM answers at once; at most ``max_queue`` waiting; the rest get 503."""

    def __init__(self, max_concurrent: int, max_queue: int) -> None:
        self.max_concurrent = max_concurrent
        self.capacity = max_concurrent + max_queue
        self.inside = 0  # running + waiting
        self._sem: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.inside >= self.capacity:
            raise APIError(503, "llm_busy", "Mô hình ngôn ngữ đang bận; vui lòng thử lại sau ít phút.",
                           "The language model is busy; please retry shortly.", headers={"Retry-After": "10"})
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_concurrent)
        self.inside += 1
        try:
            async with self._sem:
                yield
        finally:
            self.inside -= 1


async def run_answer(state: Any, answerer: str, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking answer in the threadpool, through the LLM gate when the LLM writes it."""
    if answerer != "llm":
        return await run_in_threadpool(fn, *args)
    async with state.llm_gate.slot():
        return await run_in_threadpool(fn, *args)
