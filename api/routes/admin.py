"""Admin operations, enabled only with KIEMNHIEM_ADMIN_KEY."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, AssistantDep, SettingsDep
from api.errors import APIError
from assistant.index import IngestBusyError

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reindex", summary="Nạp lại nguồn (cần khóa quản trị) / re-ingest sources (admin)")
async def reindex(_: AdminDep, assistant: AssistantDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        report = await run_in_threadpool(assistant.index.ingest, settings.ingest_paths(), lock_timeout=0.5)
    except IngestBusyError as exc:
        raise APIError(409, "ingest_busy", "Đang có một tiến trình nạp dữ liệu khác.", "Another ingest is running.") from exc
    return report.to_json()
