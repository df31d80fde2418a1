"""FastAPI application factory: a thin HTTP layer over ``assistant``.

The model and the index snapshot load once per worker at start-up (``lifespan``); if the store
is down then, the app still starts, reports ``degraded`` and recovers on its own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.limits import LLMGate
from api.middleware import BodyLimitMiddleware, RequestGuardMiddleware, SecurityHeadersMiddleware
from api.routes import admin, ask, feedback, health, openai_compat, share, sources, uploads, web
from api.writer import in_child, reindex
from assistant.answering.chain import Assistant
from assistant.config import Settings, configure_threads, data_dir_problem
from assistant.feedback import FeedbackStore, RateLimiter
from assistant.ingest.uploads import pending
from assistant.shares import ShareStore

log = logging.getLogger("kiemnhiem.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    problem = data_dir_problem(settings)
    if problem and settings.chroma_mode == "embedded":
        # the embedded store cannot open a read-only dir: fail now, clearly, not "degraded" forever
        raise RuntimeError(f"KIEMNHIEM_DATA_DIR is not writable ({problem}); the embedded index needs a writable "
                           "data dir (or set KIEMNHIEM_CHROMA_URL to serve read-only).")
    if problem:
        log.warning("data dir not writable (%s): serving read-only, POST /feedback answers 503", problem)
    configure_threads(settings)
    assistant = Assistant(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        def warm() -> None:
            if pending(settings.uploads_path):  # an upload change was interrupted (kill -9): folders and index agree
                log.warning("interrupted upload changes %s: putting their folders back and reindexing",
                            pending(settings.uploads_path))
                try:
                    in_child(reindex, settings, 300.0, timeout=settings.reindex_timeout)
                except Exception as exc:  # noqa: BLE001 - serve what is indexed; the next writer recovers
                    log.error("recovering interrupted uploads failed: %s", exc)
            _ = assistant.index.embedder  # load the model now, not on the first question
            try:
                assistant.index.snapshot()
                assistant.ask("Thành viên Ban bầu cử có được kiêm nhiệm không?")
            except Exception as exc:  # noqa: BLE001 - start degraded, recover when the store is back
                log.warning("index not ready at start-up: %s", exc)

        await run_in_threadpool(warm)
        yield

    app = FastAPI(
        title="Trợ lý Kiêm nhiệm API",
        version="0.1.0",
        description="Hỏi đáp quy định kiêm nhiệm, trả lời chỉ từ nguồn và kèm trích dẫn. "
        "Mọi lỗi có dạng {\"error\": {\"code\", \"message\", \"message_en\"}}.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.assistant = assistant
    app.state.feedback = FeedbackStore(settings.feedback_db, max_bytes=settings.feedback_max_bytes)
    app.state.feedback_limiter = RateLimiter(settings.feedback_per_minute)
    app.state.shares = ShareStore(settings.shares_db, settings.data_dir / "share.key",
                                  ttl_days=settings.share_ttl_days, max_count=settings.share_max_count)
    app.state.share_limiter = RateLimiter(settings.share_per_minute)
    app.state.llm_gate = LLMGate(settings.llm_max_concurrent, settings.llm_max_queue,
                                 settings.llm_max_per_client)
    install_error_handlers(app)
    for router in (ask.router, sources.router, health.router, feedback.router, openai_compat.router, admin.router,
                   uploads.router, share.router, web.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    try:
        app.mount("/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")
    except ImportError:  # pragma: no cover - a declared dependency
        pass
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization", "X-Admin-Key"])
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes,
                       admin_key=settings.admin_key, body_timeout=settings.body_timeout)
    app.add_middleware(RequestGuardMiddleware, allowed_hosts=settings.allowed_hosts,
                       max_header_count=settings.max_header_count)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: even a 413 or a 500 carries the headers
    return app
