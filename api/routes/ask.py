"""POST /ask and POST /ask/stream (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from api.deps import AssistantDep, SettingsDep
from api.errors import APIError, error_body
from api.limits import resolve_answerer, run_answer
from api.live import LiveAnswer
from api.schemas import AskRequest, AskResponse
from assistant.answering.answer import answer_pieces
from assistant.answering.chain import AnswerResult, Assistant
from assistant.answering.llm import Abort
from assistant.config import Settings
from assistant.search.store import StoreUnavailableError

router = APIRouter(tags=["ask"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Câu hỏi không hợp lệ / invalid question"},
    503: {"description": "Kho dữ liệu không sẵn sàng / store unavailable"},
}


def validate_ask(req: AskRequest, settings: Settings) -> None:
    """Limits that depend on settings (so they are configurable), in the one error shape."""
    if not req.question:
        raise APIError(422, "empty_question", "Câu hỏi không được để trống.", "The question must not be empty.")
    if len(req.question) > settings.max_question_chars:
        raise APIError(422, "question_too_long", f"Câu hỏi dài quá {settings.max_question_chars} ký tự.",
                       f"The question is longer than {settings.max_question_chars} characters.")
    if len(req.history) > settings.max_history_turns:
        raise APIError(422, "history_too_long", f"Lịch sử hội thoại vượt quá {settings.max_history_turns} lượt.",
                       f"History has more than {settings.max_history_turns} turns.")
    if sum(len(t.content) for t in req.history) > settings.max_history_chars:
        raise APIError(422, "history_too_long", f"Lịch sử hội thoại vượt quá {settings.max_history_chars} ký tự.",
                       f"History exceeds {settings.max_history_chars} characters.")


def run_ask(assistant: Assistant, req: AskRequest, on_text: Callable[[str], None] | None = None,
            abort: Abort | None = None) -> AnswerResult:
    return assistant.ask(req.question, history=[t.model_dump() for t in req.history], top_k=req.top_k,
                         filters=req.filters.as_dict() if req.filters else None, answerer=req.answerer,
                         as_of=req.as_of, on_text=on_text, abort=abort)


@router.post("/ask", response_model=AskResponse, responses=_ERRORS, summary="Hỏi một câu / ask a question")
async def ask(req: AskRequest, assistant: AssistantDep, settings: SettingsDep, request: Request) -> dict[str, Any]:
    validate_ask(req, settings)
    result = await run_answer(request, resolve_answerer(req.answerer, settings), run_ask, assistant, req)
    return signed(request, req, result.to_json())


def signed(request: Request, req: AskRequest, body: dict[str, Any]) -> dict[str, Any]:
    """The answer with the token that lets exactly it be shared (``assistant.shares``)."""
    if body.get("answered_by") != "small-talk":
        body["share_token"] = request.app.state.shares.sign({**body, "question": req.question})
    return body


@router.post("/ask/stream", responses={200: {"content": {"text/event-stream": {}}}, **_ERRORS},
             summary="Hỏi, nhận câu trả lời dạng luồng SSE / streamed answer")
async def ask_stream(req: AskRequest, assistant: AssistantDep, settings: SettingsDep,
                     request: Request) -> EventSourceResponse:
    """Events: ``token`` {text} …, ``citations`` {refused, citations, passages}, ``done`` {timings_ms, answered_by,
    as_of, period, query, lead, suggestions, share_token}; ``error``. With the LLM answerer the tokens are sent as the model writes them, one verified
    sentence at a time; ``reset`` {} (rare) says the text sent so far was taken back and the whole answer follows."""
    validate_ask(req, settings)
    # the first text or the answer first: a failure before any byte is sent is a plain HTTP error
    live = await LiveAnswer.start(request, resolve_answerer(req.answerer, settings), run_ask, assistant, req)

    def event(name: str, data: dict[str, Any]) -> dict[str, str]:
        return {"event": name, "data": json.dumps(data, ensure_ascii=False)}

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            async for piece in live.pieces():
                yield event("token", {"text": piece})
            assert live.task is not None
            result = live.task.result()
            kept, rest = live.rest(result.answer)
            if not kept:
                yield event("reset", {})
            for piece in answer_pieces(rest):
                yield event("token", {"text": piece})
                await asyncio.sleep(0)
            body = signed(request, req, result.to_json())
            yield event("citations", {k: body[k] for k in ("refused", "citations", "passages")})
            yield event("done", {k: body[k] for k in ("timings_ms", "answered_by", "as_of", "period", "query", "lead",
                                                      "suggestions", "share_token")})
        except StoreUnavailableError:
            yield event("error", error_body("store_unavailable", "Kho dữ liệu tạm thời không truy cập được.",
                                            "The store is unreachable."))
        except Exception:  # noqa: BLE001 - the client gets an error event, never a stack trace
            yield event("error", error_body("internal_error", "Lỗi máy chủ ngoài dự kiến.", "Unexpected server error."))

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
