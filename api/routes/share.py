"""POST /share (a snapshot of one answer the server gave) and GET /share/{id} (that snapshot, as it was).

Thin over ``assistant.shares``: the body is checked against the token the answer came with, bounded in
size, rate-limited per client, and stored for ``share_ttl_days``; the page /s/{id} shows it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import SettingsDep
from api.errors import APIError
from assistant.shares import ShareError, ShareStore

router = APIRouter(tags=["share"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Không có hoặc đã hết hạn / unknown or expired"},
    413: {"description": "Bản chia sẻ quá lớn / snapshot too large"},
    422: {"description": "Không phải câu trả lời của máy chủ / not an answer this server gave"},
    429: {"description": "Quá nhiều lần chia sẻ / too many shares from this client"},
    503: {"description": "Không lưu được / storage unavailable"},
}


def get_shares(request: Request) -> ShareStore:
    store: ShareStore = request.app.state.shares
    return store


SharesDep = Annotated[ShareStore, Depends(get_shares)]


class SharedCitation(BaseModel):
    """What the shared page shows of a citation: its label, the document and the quoted words."""

    n: int = Field(ge=1, le=999)
    doc_id: str = Field(default="", max_length=200)
    passage_id: str = Field(default="", max_length=300)
    label: str = Field(default="", max_length=500)
    quote: str = Field(default="", max_length=6000)
    title: str = Field(default="", max_length=500)
    number: str = Field(default="", max_length=100)
    section: str = Field(default="", max_length=300)
    source_url: str = Field(default="", max_length=2000)
    status: str = Field(default="", max_length=40)
    status_label: str = Field(default="", max_length=80)
    kind_label: str = Field(default="", max_length=80)
    text_form: str = Field(default="", max_length=40)
    issuer: str = Field(default="", max_length=300)
    issued: str = Field(default="", max_length=40)
    amended_by: str = Field(default="", max_length=300)
    quote_start: int | None = None
    quote_end: int | None = None
    valid_from: str = Field(default="", max_length=20)
    valid_to: str = Field(default="", max_length=20)
    period_label: str = Field(default="", max_length=120)


class ShareRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    query: str = Field(default="", max_length=8000)
    answer: str = Field(min_length=1, max_length=20000)
    refused: bool = False
    lead: str = Field(default="", max_length=20)
    answered_by: str = Field(default="", max_length=40)
    as_of: str = Field(default="", max_length=20)
    citations: list[SharedCitation] = Field(default_factory=list, max_length=40)
    suggestions: list[str] = Field(default_factory=list, max_length=10)
    token: str = Field(max_length=128, description="share_token of the answer (POST /ask, done event)")


class ShareResponse(BaseModel):
    id: str
    url: str
    expires: str


class SharedAnswer(BaseModel):
    question: str
    query: str
    answer: str
    refused: bool
    lead: str
    answered_by: str
    as_of: str
    citations: list[SharedCitation]
    suggestions: list[str]
    created: str
    expires: str


@router.post("/share", status_code=201, response_model=ShareResponse, responses=_ERRORS,
             summary="Chia sẻ một câu trả lời / share a snapshot of an answer")
async def create_share(req: ShareRequest, store: SharesDep, settings: SettingsDep, request: Request) -> dict[str, str]:
    snapshot = req.model_dump(exclude={"token"})
    if not store.verify(snapshot, req.token):
        raise APIError(422, "share_not_verified", "Chỉ chia sẻ được câu trả lời do trợ lý đưa ra, nguyên vẹn.",
                       "Only an answer this server gave, unchanged, can be shared.")
    size = len(ShareRequest.model_validate(snapshot | {"token": ""}).model_dump_json())
    if size > settings.share_max_bytes:
        raise APIError(413, "share_too_large", "Câu trả lời quá dài để chia sẻ.", "The snapshot is too large to share.")
    client = request.client.host if request.client else "-"
    wait = request.app.state.share_limiter.allow(client)
    if wait:
        raise APIError(429, "share_rate_limited", "Bạn chia sẻ quá nhiều lần; vui lòng thử lại sau ít phút.",
                       "Too many shares from this client; retry later.", headers={"Retry-After": str(math.ceil(wait))})
    try:
        sid, expires = await run_in_threadpool(store.add, snapshot)
    except ShareError as exc:
        raise APIError.of(503, exc, headers={"Retry-After": "60"}) from exc
    return {"id": sid, "url": f"/s/{sid}", "expires": expires.isoformat()}


@router.get("/share/{share_id}", response_model=SharedAnswer, responses=_ERRORS,
            summary="Câu trả lời đã chia sẻ / a shared answer")
async def read_share(share_id: str, store: SharesDep) -> dict[str, Any]:
    try:
        data = await run_in_threadpool(store.get, share_id)
    except ShareError as exc:
        raise APIError.of(503, exc) from exc
    if data is None:
        raise APIError(404, "share_not_found", "Liên kết chia sẻ không tồn tại hoặc đã hết hạn.",
                       "This shared link does not exist or has expired.")
    return data
