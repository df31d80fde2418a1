"""Admin operations, enabled only with KIEMNHIEM_ADMIN_KEY."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, AssistantDep, SettingsDep, audit_admin
from api.errors import APIError
from api.writer import in_child
from api.writer import reindex as reindex_in_child
from assistant.ingest.pipeline import IngestBusyError

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reindex", summary="Nạp lại nguồn (cần khóa quản trị) / re-ingest sources (admin)")
async def reindex(_: AdminDep, assistant: AssistantDep, settings: SettingsDep, request: Request) -> dict[str, Any]:
    """Runs in a child process (``api.writer``): at most ``KIEMNHIEM_REINDEX_TIMEOUT`` seconds, then 504."""
    t0 = time.perf_counter()
    try:
        report = await run_in_threadpool(in_child, reindex_in_child, settings, 0.5, timeout=settings.reindex_timeout)
    except IngestBusyError as exc:
        audit_admin(request, "busy", action="reindex")
        raise APIError(409, "ingest_busy", "Đang có một tiến trình nạp dữ liệu khác.", "Another ingest is running.") from exc
    except Exception as exc:
        audit_admin(request, "failed", action="reindex", error=type(exc).__name__)
        raise
    await run_in_threadpool(assistant.index.snapshot, True)  # answers use the new generation at once
    audit_admin(request, "ok", action="reindex", documents=report["documents"], passages=report["passages"],
                errors=len(report["errors"]), seconds=round(time.perf_counter() - t0, 2))
    return report
