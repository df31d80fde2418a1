"""The answer contract, defined once: the core's JSON output (``AnswerResult.to_json``, ``ask --json``) and
the API's ``response_model`` are these models (``api/schemas.py`` re-exports them). Pydantic only, no FastAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Citation(BaseModel):
    n: int
    doc_id: str
    title: str
    number: str
    section: str
    label: str
    quote: str
    source_url: str
    status: str
    score: float
    passage_id: str
    issuer: str = ""
    issued: str = ""
    effective: str = ""
    amended_by: str = ""
    # display fields for the web chat (labels from assistant/models.py, where the quote sits in the passage)
    text_form: str = ""
    status_label: str = ""
    kind_label: str = ""
    quote_start: int | None = None
    quote_end: int | None = None
    # a section's period (valid_from, valid_to, period_label) is added here by the time-aware knowledge work;
    # the web chat already renders those keys when present


class PassageRef(BaseModel):
    doc_id: str
    section: str
    label: str
    score: float
    passage_id: str


class AskResponse(BaseModel):
    answer: str
    refused: bool
    citations: list[Citation]
    passages: list[PassageRef]
    timings_ms: dict[str, float]
    query: str = ""
    answered_by: str = Field(default="extractive", description="extractive | llm | llm-fallback | llm-error | "
                             "llm-refusal | refusal | small-talk")
    as_of: str = Field(default="", description="Ngày câu trả lời áp dụng (ISO) / the date the answer speaks for")
    period: dict[str, Any] = Field(default_factory=dict, description="Thời kỳ câu hỏi nêu / the period the question named")


def validate_answer(data: dict[str, Any]) -> dict[str, Any]:
    """Check a core result against the contract (tests and the CLI can call it); returns it unchanged."""
    AskResponse.model_validate(data)
    return data
