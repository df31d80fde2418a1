"""GET /health: liveness plus what a operator needs to see at a glance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AssistantDep, SettingsDep
from api.limits import run_for_health

router = APIRouter(tags=["health"])


@router.get("/health", summary="Tình trạng dịch vụ / service health")
async def health(assistant: AssistantDep, settings: SettingsDep) -> JSONResponse:
    """200 with ``status: ok``; 503 with ``status: degraded`` when the store or the index is unusable."""

    def probe() -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok", "chroma_mode": settings.chroma_mode, "collection": settings.collection,
            "model": assistant.index.embedder.model_id, "answerer": settings.answerer,
        }
        try:
            stats = assistant.index.stats()
            body["index"] = stats
            body["search"] = assistant.index.search_info(stats)  # exact, or compact past a size (#27)
            if not stats["passages"]:
                body["status"] = "degraded"
                body["reason"] = "index empty: run `kiemnhiem ingest`"
            elif stats["model"] and stats["model"] != body["model"]:  # /ask would answer 503 index_model_mismatch
                body["status"] = "degraded"
                body["reason"] = "index built with another embedding model: run `kiemnhiem ingest --rebuild`"
        except Exception as exc:  # noqa: BLE001 - health must answer whatever broke
            body["status"] = "degraded"
            body["reason"] = f"store unavailable: {type(exc).__name__}"
            body["index"] = None
        return body

    body = await run_for_health(probe)  # its own lane: never queued behind answers
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
