"""Ingest planning: which passages and vectors the next index generation holds, and which to embed.

Why a pure function: the decision "what changed" is the part of ingest worth testing exhaustively,
and it needs neither the model nor Chroma. :func:`plan` takes the loaded documents and a summary of
what the active generation stores (:class:`Stored`) and returns an :class:`IngestPlan`: the
passages, one :class:`Record` per Chroma row (passage, diacritic-folded passage, quotable sentences)
and the records whose vector must be computed. ``KnowledgeIndex`` only executes it.

Two levels of reuse:

* **document**: each document's content hash (its text and metadata, salted with the chunker's
  source code and token limit) is stored with its passages. A document whose hash is unchanged
  keeps its stored passages and is not re-chunked, so a re-ingest with nothing changed needs no
  tokenizer and no model.
* **vector**: a record's key is ``variant:sha256(text)``; any key already stored (in the active
  generation, or in a generation left behind by an interrupted ingest) is reused, not re-embedded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from assistant import models as models_module
from assistant import text as text_module
from assistant.ingest import chunking as chunking_module
from assistant.models import Document, Passage
from assistant.text import fold, split_sentences

ChunkFn = Callable[[Document], list[Passage]]
VARIANTS = ("orig", "fold", "sent")
# Document fields that never reach a passage: a moved folder is not a changed document.
_UNHASHED_FIELDS = ("path", "body_line")


@dataclass(frozen=True)
class Record:
    """One Chroma row: a passage as written (``orig``), diacritic-folded (``fold``), or one sentence."""

    record_id: str
    variant: str
    embed_text: str
    document: str  # the text Chroma stores with the row
    meta: dict[str, Any]
    # late-chunked sentence: the vector comes from the forward pass of ``embed_text`` (the whole
    # passage), pooled over the characters ``span``; None = the vector of ``embed_text`` itself
    span: tuple[int, int] | None = None

    @property
    def key(self) -> str:
        """Vector identity: the same variant of the same text has the same vector."""
        return f"{self.variant}:{self.meta['text_hash']}"


@dataclass
class Stored:
    """What the active generation holds, as far as planning needs it (read from Chroma metadata)."""

    passage_hashes: dict[str, str] = field(default_factory=dict)  # passage id -> Passage.hash
    doc_hashes: dict[str, str] = field(default_factory=dict)  # doc id -> document hash
    doc_passages: dict[str, list[Passage]] = field(default_factory=dict)  # doc id -> passages in order
    vector_keys: set[str] = field(default_factory=set)  # record keys with a reusable vector
    row_keys: set[str] | None = None  # record keys of the active generation itself (None: unknown)


@dataclass
class IngestPlan:
    passages: list[Passage]
    records: list[Record]
    missing: list[int]  # indices into ``records`` whose vector must be computed
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunked_documents: int = 0  # documents (re-)chunked because new or changed
    metadata_changed: bool = False  # same passages, but stored document hashes are stale or missing
    vectors_changed: bool = False  # same passages, other vector kinds (e.g. folded copies switched off)

    @property
    def changed(self) -> bool:
        """Whether a new generation must be written."""
        return bool(self.added or self.updated or self.removed or self.metadata_changed or self.vectors_changed
                    or self.missing)

    @property
    def embed_keys(self) -> list[str]:
        """Distinct record keys to embed, first occurrence order (shared texts are embedded once)."""
        return list(dict.fromkeys(self.records[i].key for i in self.missing))

    @property
    def embedded_passages(self) -> int:
        """Passages with at least one vector to compute (what ``IngestReport.embedded`` reports)."""
        return len({self.records[i].meta["passage_id"] for i in self.missing})


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Quotable sentences of a passage: every sentence after its heading line."""
    first_nl = text.find("\n")
    body_from = first_nl + 1 if first_nl >= 0 else 0
    spans = split_sentences(text)
    return [(a, b) for a, b in spans if a >= body_from and len(text[a:b]) >= 12] or list(spans)[:1]


@cache
def chunker_signature(max_tokens: int) -> str:
    """Hash of the code that turns a document into passages and records.

    Salted into every document hash, so a change to chunking, the passage model or sentence
    splitting re-chunks every document on the next ingest instead of keeping stale passages.
    """
    h = hashlib.sha256(str(max_tokens).encode())
    for mod in (chunking_module, models_module, text_module):
        h.update(Path(str(mod.__file__)).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def document_hash(doc: Document, salt: str = "") -> str:
    """Content hash of everything in a document that can change its passages."""
    d = asdict(doc)
    for name in _UNHASHED_FIELDS:
        d.pop(name, None)
    payload = json.dumps([salt, d], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def passage_records(p: Passage, doc_hash: str, *, fold_vectors: bool = True,
                    sentence_vectors: bool = True, late_sentences: bool = False) -> list[Record]:
    """The Chroma rows of one passage. Metadata is ``Passage.to_metadata()`` plus bookkeeping keys,
    so new scalar passage fields flow into Chroma without changes here.

    With ``late_sentences`` a sentence vector is pooled from the passage's own forward pass: its
    key hashes the passage text, the span (the same sentence in another passage differs) and the
    calibration (``c50``: half the passage vector taken out, ``index.late_calibrated``).
    """
    meta = p.to_metadata()
    meta["passage_id"] = p.id
    meta["doc_hash"] = doc_hash
    variants = [("orig", p.text)] + ([("fold", fold(p.text))] if fold_vectors else [])
    out = []
    for variant, etext in variants:
        m = dict(meta, variant=variant, text_hash=text_hash(etext))
        out.append(Record(p.id if variant == "orig" else f"{p.id}#fold", variant, etext, p.text, m))
    if sentence_vectors:
        for j, (a, b) in enumerate(sentence_spans(p.text)):
            stext = p.text[a:b]
            m = {"variant": "sent", "passage_id": p.id, "doc_id": p.doc_id, "start": a, "end": b,
                 "text_hash": text_hash(f"late-c50\0{a}:{b}\0{p.text}" if late_sentences else stext)}
            if late_sentences:
                out.append(Record(f"{p.id}#s{j}", "sent", p.text, stext, m, span=(a, b)))
            else:
                out.append(Record(f"{p.id}#s{j}", "sent", stext, stext, m))
    return out


def plan(documents: Sequence[Document], stored: Stored, chunk: ChunkFn, *, salt: str = "",
         fold_vectors: bool = True, sentence_vectors: bool = True, late_sentences: bool = False,
         rechunk: bool = False) -> IngestPlan:
    """Decide the next generation for ``documents`` given what is ``stored``.

    ``chunk`` is called only for documents that are new or whose hash changed (or all, with
    ``rechunk``); unchanged documents keep their stored passages. Counts compare passage ids and
    hashes with the stored ones, exactly as a user reads them (added/updated/removed/unchanged).
    """
    passages: list[Passage] = []
    doc_hash_of: dict[str, str] = {}
    chunked = 0
    metadata_changed = False
    for d in documents:
        h = document_hash(d, salt)
        doc_hash_of[d.id] = h
        kept = stored.doc_passages.get(d.id)
        if not rechunk and kept and stored.doc_hashes.get(d.id) == h:
            passages.extend(kept)
            continue
        chunked += 1
        metadata_changed |= stored.doc_hashes.get(d.id) != h
        passages.extend(chunk(d))
    records: list[Record] = []
    for p in passages:
        records.extend(passage_records(p, doc_hash_of[p.doc_id], fold_vectors=fold_vectors,
                                       sentence_vectors=sentence_vectors, late_sentences=late_sentences))
    missing = [i for i, r in enumerate(records) if r.key not in stored.vector_keys]
    new = {p.id: p.hash for p in passages}
    old = stored.passage_hashes
    return IngestPlan(
        passages=passages,
        records=records,
        missing=missing,
        added=sum(1 for pid in new if pid not in old),
        updated=sum(1 for pid, h in new.items() if pid in old and old[pid] != h),
        removed=sum(1 for pid in old if pid not in new),
        unchanged=sum(1 for pid, h in new.items() if old.get(pid) == h),
        chunked_documents=chunked,
        metadata_changed=metadata_changed or set(stored.doc_hashes) != set(doc_hash_of),
        vectors_changed=stored.row_keys is not None and stored.row_keys != {r.key for r in records},
    )


def stored_from_rows(metadatas: Iterable[dict[str, Any]], documents: Iterable[str | None]) -> Stored:
    """Build :class:`Stored` from the active generation's rows (metadata + stored document text)."""
    stored = Stored(row_keys=set())
    by_doc: dict[str, list[tuple[int, Passage]]] = {}
    for meta, doc in zip(metadatas, documents, strict=True):
        if meta.get("text_hash"):
            stored.vector_keys.add(f"{meta.get('variant')}:{meta.get('text_hash')}")
        if meta.get("variant") != "orig":
            continue
        pid = str(meta["passage_id"])
        stored.passage_hashes[pid] = str(meta.get("hash", ""))
        if meta.get("doc_hash"):
            stored.doc_hashes[str(meta["doc_id"])] = str(meta["doc_hash"])
        p = Passage.from_record(pid, doc or "", meta)
        by_doc.setdefault(p.doc_id, []).append((int(meta.get("ordinal", 0)), p))
    stored.row_keys = set(stored.vector_keys)
    for doc_id, rows in by_doc.items():
        stored.doc_passages[doc_id] = [p for _, p in sorted(rows, key=lambda r: r[0])]
    # a document stored without a hash (older index) must be re-chunked: drop its partial hash entry
    stored.doc_hashes = {d: h for d, h in stored.doc_hashes.items() if d in stored.doc_passages}
    return stored
