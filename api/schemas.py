"""Request and response models. Requests forbid unknown fields and coerce nothing silently."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from assistant.answering.dates import parse_as_of
from assistant.contract import AskResponse, Citation, PassageRef  # noqa: F401 - the API's response models
from assistant.text import clean_input, has_lone_surrogate

_STRICT = ConfigDict(extra="forbid", strict=True)


def clean_text(value: str) -> str:
    """NFC, control and format (bidi, zero-width) characters stripped, trimmed: the same text the CLI sees."""
    if has_lone_surrogate(value):
        raise ValueError("text holds a lone UTF-16 surrogate (not valid Unicode)")
    return clean_input(value).strip()


AS_OF_DESCRIPTION = ("Ngày câu trả lời phải áp dụng, dạng YYYY-MM-DD (mặc định hôm nay) / "
                     "the date the answer must speak for (default today)")


def as_of_value(value: Any) -> date | None:
    """``YYYY-MM-DD`` (or null) -> date; anything else is a 422 ``invalid_as_of`` with both messages."""
    try:
        return parse_as_of(value)
    except ValueError as exc:
        raise PydanticCustomError("invalid_as_of", str(exc)) from None


def _reject_surrogates(data: Any) -> Any:
    """Any string anywhere in a request with a lone surrogate is a 422, not a 500 further down."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                raise ValueError("text holds a lone UTF-16 surrogate (not valid Unicode)")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return data


class _Request(BaseModel):
    """Base of every request body: lone surrogates anywhere are rejected before field validation."""

    @model_validator(mode="before")
    @classmethod
    def _no_surrogates(cls, data: Any) -> Any:
        return _reject_surrogates(data)


class Turn(_Request):
    model_config = _STRICT
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)

    @field_validator("content")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_text(v)


class Filters(_Request):
    model_config = _STRICT
    kind: str | list[str] | None = None
    status: str | list[str] | None = None
    doc_id: str | list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v not in (None, "", [])}


class AskRequest(_Request):
    model_config = _STRICT
    question: str = Field(description="Câu hỏi (1–2.000 ký tự)", examples=["Thành viên Ban bầu cử có được kiêm nhiệm không?"])
    history: list[Turn] = Field(default_factory=list, description="Các lượt hội thoại trước (≤ 20)")
    top_k: int | None = Field(default=None, ge=1, le=20)
    filters: Filters | None = None
    answerer: Literal["extractive", "llm"] | None = None
    as_of: date | None = Field(default=None, description=AS_OF_DESCRIPTION, examples=["2021-05-23"])

    @field_validator("question")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_text(v)

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, v: Any) -> date | None:
        return as_of_value(v)


class FeedbackRequest(_Request):
    model_config = _STRICT
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=20000)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)
    # what a curator needs to act on a 👎 (all optional, so older clients keep working)
    reason: Literal["sai", "thieu", "nguon-khong-dung", "kho-hieu", "khac"] | None = None
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    answered_by: str | None = Field(default=None, max_length=40)
    as_of: str | None = Field(default=None, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")
    conversation: list[Turn] = Field(default_factory=list, max_length=40)
    conversation_id: str | None = Field(default=None, max_length=64)
    replaces: int | None = Field(default=None, ge=1, description="id of this user's earlier rating to change")

    @field_validator("question", "answer", "comment")
    @classmethod
    def _clean(cls, v: str | None) -> str | None:
        return clean_text(v) if v is not None else None

    @field_validator("as_of")
    @classmethod
    def _real_day(cls, v: str | None) -> str | None:
        as_of_value(v)  # "2025-02-30" has the shape of a date and is none: the same 422 as /ask
        return v


class FeedbackResponse(BaseModel):
    ok: bool
    id: int


class SourceSummary(BaseModel):
    id: str
    title: str
    number: str
    kind: str
    status: str
    issued: str
    effective: str = ""
    issuer: str = ""
    amended_by: list[str] = []
    passages: int
    status_label: str = ""
    kind_label: str = ""
    uploaded: bool = False


class Section(BaseModel):
    passage_id: str
    anchor: str
    section: str
    heading: str
    label: str
    chapter: str = ""
    text: str


class SourceDetail(SourceSummary):
    source_urls: list[str]
    text_form: str = ""
    text: str
    sections: list[Section]


class ChatMessage(_Request):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if isinstance(p, dict))
        return self.content or ""


class ChatCompletionRequest(_Request):
    # OpenAI clients send many optional fields (temperature, user, …): accept and ignore them
    model_config = ConfigDict(extra="allow")
    model: str = "kiemnhiem"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    as_of: date | None = Field(default=None, description=AS_OF_DESCRIPTION)

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, v: Any) -> date | None:
        return as_of_value(v)
