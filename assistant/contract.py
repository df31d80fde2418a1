"""The answer contract, defined once: the core's JSON output (``AnswerResult.to_json``, ``ask --json``) and
the API's ``response_model`` are these models (``api/schemas.py`` re-exports them). Pydantic only, no FastAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator


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
    # the period the quoted section applies to (ISO dates, "" = open) and its badge for the asked date
    valid_from: str = Field(default="", description="Đoạn áp dụng từ ngày (ISO) / the section applies from")
    valid_to: str = Field(default="", description="Đoạn áp dụng đến ngày (ISO) / the section applies until")
    period_label: str = Field(default="", description="Nhãn thời kỳ, ví dụ 'Quy định cũ · 2016–2021' / period badge")
    # ``source_url`` is the document's first link, often a mirror; readers (copy, print, the panel) pick the
    # official one from the whole list
    source_urls: list[str] = Field(default_factory=list, description="Mọi địa chỉ nguồn của văn bản (http/https) / "
                                   "every http(s) source link of the document")

    @field_validator("source_urls", mode="before")
    @classmethod
    def _links(cls, value: Any) -> list[str]:
        """The passage keeps its links one per line (Chroma metadata holds scalars); plain citations such as
        "TTXVN: …" are not links."""
        items = value.split("\n") if isinstance(value, str) else list(value or [])
        return [u.strip() for u in items if isinstance(u, str) and u.strip().lower().startswith(("http://", "https://"))]


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
                             "llm-refusal | refusal | out-of-domain | small-talk")
    as_of: str = Field(default="", description="Ngày câu trả lời áp dụng (ISO) / the date the answer speaks for")
    period: dict[str, Any] = Field(default_factory=dict, description="Thời kỳ câu hỏi nêu / the period the question named")
    suggestions: list[str] = Field(default_factory=list, description="Câu hỏi mẫu trong phạm vi, khi câu hỏi nằm "
                                   "ngoài phạm vi nguồn / in-field example questions (out-of-domain refusals)")
    share_token: str = Field(default="", description="Chữ ký để chia sẻ câu trả lời này (POST /share) / proves the "
                             "answer came from this server when it is shared")
    lead: str = Field(default="", description="Dòng đầu có trả lời đúng ý hỏi không / how the first line stands to "
                      "the question: answer (it answers: shown as the verdict) | context (related, not the answer: "
                      "open neutrally) | groups (several rates for different groups) | '' (refusal, small talk)")


def validate_answer(data: dict[str, Any]) -> dict[str, Any]:
    """Check a core result against the contract (tests and the CLI can call it); returns it unchanged."""
    AskResponse.model_validate(data)
    return data
