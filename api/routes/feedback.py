"""POST /feedback (anyone) and GET /feedback/export (admin key) for the people who curate sources."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, FeedbackDep
from api.schemas import FeedbackRequest, FeedbackResponse

router = APIRouter(tags=["feedback"])


@router.post("/feedback", status_code=201, response_model=FeedbackResponse, summary="Gửi phản hồi / send feedback")
async def add_feedback(req: FeedbackRequest, store: FeedbackDep) -> dict[str, object]:
    extra = req.model_dump(include={"reason", "citations", "answered_by", "as_of", "conversation", "conversation_id"})
    fid = await run_in_threadpool(lambda: store.add(req.question, req.answer, req.rating, req.comment or "",
                                                    replaces=req.replaces, **extra))
    return {"ok": True, "id": fid}


@router.get("/feedback/export", summary="Xuất phản hồi CSV (cần khóa quản trị) / export feedback as CSV (admin)",
            responses={200: {"content": {"text/csv": {}}}})
async def export_feedback(_: AdminDep, store: FeedbackDep) -> Response:
    csv_text = await run_in_threadpool(store.export_csv)
    return Response("\ufeff" + csv_text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="kiemnhiem-feedback.csv"'})
