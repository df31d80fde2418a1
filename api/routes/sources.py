"""GET /sources and GET /sources/{id}: what the assistant can cite, section by section."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep, SettingsDep
from api.errors import APIError
from api.schemas import SourceDetail, SourceSummary
from assistant.answering.answer import status_label
from assistant.ingest.documents import MAX_ID_CHARS
from assistant.models import KIND_LABELS, KINDS, STATUSES, TEXT_FORM_LABELS
from assistant.text import fold

router = APIRouter(tags=["sources"])

DOC_ID = rf"^[a-z0-9][a-z0-9-]{{0,{MAX_ID_CHARS - 1}}}$"  # the one id cap (assistant/ingest/documents.py)
# a source list may hold plain citations ("TTXVN: …") and URLs; never hand a script URL to a browser
_UNSAFE_URL = re.compile(r"^\s*(javascript|data|vbscript|file)\s*:", re.IGNORECASE)


def anchor(passage_id: str) -> str:
    return fold(passage_id.split("::", 1)[-1]).replace("~", "-").replace("#", "-")


@router.get("/sources", response_model=list[SourceSummary], summary="Danh sách tài liệu / list sources")
async def list_sources(assistant: AssistantDep, settings: SettingsDep) -> list[dict[str, Any]]:
    snap = await run_in_threadpool(assistant.index.snapshot)
    uploads = settings.uploads_path
    return [{**d, **labels(d), "amended_by": _split(d.get("amended_by", "")), "uploaded": (uploads / d["id"]).is_dir()}
            for d in sorted(snap.documents.values(), key=lambda d: d["id"])]


def labels(doc: dict[str, Any]) -> dict[str, str]:
    """Display labels, so the web chat does not copy the tables of assistant/models.py."""
    return {"status_label": status_label(str(doc.get("status", ""))),
            "kind_label": KIND_LABELS.get(str(doc.get("kind", "")), "")}


@router.get("/vocabulary", summary="Các lựa chọn loại, tình trạng, dạng văn bản / metadata choices")
async def vocabulary() -> dict[str, list[dict[str, str]]]:
    """The metadata choices with their Vietnamese labels, so the admin form offers words, not slugs, and
    the web chat never copies the tables of assistant/models.py."""
    return {"kinds": [{"value": k, "label": KIND_LABELS[k]} for k in KINDS],
            "statuses": [{"value": s, "label": status_label(s)} for s in STATUSES],
            "text_forms": [{"value": k, "label": v} for k, v in TEXT_FORM_LABELS.items()]}


def _split(amended_by: str) -> list[str]:
    return [a.strip() for a in amended_by.split(",") if a.strip()]


@router.get("/sources/{doc_id}", response_model=SourceDetail, responses={404: {"description": "Không tìm thấy"}},
            summary="Một tài liệu với các điều/mục / one source with its sections")
async def get_source(doc_id: Annotated[str, Path(pattern=DOC_ID, max_length=MAX_ID_CHARS)],
                     assistant: AssistantDep, settings: SettingsDep) -> dict[str, Any]:
    snap = await run_in_threadpool(assistant.index.snapshot)
    doc = snap.documents.get(doc_id)
    if doc is None:
        raise APIError(404, "source_not_found", f"Không có tài liệu '{doc_id}'.", f"No source with id '{doc_id}'.")
    passages = snap.doc_passages(doc_id)
    sections = [{"passage_id": p.id, "anchor": anchor(p.id), "section": p.section, "heading": p.heading,
                 "label": p.label, "chapter": p.chapter, "text": p.text} for p in passages]
    first = passages[0]
    urls = [u for u in (first.source_urls or first.source_url).split("\n") if u and not _UNSAFE_URL.match(u)]
    return {**doc, **labels(doc), "source_urls": urls, "text_form": first.text_form,
            "amended_by": _split(first.amended_by), "uploaded": (settings.uploads_path / doc_id).is_dir(),
            "text": "\n\n".join(p.text for p in passages), "sections": sections}
