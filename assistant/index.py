"""The passage index: Chroma (dense) + BM25 (lexical), synchronised incrementally and swapped atomically.

Why generations: Chroma has no transactions, and a failed or killed ingest must leave the
previous index fully queryable. Each ingest that changes anything writes a complete new
collection ``<name>__gNNNN`` (unchanged passages reuse their stored vectors, so only new or
edited text is embedded), persists the matching BM25 index, and only then flips a pointer
(the metadata of ``<name>__meta``). Readers resolve the pointer, so they always see one
complete generation, in embedded mode and against a Chroma server alike. A generation left
behind by a crash is harvested for its vectors by the next ingest and then deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.bm25 import BM25Index
from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.documents import LoadError, iter_documents, screen_document
from assistant.errors import KiemnhiemError
from assistant.ingest_plan import (
    IngestPlan,
    Stored,
    chunker_signature,
    document_hash,
    plan,
    sentence_spans,  # noqa: F401 - re-exported: part of this module's API before the split
    stored_from_rows,
    text_hash,
)
from assistant.models import Document, Passage
from assistant.storage import MIN_FREE_BYTES, check_room, disk_full_error, is_disk_full, tree_bytes
from assistant.uploads import recover as recover_uploads
from assistant.vector_store import (
    DenseIndex,
    ExactDense,
    StoredVectors,
    StoreWriter,
    choose_mode,
    open_store,
)

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
_GEN_RE = re.compile(r"__g(\d{4,})$")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STORE_BATCH = 4096  # rows per Chroma upsert (capped by the store's own maximum)
FLUSH_VECTORS = 1024  # new vectors are written at least this often: an interrupted ingest resumes
MAX_TOKENS = 480  # leaves room for the "passage: " prefix and specials within 512


def progress_logger(emit: Callable[[str], None] | None = None, every: float = 10.0) -> ProgressFn:
    """A :data:`ProgressFn` writing a line at most every ``every`` seconds per stage (and at the end),
    with rate and ETA: for logs and pipes, where a progress bar would be noise."""
    say = emit or log.info
    state: dict[str, tuple[float, float]] = {}  # stage -> (started, last line)

    def on_progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        started, last = state.setdefault(stage, (now, 0.0))
        if done < total and now - last < every:
            return
        state[stage] = (started, now)
        elapsed = now - started
        rate = done / elapsed if elapsed >= 1.0 else 0.0
        eta = f", ETA {(total - done) / rate:.0f} s" if rate and done < total else ""
        speed = f", {rate:.1f}/s" if rate else ""
        pct = 100 * done / total if total else 100.0
        say(f"ingest: {stage} {done}/{total} ({pct:.0f} %{speed}{eta})")

    return on_progress


class IndexStoreError(KiemnhiemError, RuntimeError):
    """Base class for index errors that users can act on (the index is not ready)."""

    code = "index_unavailable"


class ModelMismatchError(IndexStoreError):
    code = "index_model_mismatch"


class StoreUnavailableError(IndexStoreError):
    """The Chroma server (or embedded store) cannot be reached."""

    code = "store_unavailable"


class IngestError(IndexStoreError):
    """An ingest that did not switch the index; ``errors`` are the files that failed."""

    code = "ingest_failed"

    def __init__(self, message_vi: str, message_en: str | None = None, errors: Sequence[LoadError] = ()) -> None:
        self.errors = list(errors)
        super().__init__(message_vi, message_en)


class IngestBusyError(IndexStoreError):
    code = "ingest_busy"


@dataclass
class IngestReport:
    documents: int = 0
    passages: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0  # passages with at least one new vector
    vectors: int = 0  # Chroma rows of the generation (passage, folded copy, sentences)
    embedded_vectors: int = 0  # vectors computed by this ingest (the rest were reused)
    seconds: float = 0.0
    generation: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # suspected planted instructions, file:line (indexed)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase: load, chunk, embed, …

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "passages": self.passages,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "embedded": self.embedded,
            "vectors": self.vectors,
            "embedded_vectors": self.embedded_vectors,
            "seconds": round(self.seconds, 3),
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass
class Snapshot:
    """One complete, immutable generation of the index, as a reader sees it."""

    generation: int
    collection_name: str
    model_id: str
    passages: list[Passage]
    by_id: dict[str, Passage]
    bm25: BM25Index
    documents: dict[str, dict[str, Any]]
    passage_vectors: np.ndarray  # (n_passages, dim), aligned with ``passages``
    sentence_passage: np.ndarray  # (n_sentences,) index into ``passages``
    sentence_spans: np.ndarray  # (n_sentences, 2) character spans inside the passage text
    sentence_vectors: np.ndarray  # (n_sentences, dim); memory-mapped in compact mode
    # passage i's sentences are rows sentence_offsets[i]:sentence_offsets[i+1] (sentence_passage is sorted)
    sentence_offsets: np.ndarray | None = None
    dense: DenseIndex | None = None  # how passages are searched: exact, or compact (vector_store.py)
    vectors: int = 0  # stored vectors of the generation (passage + folded + sentence rows)

    def __post_init__(self) -> None:
        if self.sentence_offsets is None:
            counts = np.bincount(np.asarray(self.sentence_passage, dtype=np.int64), minlength=len(self.passages))
            self.sentence_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if self.dense is None:
            self.dense = ExactDense(self.passage_vectors)
        # per-question lookups that used to scan every passage: built once per generation
        self.positions: dict[str, int] = {p.id: i for i, p in enumerate(self.passages)}
        self._by_doc: dict[str, list[Passage]] | None = None

    @property
    def dense_mode(self) -> str:
        return self.dense.mode if self.dense is not None else "exact"

    def sentence_rows(self, i: int) -> slice:
        """Rows of passage ``i``'s sentences in ``sentence_vectors`` / ``sentence_spans``."""
        assert self.sentence_offsets is not None
        return slice(int(self.sentence_offsets[i]), int(self.sentence_offsets[i + 1]))

    def doc_passages(self, doc_id: str) -> list[Passage]:
        if self._by_doc is None:
            by_doc: dict[str, list[Passage]] = {}
            for p in self.passages:
                by_doc.setdefault(p.doc_id, []).append(p)
            self._by_doc = by_doc
        return list(self._by_doc.get(doc_id, ()))


def make_client(settings: Settings) -> Any:
    """Embedded ``PersistentClient`` by default, ``HttpClient`` when a server URL is configured."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


LATE_CONTEXT = 0.5  # share of the passage vector taken out of a late-chunked sentence vector


def late_calibrated(sentence: np.ndarray, passage: np.ndarray) -> np.ndarray:
    """A late-chunked sentence vector with part of its passage's vector taken out.

    Pooled from the passage's own contextual tokens, every sentence of a passage points close to the
    passage, so the rerank cannot tell them apart; removing half the passage direction restores it
    (gold set, late sentences: period accuracy 0.806 -> 0.871, key facts 0.815 -> 0.822; 0.7 and 0.85
    did worse, docs/benchmarks.md).
    """
    v = sentence - LATE_CONTEXT * passage
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


def _snapshot_search(snap: Snapshot, vector: np.ndarray, k: int,
                     where: dict[str, Any] | None) -> list[tuple[str, float]]:
    """The snapshot's own dense search (exact or compact, by size) with ``where`` as a row mask."""
    if not snap.passages or snap.dense is None:
        return []
    keep = None
    if where:
        keep = np.ones(len(snap.passages), dtype=bool)
        for key, value in where.items():
            allowed = {str(v) for v in value} if isinstance(value, list | tuple | set) else {str(value)}
            keep &= np.fromiter((str(getattr(p, key, "")) in allowed for p in snap.passages), bool, len(snap.passages))
    rows, sims = snap.dense.search(vector, k, keep)
    return [(snap.passages[i].id, float(s)) for i, s in zip(rows, sims, strict=True)]


class KnowledgeIndex:
    """Owns the Chroma client, the active snapshot and ingestion for one collection name."""

    def __init__(self, settings: Settings, embedder: Any | None = None, collection: str | None = None,
                 fold_vectors: bool | None = None, late_sentences: bool | None = None) -> None:
        self.settings = settings
        self.name = collection or settings.collection
        # which vectors each passage gets: settings by default (docs/benchmarks.md, ablation)
        self.fold_vectors = settings.folded_vectors if fold_vectors is None else fold_vectors
        self.late_sentences = settings.sentence_vectors == "late" if late_sentences is None else late_sentences
        self._embedder = embedder
        self._client: Any | None = None
        self._snapshot: Snapshot | None = None
        self._lock = threading.RLock()
        self._write_lock: Any | None = None  # the ingest FileLock (per thread, re-entrant): ``writing``
        self._checked_at = 0.0
        self.pointer_ttl = 1.0  # seconds a reader trusts its snapshot before re-reading the pointer

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from assistant.embeddings import get_embedder

            self._embedder = get_embedder(self.settings)
        return self._embedder

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                self._client = make_client(self.settings)
            except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
                if is_disk_full(exc):  # opening the embedded store writes to it: a full disk is storage_full
                    raise disk_full_error(self.settings.data_dir, exc) from exc
                raise StoreUnavailableError(f"Kho dữ liệu Chroma không truy cập được: {exc}",
                                            f"Chroma store unavailable: {exc}") from exc
        return self._client

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store call ``fn(*args)``, turning connection failures into StoreUnavailableError."""
        try:
            return fn(*args)
        except IndexStoreError:
            raise
        except Exception as exc:
            if self.settings.chroma_url and _looks_like_connection_error(exc):
                self._client = None  # reconnect on the next call
                raise StoreUnavailableError(
                    f"Không kết nối được máy chủ Chroma tại {self.settings.chroma_url}: {exc}",
                    f"Chroma server unreachable at {self.settings.chroma_url}: {exc}") from exc
            raise

    @property
    def meta_name(self) -> str:
        return f"{self.name}__meta"

    def _gen_name(self, generation: int) -> str:
        return f"{self.name}__g{generation:04d}"

    def _pointer(self) -> dict[str, Any]:
        """The pointer metadata, or {} when nothing was ever ingested."""

        def read() -> dict[str, Any]:
            try:
                col = self.client.get_collection(self.meta_name, embedding_function=None)
            except Exception as exc:
                if _looks_like_not_found(exc):
                    return {}
                raise
            return dict(col.metadata or {})

        return dict(self._call(read))

    def _set_pointer(self, meta: dict[str, Any]) -> None:
        def write() -> None:
            col = self.client.get_or_create_collection(self.meta_name, embedding_function=None,
                                                       metadata={"active": ""})
            col.modify(metadata=meta)

        self._call(write)

    def _collection(self, name: str) -> Any:
        return self._call(lambda: self.client.get_collection(name, embedding_function=self.embedder.as_chroma()))

    def _generation_names(self) -> list[tuple[int, str]]:
        names = self._call(lambda: [c if isinstance(c, str) else c.name for c in self.client.list_collections()])
        out = []
        for n in names:
            if n.startswith(self.name + "__g"):
                m = _GEN_RE.search(n)
                if m:
                    out.append((int(m.group(1)), n))
        return sorted(out)

    def bm25_path(self, generation: int) -> Path:
        return self.settings.bm25_dir / self.name / f"g{generation:04d}"

    # --- reading ----------------------------------------------------------------------------
    def ping(self) -> bool:
        try:
            self._call(lambda: self.client.heartbeat())
            return True
        except Exception:
            return False

    def stats(self) -> dict[str, Any]:
        p = self._pointer()
        return {
            "generation": int(p.get("generation", 0) or 0),
            "documents": int(p.get("documents", 0) or 0),
            "passages": int(p.get("passages", 0) or 0),
            "model": p.get("model", ""),
            "updated_at": p.get("updated_at", ""),
            "vectors": int(p.get("vectors", 0) or 0),
        }

    def search_info(self, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """How dense search runs: the loaded snapshot's mode, else the one its size implies (for /health)."""
        stats = stats if stats is not None else self.stats()
        snap = self._snapshot
        if snap is not None and snap.generation == stats["generation"]:
            mode, vectors = snap.dense_mode, snap.vectors
        else:
            vectors = stats["vectors"]
            mode = self.dense_mode(vectors) if vectors else "exact"
        return {"dense": mode, "vectors": vectors, "setting": self.settings.dense_search,
                "compact_from_vectors": self.settings.compact_from_vectors}

    def exists(self) -> bool:
        return bool(self._pointer().get("active"))

    def snapshot(self, refresh: bool = False) -> Snapshot:
        """The active generation, loaded once and re-checked against the pointer at most every second."""
        with self._lock:
            now = time.monotonic()
            if self._snapshot is not None and not refresh and now - self._checked_at < self.pointer_ttl:
                return self._snapshot
            pointer = self._pointer()
            self._checked_at = now
            if not pointer.get("active"):
                raise IndexStoreError("Chỉ mục trống: hãy chạy `kiemnhiem ingest`.",
                                      "The index is empty: run `kiemnhiem ingest`.")
            gen = int(pointer["generation"])
            if self._snapshot is not None and self._snapshot.generation == gen:
                return self._snapshot
            self._check_model(pointer)
            self._snapshot = self._load_snapshot(pointer)
            return self._snapshot

    def _check_model(self, pointer: dict[str, Any]) -> None:
        built_with = pointer.get("model", "")
        if built_with and built_with != self.embedder.model_id:
            raise ModelMismatchError(
                f"Chỉ mục '{self.name}' được xây bằng mô hình {built_with}, khác mô hình hiện tại "
                f"{self.embedder.model_id}; chạy `kiemnhiem ingest --rebuild`.",
                f"The index was built with another embedding model ({built_with}); run `kiemnhiem ingest --rebuild`."
            )

    def _load_snapshot(self, pointer: dict[str, Any]) -> Snapshot:
        gen = int(pointer["generation"])
        name = str(pointer["active"])
        col = self._collection(name)
        vectors = int(pointer.get("vectors") or 0) or int(self._call(col.count))
        if self.dense_mode(vectors) == "compact":
            try:
                return self._load_compact(pointer, col, vectors)
            except OSError as exc:  # e.g. a read-only data dir on a worker host: the in-memory path still works
                log.warning("compact vector store unavailable (%s): exact search in memory", exc)
        rows = self._passage_rows(col, embeddings=True)
        passages = [Passage.from_record(str(meta["passage_id"]), doc or "", meta) for doc, meta, _ in rows]
        dim = self.embedder.dim
        pvec = np.asarray([r[2] for r in rows], dtype=np.float32).reshape(len(rows), dim)
        ids = [p.id for p in passages]
        pos = {pid: i for i, pid in enumerate(ids)}
        sents = self._get_all(col, {"variant": "sent"}, ["metadatas", "embeddings"])
        order = sorted(range(len(sents["ids"])), key=lambda i: (pos.get(str(sents["metadatas"][i]["passage_id"]), -1),
                                                              int(sents["metadatas"][i]["start"])))
        order = [i for i in order if str(sents["metadatas"][i]["passage_id"]) in pos]
        s_pass = np.asarray([pos[str(sents["metadatas"][i]["passage_id"])] for i in order], dtype=np.int64)
        s_span = np.asarray([[int(sents["metadatas"][i]["start"]), int(sents["metadatas"][i]["end"])] for i in order],
                            dtype=np.int64).reshape(len(order), 2)
        s_vec = np.asarray([sents["embeddings"][i] for i in order], dtype=np.float32).reshape(len(order), dim)
        return Snapshot(gen, name, str(pointer.get("model", "")), passages, {p.id: p for p in passages},
                        self._bm25_for(gen, passages), _documents_of(passages), pvec, s_pass, s_span, s_vec,
                        vectors=vectors)

    def dense_mode(self, vectors: int) -> str:
        """``exact`` or ``compact`` for a generation of ``vectors`` stored vectors (Settings.dense_search)."""
        return choose_mode(vectors, self.settings.dense_search, self.settings.compact_from_vectors)

    def _passage_rows(self, col: Any, embeddings: bool) -> list[tuple[Any, ...]]:
        """The written passages' (text, metadata[, vector]) rows in snapshot order: by document, then ordinal."""
        include = ["documents", "metadatas", *(["embeddings"] if embeddings else [])]
        got = self._get_all(col, {"variant": "orig"}, include)
        cols = [got["documents"], got["metadatas"], *([got["embeddings"]] if embeddings else [])]
        return sorted(zip(*cols, strict=True), key=lambda r: (str(r[1]["doc_id"]), int(r[1].get("ordinal", 0))))

    def _get_all(self, col: Any, where: dict[str, Any], include: list[str], page: int = 5000) -> dict[str, list[Any]]:
        """Every row matching ``where``, read in pages: one ``get`` of ~30,000 rows or more fails inside
        Chroma ("too many SQL variables", measured at 100,000 stored vectors)."""
        out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
        offset = 0
        while True:
            got = self._call(lambda o: col.get(where=where, include=include, limit=page, offset=o), offset)
            for key in out:
                out[key].extend(got[key] if got[key] is not None else [])
            if len(got["ids"]) < page:
                return out
            offset += page

    def _bm25_for(self, gen: int, passages: list[Passage]) -> BM25Index:
        ids = [p.id for p in passages]
        bm25 = BM25Index.load(self.bm25_path(gen))
        if bm25 is None or bm25.generation != str(gen) or bm25.ids != ids:
            # another host ingested, or the cache was lost: BM25 is derived, so rebuild it from Chroma
            bm25 = BM25Index.build(ids, [p.text for p in passages], str(gen))
            try:
                bm25.save(self.bm25_path(gen))
            except OSError as exc:  # read-only data dir on a worker host is fine
                log.warning("could not persist BM25 index: %s", exc)
        return bm25

    def _load_compact(self, pointer: dict[str, Any], col: Any, vectors: int) -> Snapshot:
        """A large generation: passage texts from Chroma, vectors memory-mapped from its vector store."""
        gen, name, model = int(pointer["generation"]), str(pointer["active"]), str(pointer.get("model", ""))
        rows = self._passage_rows(col, embeddings=False)
        passages = [Passage.from_record(str(meta["passage_id"]), doc or "", meta) for doc, meta in rows]
        store = self.vector_store(gen, name, model, [p.id for p in passages], vectors)
        dense = store.dense()
        offsets = store.sentence_offsets
        s_pass = np.repeat(np.arange(len(passages), dtype=np.int64), np.diff(offsets))
        return Snapshot(gen, name, model, passages, {p.id: p for p in passages}, self._bm25_for(gen, passages),
                        _documents_of(passages), store.passage_vectors, s_pass, store.sentence_spans,
                        store.sentence_vectors, sentence_offsets=offsets, dense=dense, vectors=vectors)

    def vectors_path(self, generation: int) -> Path:
        return self.settings.vectors_dir / self.name / f"g{generation:04d}"

    def vector_store(self, gen: int, name: str, model: str, ids: list[str], vectors: int) -> StoredVectors:
        """The memory-mapped vectors of generation ``gen``: opened, or written once from Chroma.

        Written by the ingest before it flips the pointer, so workers normally only open it; a worker that
        finds none (another host ingested, or the folder was lost) writes it, one process at a time.
        """
        from filelock import FileLock

        directory = self.vectors_path(gen)
        store = open_store(directory, gen, model)
        if store is not None and store.ids == ids:
            return store
        directory.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(directory.parent / ".write.lock"), timeout=1800):
            store = open_store(directory, gen, model)
            if store is not None and store.ids == ids:
                return store
            return self._write_vector_store(gen, name, model, ids, vectors)

    def _write_vector_store(self, gen: int, name: str, model: str, ids: list[str], vectors: int,
                            page: int = 5000) -> StoredVectors:
        t0 = time.perf_counter()
        col = self._collection(name)
        writer = StoreWriter(self.vectors_path(gen), ids, self.embedder.dim, gen, model,
                             sentences=max(vectors - len(ids), 0))
        try:
            for variant in ("orig", "sent"):
                offset = 0
                while True:
                    got = self._call(lambda v, o: col.get(where={"variant": v}, include=["metadatas", "embeddings"],
                                                          limit=page, offset=o), variant, offset)
                    if not len(got["ids"]):
                        break
                    metas = got["metadatas"]
                    if variant == "orig":
                        writer.add_passages([str(m["passage_id"]) for m in metas], got["embeddings"])
                    else:
                        writer.add_sentences([str(m["passage_id"]) for m in metas],
                                             [(int(m["start"]), int(m["end"])) for m in metas], got["embeddings"])
                    offset += len(got["ids"])
            store = writer.commit()
        except BaseException:
            writer.abort()
            raise
        log.info("vector store g%04d: %d passages, %d sentences written in %.1f s", gen, len(ids),
                 len(store.sentence_vectors), time.perf_counter() - t0)
        return store

    def dense_search(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None,
                     folded: bool = False) -> list[tuple[str, float]]:
        """Nearest passages by cosine similarity: ``[(passage_id, similarity)]``.

        The written passages are searched in the snapshot: it already holds every passage vector
        (the rerank reads them), an exact dot product over them costs less than a round trip to
        Chroma (~15 ms of a ~60 ms answer), is exact rather than approximate, and answers from the
        snapshot's own generation. Folded copies, which the snapshot does not hold, are queried in Chroma.
        """
        snap = self.snapshot()
        if not (folded and self.fold_vectors):
            return _snapshot_search(snap, np.asarray(vector, dtype=np.float32), k, where)
        clauses: list[dict[str, Any]] = [{"variant": "fold"}]  # the written passages were searched above
        for key, value in (where or {}).items():
            clauses.append({key: {"$in": list(value)}} if isinstance(value, list | tuple | set) else {key: value})
        flt = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        col = self._collection(snap.collection_name)
        n = min(k, max(1, len(snap.passages)))
        res = self._call(lambda: col.query(query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                                           n_results=n, where=flt, include=["distances", "metadatas"]))
        out = []
        for meta, dist in zip(res["metadatas"][0], res["distances"][0], strict=True):
            out.append((str(meta["passage_id"]), 1.0 - float(dist)))
        return out

    # --- writing ----------------------------------------------------------------------------
    @contextmanager
    def writing(self, lock_timeout: float = 300.0) -> Iterator[None]:
        """Hold the ingest lock (one writer per data dir, across processes); re-entrant in the same thread, so
        a change to the sources and the ingest that follows it happen under one lock. Whoever takes it first
        puts back the upload folders of a change that was interrupted (``assistant.uploads.recover``)."""
        from filelock import FileLock, Timeout

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._write_lock is None:
                self._write_lock = FileLock(str(self.settings.lock_path))
        lock = self._write_lock
        first = not lock.is_locked
        try:
            lock.acquire(timeout=lock_timeout)
        except Timeout as exc:
            raise IngestBusyError(
                f"Một tiến trình ingest khác đang chạy (khóa {self.settings.lock_path}).",
                f"Another ingest is running (lock {self.settings.lock_path}); try again when it finishes."
            ) from exc
        try:
            if first:
                recover_uploads(self.settings.uploads_path)
            yield
        finally:
            lock.release()

    def ingest(self, paths: Sequence[Path], *, rebuild: bool = False, strict: bool = False,
               progress: ProgressFn | None = None, lock_timeout: float = 300.0,
               documents: Iterable[Document] | None = None,
               _fail_after_batches: int | None = None) -> IngestReport:
        """Bring the index in line with ``paths`` (or given documents); see the module docstring."""
        with self.writing(lock_timeout):
            try:
                return self._ingest_locked(paths, rebuild=rebuild, strict=strict,
                                           progress=progress or progress_logger(), documents=documents,
                                           fail_after=_fail_after_batches)
            except Exception as exc:
                if is_disk_full(exc) and not isinstance(exc, KiemnhiemError):
                    raise disk_full_error(self.settings.data_dir, exc) from exc  # storage_full, not a traceback
                raise

    def _ingest_locked(self, paths: Sequence[Path], *, rebuild: bool, strict: bool,
                       progress: ProgressFn | None, documents: Iterable[Document] | None,
                       fail_after: int | None) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport()
        phases = report.phases
        tick = t0

        def phase(name: str) -> None:
            nonlocal tick
            now = time.perf_counter()
            phases[name] = phases.get(name, 0.0) + now - tick
            tick = now

        if documents is None:
            docs, errors = iter_documents(list(paths), follow_symlinks=self.settings.follow_symlinks,
                                          max_bytes=self.settings.max_source_bytes)
        else:
            docs, errors = list(documents), []
        seen: dict[str, str] = {}
        unique_docs = []
        for d in docs:
            if d.id in seen:
                errors.append(LoadError(Path(d.path), f"id '{d.id}' trùng với {seen[d.id]}",
                                        en=f"duplicate id '{d.id}' (already used by {seen[d.id]})"))
                continue
            seen[d.id] = d.path
            unique_docs.append(d)
        report.errors = [str(e) for e in errors]
        if errors and strict:
            raise IngestError(f"{len(errors)} tệp lỗi; chỉ mục không thay đổi (--strict).",
                              f"{len(errors)} file(s) failed; the index was not changed (--strict).", errors)
        report.documents = len(unique_docs)
        report.warnings = [w for d in unique_docs for w in screen_document(d)]

        state_key = self._state_key(unique_docs)
        load_errors = list(report.errors)
        if not rebuild and self._unchanged_since_last_ingest(state_key, report):
            phase("load")
            report.seconds = time.perf_counter() - t0
            return report

        pointer = self._pointer()
        if pointer.get("active") and not rebuild:
            self._check_model(pointer)
        old_gen = int(pointer.get("generation", 0) or 0)
        generations = self._generation_names()
        stored = Stored()
        if pointer.get("active"):
            old_col = self._collection(str(pointer["active"]))
            got = self._call(lambda: old_col.get(include=["metadatas", "documents"]))
            stored = stored_from_rows(got["metadatas"], got["documents"])
            if rebuild:
                stored = Stored(passage_hashes=stored.passage_hashes)
        leftovers = [(g, n) for g, n in generations if n != pointer.get("active") and g > old_gen]
        if not rebuild:
            # a generation left behind by a failed or killed ingest: its vectors are still good
            for _, name in leftovers:
                try:
                    got = self._call(lambda n: self._collection(n).get(include=["metadatas"]), name)
                except Exception:  # noqa: BLE001 - a broken leftover is simply not reused
                    continue
                stored.vector_keys.update(f'{m.get("variant")}:{m.get("text_hash")}' for m in got["metadatas"])
        phase("load")

        embedder = self.embedder
        the_plan = plan(unique_docs, stored,
                        lambda d: chunk_document(d, max_tokens=MAX_TOKENS, count_tokens=embedder.token_count),
                        salt=chunker_signature(MAX_TOKENS), fold_vectors=self.fold_vectors,
                        late_sentences=self.late_sentences, rechunk=rebuild)
        phase("chunk")
        indexed = {p.doc_id for p in the_plan.passages}
        for d in [d for d in unique_docs if d.id not in indexed]:
            # counted as a document but never indexed: say so, naming the file
            unique_docs.remove(d)
            empty = LoadError(Path(d.path), "không tạo được đoạn nào để lập chỉ mục", en="yields no passage to index")
            if strict:
                raise IngestError(f"{empty.where()}: {empty.message_vi}; chỉ mục không thay đổi (--strict).",
                                  f"{empty.where()}: {empty.message_en}; the index was not changed (--strict).",
                                  [*errors, empty])
            report.errors.append(str(empty))
        report.documents = len(unique_docs)
        report.passages = len(the_plan.passages)
        report.added, report.updated = the_plan.added, the_plan.updated
        report.removed, report.unchanged = the_plan.removed, the_plan.unchanged
        report.vectors = len(the_plan.records)

        if (pointer.get("active") and not rebuild and not the_plan.changed
                and self._bm25_consistent(old_gen, the_plan.passages)):
            self._cleanup(keep={old_gen, old_gen - 1}, generations=generations)
            report.generation = old_gen
            self._write_state(state_key, report, load_errors)
            report.seconds = time.perf_counter() - t0
            phase("swap")
            return report

        self._state_path.unlink(missing_ok=True)  # the index is about to change: the cached state is void

        if not self.settings.chroma_url:  # a generation is a full copy: refuse before writing, not half-way
            check_room(self.settings.chroma_dir, tree_bytes(self.settings.chroma_dir) + MIN_FREE_BYTES)
        gen = max([old_gen, *[g for g, _ in generations]]) + 1
        name = self._gen_name(gen)
        self._write_generation(name, gen, the_plan, [pointer.get("active"), *[n for _, n in leftovers]],
                               progress=progress, fail_after=fail_after, phase=phase)
        report.embedded = the_plan.embedded_passages
        report.embedded_vectors = len(the_plan.embed_keys)
        passages = the_plan.passages
        BM25Index.build([p.id for p in passages], [p.text for p in passages], str(gen)).save(self.bm25_path(gen))
        phase("bm25")
        if self.dense_mode(len(the_plan.records)) == "compact":
            # written before the pointer flips, so workers that swap to this generation only open it
            ids = [str(meta["passage_id"]) for _, meta in self._passage_rows(self._collection(name), embeddings=False)]
            self.vector_store(gen, name, embedder.model_id, ids, len(the_plan.records))
            phase("vectors")
        self._set_pointer({
            "active": name,
            "generation": gen,
            "model": embedder.model_id,
            "documents": len(unique_docs),
            "passages": len(passages),
            "vectors": len(the_plan.records),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        self._cleanup(keep={gen, old_gen}, generations=[*generations, (gen, name)])
        with self._lock:
            self._snapshot = None
        phase("swap")
        report.generation = gen
        self._write_state(state_key, report, load_errors)
        report.seconds = time.perf_counter() - t0
        return report

    # --- the last ingest's outcome, so a re-ingest with nothing changed needs no store -------
    @property
    def _state_path(self) -> Path:
        return self.settings.data_dir / f"{self.name}.ingest-state.json"

    def _state_key(self, docs: Sequence[Document]) -> str:
        """Everything that decides the next generation, except the store: the documents' content hashes,
        the chunker's code, which vectors are kept and the model's manifest."""
        salt = chunker_signature(MAX_TOKENS)
        try:
            model = hashlib.sha256((self.settings.model_dir / "kiemnhiem_manifest.json").read_bytes()).hexdigest()
        except OSError:
            model = ""
        payload = [salt, self.name, self.fold_vectors, self.late_sentences, model,
                   sorted((d.id, document_hash(d, salt)) for d in docs)]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

    def _unchanged_since_last_ingest(self, key: str, report: IngestReport) -> bool:
        """True (and ``report`` filled) when the embedded store was last written by an ingest of exactly
        these documents with these settings, whose generation and BM25 file are still there.

        Skips opening Chroma and reading every row (~0.7 s of a ~1.4 s no-op re-ingest). Only for the
        embedded store: a Chroma server may be written by other data dirs. Every ingest that changes the
        index deletes the state file before writing, so a stale state cannot claim a newer index.
        """
        if self.settings.chroma_url:
            return False
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
            gen = int(state["generation"])
            ok = (state.get("key") == key and self.bm25_path(gen).exists()
                  and (self.settings.chroma_dir / "chroma.sqlite3").exists())
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if ok:
            report.generation, report.passages, report.vectors = gen, int(state["passages"]), int(state["vectors"])
            report.unchanged = report.passages
            report.documents = int(state["documents"])
            report.errors.extend(str(e) for e in state.get("plan_errors", []))  # documents that yield no passage
        return ok

    def _write_state(self, key: str, report: IngestReport, load_errors: Sequence[str]) -> None:
        state = {"key": key, "generation": report.generation, "documents": report.documents,
                 "passages": report.passages, "vectors": report.vectors,
                 "plan_errors": [e for e in report.errors if e not in load_errors],
                 "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
        tmp = self._state_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self._state_path)
        except OSError as exc:  # only a cache: the next re-ingest takes the full path
            log.warning("could not write %s: %s", self._state_path, exc)

    def _write_generation(self, name: str, gen: int, the_plan: IngestPlan, sources: Sequence[str | None], *,
                          progress: ProgressFn | None, fail_after: int | None,
                          phase: Callable[[str], None]) -> None:
        """Write every record of ``the_plan`` into collection ``name`` as vectors become available.

        Reusable vectors go first, in large batches; new vectors are embedded in one length-sorted
        pass and flushed every :data:`FLUSH_VECTORS` vectors, so an interrupted ingest leaves a
        generation whose vectors the next run harvests instead of recomputing.
        """
        embedder = self.embedder
        records = the_plan.records
        col = self._call(lambda: self.client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": embedder.model_id, "generation": gen},
            embedding_function=embedder.as_chroma(),
        ))
        batch_limit = min(STORE_BATCH, self._max_batch())
        calls = [0]
        written = [0]

        def upsert(idx: list[int], vectors: dict[str, Any]) -> None:
            for start in range(0, len(idx), batch_limit):
                part = idx[start : start + batch_limit]
                if fail_after is not None and calls[0] >= fail_after:
                    raise IngestError("lỗi giả lập (kiểm thử) khi nạp", "injected failure (test) during ingest")
                self._call(lambda p: col.upsert(
                    ids=[records[i].record_id for i in p],
                    embeddings=np.asarray([vectors[records[i].key] for i in p], dtype=np.float32),
                    documents=[records[i].document for i in p],
                    metadatas=[records[i].meta for i in p],
                ), part)
                calls[0] += 1
                written[0] += len(part)
                if progress:
                    progress("store", written[0], len(records))

        missing = set(the_plan.missing)
        reuse_idx = [i for i in range(len(records)) if i not in missing]
        if reuse_idx:
            reuse = self._harvest({records[i].key for i in reuse_idx}, sources)
            phase("load")
            upsert(reuse_idx, reuse)
            phase("store")
        keys = the_plan.embed_keys
        if keys:
            first: dict[str, int] = {}
            waiting: dict[str, list[int]] = {}
            for i in the_plan.missing:
                first.setdefault(records[i].key, i)
                waiting.setdefault(records[i].key, []).append(i)
            # late-chunked sentences come from their passage's forward pass, which also yields the
            # passage vector; everything else is embedded on its own text
            late: dict[str, list[tuple[str, tuple[int, int]]]] = {}
            for k in keys:
                r = records[first[k]]
                if r.span is not None:
                    late.setdefault(r.embed_text, []).append((k, r.span))
            late_orig = {f"orig:{text_hash(t)}" for t in late}
            alone = [k for k in keys if records[first[k]].span is None and k not in late_orig]
            total = len(late) + len(alone)
            fresh: dict[str, Any] = {}
            pending: list[int] = []

            def take(key: str, vec: Any) -> None:
                fresh[key] = vec
                pending.extend(waiting.get(key, ()))

            def flush(force: bool = False) -> None:
                nonlocal pending
                if force or len(pending) >= FLUSH_VECTORS:
                    phase("embed")
                    upsert(pending, fresh)
                    pending = []
                    phase("store")

            if not getattr(embedder, "loaded", True):
                _ = embedder.model  # loaded only now that something needs embedding
                phase("model")
            if late:
                texts = list(late)
                on_late = (lambda d, _t: progress("embed", d, total)) if progress else None
                for group, pvecs, svecs in embedder.iter_encode_late(
                        texts, [[sp for _, sp in late[t]] for t in texts], progress=on_late):
                    for j, pv, sv in zip(group, pvecs, svecs, strict=True):
                        take(f"orig:{text_hash(texts[j])}", pv)
                        for (k, _), v in zip(late[texts[j]], sv, strict=True):
                            take(k, late_calibrated(v, pv))
                    flush()
            if alone:
                on_alone = (lambda d, _t: progress("embed", len(late) + d, total)) if progress else None
                for group, vecs in embedder.iter_encode([records[first[k]].embed_text for k in alone],
                                                        progress=on_alone):
                    for j, v in zip(group, vecs, strict=True):
                        take(alone[j], v)
                    flush()
            flush(force=True)
        count = self._call(col.count)
        if count != len(records):
            raise IngestError(f"Chroma giữ {count} bản ghi, cần {len(records)}; chỉ mục không được chuyển.",
                              f"Chroma holds {count} records, expected {len(records)}; the index was not switched.")

    def _harvest(self, keys: set[str], sources: Sequence[str | None]) -> dict[str, Any]:
        """Stored vectors for ``keys`` from the named generations (active first, then leftovers)."""
        out: dict[str, Any] = {}
        for name in sources:
            if not name or len(out) == len(keys):
                continue
            try:
                got = self._call(lambda n: self._collection(n).get(include=["metadatas", "embeddings"]), name)
            except Exception:  # noqa: BLE001 - a broken leftover is simply not reused
                continue
            for meta, emb in zip(got["metadatas"], got["embeddings"], strict=True):
                key = f'{meta.get("variant")}:{meta.get("text_hash")}'
                if key in keys:
                    out.setdefault(key, emb)
        lost = keys - set(out)
        if lost:  # planned as stored but gone (a leftover deleted meanwhile): the plan is stale
            raise IngestError(f"{len(lost)} vectơ đã lưu biến mất trong khi nạp; hãy chạy lại.",
                              f"{len(lost)} stored vectors disappeared during ingest; run it again.")
        return out

    def _max_batch(self) -> int:
        try:
            return int(self._call(lambda: self.client.get_max_batch_size()))
        except Exception:  # noqa: BLE001 - older servers: a conservative default
            return 1000

    def _bm25_consistent(self, gen: int, passages: list[Passage]) -> bool:
        bm = BM25Index.load(self.bm25_path(gen))
        return bm is not None and bm.generation == str(gen) and sorted(bm.ids) == sorted(p.id for p in passages)

    def _cleanup(self, keep: set[int], generations: list[tuple[int, str]]) -> None:
        """Drop generations other than the active one and its predecessor (kept for readers mid-query)."""
        for g, n in generations:
            if g not in keep:
                try:
                    self._call(lambda n: self.client.delete_collection(n), n)
                except Exception as exc:  # noqa: BLE001
                    log.warning("could not delete old generation %s: %s", n, exc)
        if not self.settings.chroma_url:
            self._remove_orphan_segment_dirs()
        root = self.settings.bm25_dir / self.name
        if root.exists():
            for d in root.iterdir():
                m = re.fullmatch(r"g(\d{4,})(\.old)?", d.name)
                if d.name.startswith(".bm25-") or (m and int(m.group(1)) not in keep):
                    shutil.rmtree(d, ignore_errors=True)
        vroot = self.settings.vectors_dir / self.name
        if vroot.exists():
            for d in vroot.iterdir():
                m = re.fullmatch(r"g(\d{4,})(\.old)?", d.name)
                if m and int(m.group(1)) not in keep:
                    shutil.rmtree(d, ignore_errors=True)

    def _remove_orphan_segment_dirs(self) -> None:
        """Embedded Chroma keeps the folder of a deleted collection's vector segment: remove folders that no
        segment in ``chroma.sqlite3`` refers to any more (we hold the ingest lock, so none is being made)."""
        import sqlite3

        db = self.settings.chroma_dir / "chroma.sqlite3"
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0) as conn:
                live = {str(r[0]) for r in conn.execute("SELECT id FROM segments")}
        except sqlite3.Error as exc:
            log.warning("could not list Chroma segments: %s", exc)
            return
        for d in self.settings.chroma_dir.iterdir():
            if d.is_dir() and _UUID_RE.fullmatch(d.name) and d.name not in live:
                shutil.rmtree(d, ignore_errors=True)

    def drop(self) -> None:
        """Delete every collection of this index (used by tests and `--rebuild` from scratch)."""
        for _, n in self._generation_names():
            self._call(lambda n: self.client.delete_collection(n), n)
        try:
            self._call(lambda: self.client.delete_collection(self.meta_name))
        except Exception as exc:  # noqa: BLE001
            if not _looks_like_not_found(exc):
                raise
        shutil.rmtree(self.settings.bm25_dir / self.name, ignore_errors=True)
        shutil.rmtree(self.settings.vectors_dir / self.name, ignore_errors=True)
        self._snapshot = None


def _documents_of(passages: list[Passage]) -> dict[str, dict[str, Any]]:
    """Per-document metadata of a snapshot, with its passage count."""
    documents: dict[str, dict[str, Any]] = {}
    for p in passages:
        d = documents.setdefault(p.doc_id, {
            "id": p.doc_id, "title": p.title, "number": p.number, "kind": p.kind, "status": p.status,
            "issued": p.issued, "effective": p.effective, "issuer": p.issuer, "amended_by": p.amended_by,
            "replaced_by": p.replaced_by, "expired": p.expired, "text_form": p.text_form,
            "passages": 0,
        })
        d["passages"] += 1
    return documents


def _looks_like_not_found(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "notfound" in text or "does not exist" in text or "not found" in text


def _looks_like_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("connect", "connection", "timeout", "timed out", "refused", "unreachable",
                                   "remoteprotocol", "could not connect", "server disconnected"))
