"""The data that flows through the pipeline: Document -> Passage -> (retrieval) -> AnswerResult.

Plain dataclasses with no behaviour beyond (de)serialisation, so every stage can be tested
on its own and the Chroma metadata round-trip is explicit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from assistant.lexicon import LEXICON

# the retrieval modes ``HybridSearcher.search`` accepts, compared side by side by the evaluation
MODES = ("bm25", "dense", "hybrid", "hybrid+rerank")
# document kinds and statuses, and how a reader sees them: the vocabulary in assistant/lexicon/lexicon.yaml
KINDS = LEXICON.kind_ids
STATUSES = tuple(LEXICON.status_labels)
STATUS_LABELS = LEXICON.status_labels
KIND_LABELS = LEXICON.kind_labels
# how a document's text relates to the official one (``text_form``; assistant/ingest/documents.py validates it)
TEXT_FORM_LABELS = {
    "nguyen-van": "Nguyên văn",
    "tom-luoc": "Tóm lược",
}


@dataclass(frozen=True)
class SectionPeriod:
    """The period one section applies to (ISO dates, "" = open) and the elections it speaks for."""

    valid_from: str = ""
    valid_to: str = ""
    elections: tuple[int, ...] = ()


class SectionMarker(NamedTuple):
    """Where a section's ``> Áp dụng:`` line stood: under the ``occurrence``-th (0-based) ``##``
    heading line equal to ``heading`` (Markdown), else at ``offset`` in the text without it."""

    offset: int
    heading: str
    occurrence: int
    period: SectionPeriod


@dataclass
class Document:
    """One source file after loading: metadata plus NFC body text (front matter removed)."""

    id: str
    title: str
    text: str
    path: str = ""
    number: str = ""
    kind: str = "khac"
    issuer: str = ""
    issued: str = ""
    effective: str = ""
    status: str = "tham-khao"
    amended_by: list[str] = field(default_factory=list)
    text_form: str = ""
    source_urls: list[str] = field(default_factory=list)
    short_title: str = ""
    # 1-based line in the source file where ``text`` starts (front matter is above it)
    body_line: int = 1
    expired: str = ""  # ISO date of the last day in force ("" = not known to have expired)
    replaced_by: list[str] = field(default_factory=list)  # numbers of the documents that replaced it
    # "> Ghi chú biên soạn: …" blocks: guidance for maintainers, removed from ``text`` (never indexed or quoted)
    editorial: list[str] = field(default_factory=list)
    # "> Áp dụng: …" markers, removed from ``text``; each applies to the section it stands under
    section_periods: list[SectionMarker] = field(default_factory=list)

    def meta(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("text")
        return d

    @property
    def citation_name(self) -> str:
        """How a citation names this document: ``Luật Bầu cử 85/2015/QH13``, ``Hỏi đáp: …``."""
        if self.short_title:
            return f"{self.short_title} {self.number}".strip() if self.number and self.number not in self.short_title else self.short_title
        if self.number:
            return f"{KIND_LABELS.get(self.kind, '')} {self.number}".strip()
        return self.title


@dataclass
class Passage:
    """A retrievable, citable unit: one article/section (or a khoản-aligned part of one).

    ``text`` is what is embedded, indexed and quoted. ``start``/``end`` locate the passage body
    in ``Document.text``; when a long article is split, ``text`` starts with the repeated
    heading line followed by ``Document.text[start:end]``.
    """

    id: str
    doc_id: str
    title: str
    section: str  # "Điều 27", "Mục 2", "Trả lời", or a news section heading
    heading: str  # the full heading line as written in the source
    label: str  # "Điều 27, Luật Bầu cử 85/2015/QH13"
    text: str
    start: int
    end: int
    number: str = ""
    kind: str = "khac"
    status: str = "tham-khao"
    issuer: str = ""
    issued: str = ""
    effective: str = ""
    source_url: str = ""
    source_urls: str = ""  # every source URL, one per line (Chroma metadata holds scalars only)
    amended_by: str = ""  # amending document numbers, comma-separated
    # the period the passage applies to: the section's "> Áp dụng:" marker, else the document's
    # effective/expired dates (ISO, "" = open); elections it speaks for, comma-separated years ("2016,2021")
    valid_from: str = ""
    valid_to: str = ""
    elections: str = ""
    # the document's own status facts, so an answer can say what replaced it and when it ended
    replaced_by: str = ""  # comma-separated document numbers
    expired: str = ""  # ISO date of the document's last day in force
    chapter: str = ""  # "Chương III" etc., when the document has chapters
    text_form: str = ""  # the document's tom-luoc | nguyen-van (shown as a trust badge; not hashed)
    part: int = 0  # 0 = whole section; 1.. = khoản-aligned part of a long article
    ordinal: int = 0  # position of the passage in its document
    hash: str = ""

    def __post_init__(self) -> None:
        if not self.hash:
            self.hash = self.compute_hash()

    def compute_hash(self) -> str:
        """Content hash over everything that changes what is embedded or shown."""
        payload = json.dumps(
            [self.text, self.label, self.section, self.title, self.number, self.kind, self.status,
             self.issued, self.effective, self.source_url, self.heading, self.chapter, self.source_urls,
             self.amended_by, self.valid_from, self.valid_to, self.elections, self.replaced_by, self.expired,
             self.text_form],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_metadata(self) -> dict[str, Any]:
        """Flat scalar metadata for Chroma (no lists, no None)."""
        d = asdict(self)
        d.pop("text")
        d.pop("id")
        return {k: (v if v is not None else "") for k, v in d.items()}

    @classmethod
    def from_record(cls, pid: str, text: str, meta: dict[str, Any]) -> Passage:
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in meta.items() if k in known and k not in ("id", "text")}
        return cls(id=pid, text=text, **kwargs)
