"""POST /feedback (anyone) and GET /feedback/export (admin key) for the people who curate sources.

Anyone may post, so every post is bounded: field lengths (settings), posts per client address per
minute (429), the database size (507 feedback_full) and a full disk (507 storage_full) or an
unwritable data dir (503 feedback_unavailable) answer in the one error shape.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, FeedbackDep, SettingsDep
from api.errors import APIError
from api.schemas import FeedbackRequest, FeedbackResponse
from assistant.feedback import FeedbackError

router = APIRouter(tags=["feedback"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Dữ liệu không hợp lệ / invalid feedback"},
    429: {"description": "Quá nhiều phản hồi / too many posts from this client"},
    503: {"description": "Không lưu được phản hồi / feedback storage unavailable"},
    507: {"description": "Kho phản hồi đã đầy / feedback storage full"},
}


def _check_lengths(req: FeedbackRequest, settings: SettingsDep) -> None:
    limits = (("question", req.question, settings.max_question_chars),
              ("answer", req.answer, settings.feedback_max_answer_chars),
              ("comment", req.comment or "", settings.feedback_max_comment_chars))
    for name, value, limit in limits:
        if len(value) > limit:
            raise APIError(422, "feedback_too_long", f"Trường '{name}' dài quá {limit} ký tự.",
                           f"Field '{name}' is longer than {limit} characters.")


@router.post("/feedback", status_code=201, response_model=FeedbackResponse, responses=_ERRORS,
             summary="Gửi phản hồi / send feedback")
async def add_feedback(req: FeedbackRequest, store: FeedbackDep, settings: SettingsDep,
                       request: Request) -> dict[str, object]:
    _check_lengths(req, settings)
    client = request.client.host if request.client else "-"
    wait = request.app.state.feedback_limiter.allow(client)
    if wait:
        raise APIError(429, "feedback_rate_limited",
                       f"Bạn đã gửi quá {settings.feedback_per_minute} phản hồi mỗi phút; vui lòng thử lại sau.",
                       f"More than {settings.feedback_per_minute} feedback posts per minute; retry later.",
                       headers={"Retry-After": str(math.ceil(wait))})
    extra = req.model_dump(include={"reason", "citations", "answered_by", "as_of", "conversation", "conversation_id"})
    try:
        fid = await run_in_threadpool(lambda: store.add(req.question, req.answer, req.rating, req.comment or "",
                                                        replaces=req.replaces, **extra))
    except FeedbackError as exc:
        status = 507 if exc.kind in ("full", "disk_full") else 503  # an operator must act / retry later
        raise APIError.of(status, exc, headers=None if status == 507 else {"Retry-After": "60"}) from exc
    return {"ok": True, "id": fid}


@router.get("/feedback/export", summary="Xuất phản hồi CSV (cần khóa quản trị) / export feedback as CSV (admin)",
            responses={200: {"content": {"text/csv": {}}}})
async def export_feedback(_: AdminDep, store: FeedbackDep) -> Response:
    csv_text = await run_in_threadpool(store.export_csv)
    return Response("\ufeff" + csv_text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="kiemnhiem-feedback.csv"'})
