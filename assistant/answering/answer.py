"""What a writer returns: the answer text and its citations, as the result contract shows them.

The writers (:mod:`.extractive`, :mod:`.llm`) build an :class:`Answer`; every sentence shown carries
markers that resolve to a :class:`Citation` holding a verbatim quote of a retrieved passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant import contract
from assistant.answering.messages import STATUS_NOTES, status_note
from assistant.answering.provisions import document_label
from assistant.answering.validity import period_fields
from assistant.models import KIND_LABELS, STATUS_LABELS, Passage
from assistant.search.retrieval import ScoredPassage


@dataclass
class Citation:
    n: int
    hit: ScoredPassage
    quote: str

    def to_json(self, as_of: date | None = None) -> dict[str, Any]:
        """The contract's citation (``assistant.contract.Citation``, its one field list): the fields it
        shares with the passage by name, plus what this citation adds."""
        p = self.hit.passage
        own = {"n": self.n, "quote": self.quote, "score": round(float(self.hit.score), 4), "passage_id": p.id,
               **period_fields(p, as_of),  # valid_from, valid_to, period_label (seen from as_of, default today)
               **display_fields(p, self.quote)}
        shared = {name: getattr(p, name) for name in contract.Citation.model_fields if name not in own}
        return contract.Citation.model_validate({**shared, **own}).model_dump()


def status_label(status: str) -> str:
    """The status as a badge reads it: "Còn hiệu lực"."""
    label = STATUS_LABELS.get(status, status)
    return label[:1].upper() + label[1:]


def display_fields(p: Passage, quote: str) -> dict[str, Any]:
    """What the web chat shows without copying tables: labels, the text form and where the quote sits."""
    start = p.text.find(quote) if quote else -1
    return {"text_form": p.text_form, "status_label": status_label(p.status),
            "kind_label": KIND_LABELS.get(p.kind, ""), "quote_start": start if start >= 0 else None,
            "quote_end": start + len(quote) if start >= 0 else None}


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    note: str = ""
    # who wrote the text: extractive | llm | llm-fallback (failed verification) | llm-error | refusal |
    # out-of-domain | small-talk
    answered_by: str = "extractive"
    suggestions: list[str] = field(default_factory=list)  # in-field questions to offer instead (out-of-domain)
    # the model's raw reply and the sentences verification removed (why: sentence), for evals and logs
    draft: str = ""
    dropped: list[str] = field(default_factory=list)


def status_lines(citations: Sequence[Citation]) -> list[str]:
    """One line per cited document whose status is not plainly in force."""
    lines, seen = [], set()
    for c in citations:
        p = c.hit.passage
        if p.status in STATUS_NOTES and p.doc_id not in seen:
            seen.add(p.doc_id)
            lines.append(status_note(c.n, document_name(p), p.status))
    return lines


def document_name(p: Passage) -> str:
    """The short citation name of a passage's document (its label without the provision)."""
    return document_label(p)


def answer_pieces(text: str) -> Iterator[str]:
    """Split a finished answer into stream tokens (words with their trailing space) that rejoin exactly."""
    yield from re.findall(r"\S+\s*|\s+", text)
