"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``, so existing chat clients work.

The last user message is the question, earlier user/assistant messages are the history; an extra
body field ``as_of`` (``YYYY-MM-DD``) sets the date the answer speaks for; the reply is the answer with ``[n]`` markers followed by the sources as a Markdown footnote list.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import AssistantDep, SettingsDep
from api.errors import APIError
from api.limits import run_answer
from api.live import LiveAnswer
from api.routes.ask import run_ask, validate_ask
from api.schemas import AskRequest, ChatCompletionRequest, Turn, clean_text
from assistant.answering.answer import answer_pieces
from assistant.answering.chain import AnswerResult
from assistant.config import Settings
from assistant.models import STATUS_LABELS
from assistant.text import collapse_ws

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_NAME = "kiemnhiem"


def footnotes(result: AnswerResult) -> str:
    """Sources as Markdown footnotes: ``[^1]: label (status) — “quote” — url``."""
    if not result.citations:
        return ""
    lines = ["", "", "Nguồn:"]
    for c in result.citations:
        status = STATUS_LABELS.get(c["status"], c["status"])
        url = f" — {c['source_url']}" if c.get("source_url") else ""
        # a footnote is one line: the quote's line breaks become spaces (the JSON quote stays verbatim)
        lines.append(f"[^{c['n']}]: {c['label']} ({status}) — “{collapse_ws(c['quote'])}”{url}")
    return "\n".join(lines)


def to_ask_request(req: ChatCompletionRequest, settings: Settings) -> AskRequest:
    convo = [m for m in req.messages if m.role in ("user", "assistant")]
    last_user = max((i for i, m in enumerate(convo) if m.role == "user"), default=None)
    if last_user is None:
        raise APIError(422, "no_user_message", "Cần ít nhất một tin nhắn của người dùng.",
                       "At least one user message is required.")
    history = [Turn(role="user" if m.role == "user" else "assistant", content=clean_text(m.text())[:8000]) for m in convo[:last_user] if m.text().strip()]
    # chat clients resend the whole conversation (our replies with their footnotes included): keep the most
    # recent turns that fit the history limits instead of rejecting every long conversation with a 422
    while history and (len(history) > settings.max_history_turns
                       or sum(len(t.content) for t in history) > settings.max_history_chars):
        history.pop(0)
    return AskRequest(question=clean_text(convo[last_user].text()), history=history, as_of=req.as_of)


def for_chat(text: str) -> str:
    """Text a chat client renders as Markdown/HTML, made inert: HTML escaped, and every "!" an entity, so
    ``![x](http://…)`` from a source's title or text can never become a live image (a tracking pixel).
    Per character, so escaped stream pieces join into the escaped whole."""
    return html.escape(text, quote=False).replace("!", "&#33;")


@router.get("/models", summary="OpenAI-compatible model list")
async def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "kiemnhiem"}]}


@router.post("/chat/completions", summary="OpenAI-compatible chat completion (stream or not)")
async def chat_completions(req: ChatCompletionRequest, assistant: AssistantDep, settings: SettingsDep,
                           request: Request) -> Any:
    ask = to_ask_request(req, settings)
    validate_ask(ask, settings)
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not req.stream:
        result: AnswerResult = await run_answer(request, settings.answerer, run_ask, assistant, ask)
        # chat clients render this as Markdown/HTML: markup quoted from a source must show as text, never run
        content = for_chat(result.answer + footnotes(result))
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": MODEL_NAME,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": result.citations, "refused": result.refused, "as_of": result.as_of,
        }
    # streamed: the LLM answer's verified sentences go out as they are written (escaping is per character,
    # so escaped pieces join into the escaped whole)
    live = await LiveAnswer.start(request, settings.answerer, run_ask, assistant, ask)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async def stream() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        async for piece in live.pieces():
            yield chunk({"content": for_chat(piece)})
        assert live.task is not None
        result = live.task.result()
        kept, rest = live.rest(result.answer)
        if not kept:  # a chat client cannot take text back: say the answer is replaced, then give it whole
            rest = "\n\n(Câu trả lời trên được thay bằng:)\n" + rest
        for piece in answer_pieces(for_chat(rest + footnotes(result))):
            yield chunk({"content": piece})
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
