"""The passage store: Chroma (dense) + BM25 (lexical) generations, read through one immutable snapshot.

Why generations: Chroma has no transactions, and a failed or killed ingest must leave the
previous index fully queryable. Each ingest that changes anything writes a complete new
collection ``<name>__gNNNN`` and its BM25 index, and only then flips a pointer (the metadata of
``<name>__meta``); the writing half is :mod:`assistant.ingest.pipeline`. Readers resolve the pointer,
so they always see one complete generation, in embedded mode and against a Chroma server alike.
This module owns that layout: the pointer, the generations, loading a snapshot, dense search over
it and the clean-up of generations no reader needs any more.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from filelock import FileLock, Timeout

from assistant.config import Settings
from assistant.embed.embeddings import get_embedder
from assistant.errors import KiemnhiemError
from assistant.models import Passage
from assistant.search.bm25 import BM25Index
from assistant.search.passage_file import PassageFile, open_passage_file, pointer_stamp, write_passage_file
from assistant.search.vector_store import (
    DenseIndex,
    ExactDense,
    StoredVectors,
    StoreWriter,
    choose_mode,
    open_store,
)
from assistant.storage import disk_full_error, is_disk_full
from assistant.text import DiacriticRestorer, corpus_numbers

log = logging.getLogger(__name__)

_GEN_RE = re.compile(r"__g(\d{4,})$")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class IndexStoreError(KiemnhiemError, RuntimeError):
    """Base class for index errors that users can act on (the index is not ready)."""

    code = "index_unavailable"


class ModelMismatchError(IndexStoreError):
    code = "index_model_mismatch"


class StoreUnavailableError(IndexStoreError):
    """The Chroma server (or embedded store) cannot be reached."""

    code = "store_unavailable"


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
    # the generation's passage folder (passage_file.py): where the restorer's counts are persisted
    passage_file: PassageFile | None = None
    passages_from: str = "chroma"  # where the passage texts were read: "file" or "chroma" (/health)

    def __post_init__(self) -> None:
        if self.sentence_offsets is None:
            counts = np.bincount(np.asarray(self.sentence_passage, dtype=np.int64), minlength=len(self.passages))
            self.sentence_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if self.dense is None:
            self.dense = ExactDense(self.passage_vectors)
        # per-question lookups that used to scan every passage: built once per generation
        self.positions: dict[str, int] = {p.id: i for i, p in enumerate(self.passages)}
        self._by_doc: dict[str, list[Passage]] | None = None
        self._doc_rows: dict[str, np.ndarray] | None = None
        self._restorer: DiacriticRestorer | None = None
        self._numbers: list[str] | None = None

    def restorer(self) -> DiacriticRestorer:
        """The diacritic restorer of this generation: its persisted counts, else built from the passage
        texts (what every worker did at start before the counts were written at ingest: 380 s at 1M)."""
        if self._restorer is None:
            saved = self.passage_file.restorer() if self.passage_file is not None else None
            self._restorer = saved or DiacriticRestorer.from_texts([p.text for p in self.passages])
        return self._restorer

    def corpus_numbers(self) -> list[str]:
        """Every document number the generation holds or mention (``text.corpus_numbers``): persisted in its
        passage folder, else computed from the passages (~80 s at 1M) and added to the folder."""
        if self._numbers is None:
            saved = self.passage_file.numbers() if self.passage_file is not None else None
            if saved is None:
                saved = corpus_numbers((str(d.get("number", "")) for d in self.documents.values()),
                                       ((p.text, p.amended_by) for p in self.passages))
                if self.passage_file is not None:
                    self.passage_file.keep_numbers(saved)
            self._numbers = saved
        return self._numbers

    @property
    def dense_mode(self) -> str:
        return self.dense.mode if self.dense is not None else "exact"

    def sentence_rows(self, i: int) -> slice:
        """Rows of passage ``i``'s sentences in ``sentence_vectors`` / ``sentence_spans``."""
        assert self.sentence_offsets is not None
        return slice(int(self.sentence_offsets[i]), int(self.sentence_offsets[i + 1]))

    def doc_rows(self, doc_ids: Any) -> np.ndarray:
        """Rows (ascending) of every passage of the documents ``doc_ids``: a filter by document without a
        scan of every passage (~50 ms per scan at 144,485 passages)."""
        if self._doc_rows is None:
            rows: dict[str, list[int]] = {}
            for i, p in enumerate(self.passages):
                rows.setdefault(p.doc_id, []).append(i)
            self._doc_rows = {d: np.asarray(r, dtype=np.int64) for d, r in rows.items()}
        parts = [self._doc_rows[d] for d in {str(d) for d in doc_ids} if d in self._doc_rows]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def row_mask(self, key: str, allowed: set[str]) -> np.ndarray:
        """Rows whose passage's ``key`` (as a string) is one of ``allowed``; by document without a scan."""
        if key == "doc_id":
            mask = np.zeros(len(self.passages), dtype=bool)
            mask[self.doc_rows(allowed)] = True
            return mask
        return np.fromiter((str(getattr(p, key, "")) in allowed for p in self.passages), bool, len(self.passages))

    def doc_passages(self, doc_id: str) -> list[Passage]:
        if self._by_doc is None:
            by_doc: dict[str, list[Passage]] = {}
            for p in self.passages:
                by_doc.setdefault(p.doc_id, []).append(p)
            self._by_doc = by_doc
        return list(self._by_doc.get(doc_id, ()))


def make_client(settings: Settings) -> Any:
    """Embedded ``PersistentClient`` by default, ``HttpClient`` when a server URL is configured."""
    import chromadb  # noqa: PLC0415 - chromadb costs ~1 s to import; only opening the store needs it
    from chromadb.config import Settings as ChromaSettings  # noqa: PLC0415 - chromadb costs ~1 s to import; only opening the store needs it

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
            keep &= snap.row_mask(key, allowed)
    rows, sims = snap.dense.search(vector, k, keep)
    return [(snap.passages[i].id, float(s)) for i, s in zip(rows, sims, strict=True)]


class IndexStore:
    """Owns the Chroma client and the active snapshot for one collection name (reading and dense search;
    :class:`assistant.ingest.pipeline.KnowledgeIndex` adds ingestion)."""

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
        self._checked_at = 0.0
        self.pointer_ttl = 1.0  # seconds a reader trusts its snapshot before re-reading the pointer

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def embedder(self) -> Any:
        if self._embedder is None:
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
        out = {"dense": mode, "vectors": vectors, "setting": self.settings.dense_search,
               "compact_from_vectors": self.settings.compact_from_vectors}
        if snap is not None and snap.generation == stats["generation"]:
            out["passages_from"] = snap.passages_from
        return out

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
        vectors = int(pointer.get("vectors") or 0) or int(self._call(self._collection(name).count))
        if self.dense_mode(vectors) == "compact":
            try:
                return self._load_compact(pointer, vectors)
            except OSError as exc:  # e.g. a read-only data dir on a worker host: the in-memory path still works
                log.warning("compact vector store unavailable (%s): exact search in memory", exc)
        # a small generation: every vector is read from Chroma into memory (the path the gold set was measured
        # on); the passage folder, when it is there and matches, only spares the restorer's counts
        col = self._collection(name)
        rows = self._passage_rows(col, embeddings=True)
        passages = [Passage.from_record(str(meta["passage_id"]), doc or "", meta) for doc, meta, _ in rows]
        pfile = open_passage_file(self.passages_path(gen), gen, str(pointer.get("model", "")),
                                  pointer_stamp(pointer), len(passages))
        if pfile is not None:
            same = [t for t, _ in pfile.rows] == [p.text for p in passages]
            pfile = PassageFile([], pfile.directory) if same else None
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
                        vectors=vectors, passage_file=pfile)

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

    def passages_path(self, generation: int) -> Path:
        return self.settings.passages_dir / self.name / f"g{generation:04d}"

    def stored_passages(self, pointer: dict[str, Any],
                        make: Callable[[str, dict[str, Any]], Any] | None = None) -> tuple[PassageFile, str]:
        """The active generation's passage rows from its passage folder, and where they came from.

        A generation written before the folder existed (or whose folder was lost) is read from Chroma once and
        the folder written then, one process at a time; the others wait for it and read the folder. A data dir
        a worker cannot write still serves, from Chroma. ``make(text, metadata)``: what each row becomes.
        """

        def made(rows: list[tuple[str, dict[str, Any]]]) -> list[Any]:
            return [make(t, m) for t, m in rows] if make is not None else list(rows)

        gen, name, model = int(pointer["generation"]), str(pointer["active"]), str(pointer.get("model", ""))
        stamp, count = pointer_stamp(pointer), int(pointer.get("passages") or 0) or None
        directory = self.passages_path(gen)
        found = open_passage_file(directory, gen, model, stamp, count, make)
        if found is not None:
            return found, "file"
        try:
            directory.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(directory.parent / ".write.lock"), timeout=1800):
                found = open_passage_file(directory, gen, model, stamp, count, make)
                if found is not None:
                    return found, "file"
                rows = self._chroma_passage_rows(name)
                t0 = time.perf_counter()
                write_passage_file(directory, gen, model, stamp, rows)
                log.info("passage folder g%04d: %d passages written from Chroma in %.1f s", gen, len(rows),
                         time.perf_counter() - t0)
                return PassageFile(made(rows), directory), "chroma"
        except (OSError, Timeout) as exc:
            log.warning("passage folder %s not written (%s): passages read from Chroma", directory, exc)
            return PassageFile(made(self._chroma_passage_rows(name)), None), "chroma"

    def _chroma_passage_rows(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [(doc or "", meta) for doc, meta in self._passage_rows(self._collection(name), embeddings=False)]

    def write_passages(self, pointer: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Write the passage folder of the generation ``pointer`` names (before the pointer is set) from its
        Chroma rows: the ingest's step, so workers never page passages out of Chroma. Returns the rows."""
        gen, name = int(pointer["generation"]), str(pointer["active"])
        rows = self._chroma_passage_rows(name)
        write_passage_file(self.passages_path(gen), gen, str(pointer.get("model", "")), pointer_stamp(pointer),
                           rows)
        return rows

    def _load_compact(self, pointer: dict[str, Any], vectors: int) -> Snapshot:
        """A large generation: passage texts from its passage folder, vectors memory-mapped from its vector
        store; the embedded Chroma is never read (its segments would stay in every worker's memory)."""
        gen, name, model = int(pointer["generation"]), str(pointer["active"]), str(pointer.get("model", ""))
        pfile, source = self.stored_passages(pointer, lambda text, meta: Passage.from_record(
            str(meta["passage_id"]), text, meta))
        passages: list[Passage] = pfile.rows
        pfile = PassageFile([], pfile.directory)  # the snapshot holds the passages, not a second list
        store = self.vector_store(gen, name, model, [p.id for p in passages], vectors)
        dense = store.dense()
        offsets = store.sentence_offsets
        s_pass = np.repeat(np.arange(len(passages), dtype=np.int64), np.diff(offsets))
        return Snapshot(gen, name, model, passages, {p.id: p for p in passages}, self._bm25_for(gen, passages),
                        _documents_of(passages), store.passage_vectors, s_pass, store.sentence_spans,
                        store.sentence_vectors, sentence_offsets=offsets, dense=dense, vectors=vectors,
                        passage_file=pfile, passages_from=source)

    def vectors_path(self, generation: int) -> Path:
        return self.settings.vectors_dir / self.name / f"g{generation:04d}"

    def vector_store(self, gen: int, name: str, model: str, ids: list[str], vectors: int) -> StoredVectors:
        """The memory-mapped vectors of generation ``gen``: opened, or written once from Chroma.

        Written by the ingest before it flips the pointer, so workers normally only open it; a worker that
        finds none (another host ingested, or the folder was lost) writes it, one process at a time.
        """
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
        for vroot in (self.settings.vectors_dir / self.name, self.settings.passages_dir / self.name):
            if vroot.exists():
                for d in vroot.iterdir():
                    m = re.fullmatch(r"g(\d{4,})(\.old)?", d.name)
                    if m and int(m.group(1)) not in keep:
                        shutil.rmtree(d, ignore_errors=True)

    def _remove_orphan_segment_dirs(self) -> None:
        """Embedded Chroma keeps the folder of a deleted collection's vector segment: remove folders that no
        segment in ``chroma.sqlite3`` refers to any more (we hold the ingest lock, so none is being made)."""
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
        shutil.rmtree(self.settings.passages_dir / self.name, ignore_errors=True)
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
