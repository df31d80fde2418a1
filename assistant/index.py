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
import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.bm25 import BM25Index
from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.documents import LoadError, iter_documents
from assistant.models import Document, Passage
from assistant.text import fold, split_sentences

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
_GEN_RE = re.compile(r"__g(\d{4,})$")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ADD_BATCH = 256
MAX_TOKENS = 480  # leaves room for the "passage: " prefix and specials within 512


class IndexStoreError(RuntimeError):
    """Base class for index errors that users can act on."""


class ModelMismatchError(IndexStoreError):
    pass


class StoreUnavailableError(IndexStoreError):
    """The Chroma server (or embedded store) cannot be reached."""


class IngestError(IndexStoreError):
    def __init__(self, message: str, errors: Sequence[LoadError] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class IngestBusyError(IndexStoreError):
    pass


@dataclass
class IngestReport:
    documents: int = 0
    passages: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    seconds: float = 0.0
    generation: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "passages": self.passages,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }


@dataclass
class _Record:
    """One Chroma record: a passage embedded as written (``orig``) or diacritic-folded (``fold``)."""

    record_id: str
    variant: str
    embed_text: str
    meta: dict[str, Any]
    passage: Passage

    @property
    def key(self) -> str:
        return f"{self.variant}:{self.meta['text_hash']}"


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
    sentence_vectors: np.ndarray  # (n_sentences, dim)

    def doc_passages(self, doc_id: str) -> list[Passage]:
        return [p for p in self.passages if p.doc_id == doc_id]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Quotable sentences of a passage: every sentence after its heading line."""
    first_nl = text.find("\n")
    body_from = first_nl + 1 if first_nl >= 0 else 0
    return [(a, b) for a, b in split_sentences(text) if a >= body_from and len(text[a:b]) >= 12] or (
        [(a, b) for a, b in split_sentences(text)][:1]
    )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


class KnowledgeIndex:
    """Owns the Chroma client, the active snapshot and ingestion for one collection name."""

    def __init__(self, settings: Settings, embedder: Any | None = None, collection: str | None = None,
                 fold_vectors: bool = True) -> None:
        self.settings = settings
        self.name = collection or settings.collection
        self.fold_vectors = fold_vectors
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
            from assistant.embeddings import get_embedder

            self._embedder = get_embedder(self.settings)
        return self._embedder

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                self._client = make_client(self.settings)
            except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
                raise StoreUnavailableError(f"Chroma store unavailable: {exc}") from exc
        return self._client

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run a store call, turning connection failures into StoreUnavailableError."""
        try:
            return fn()
        except IndexStoreError:
            raise
        except Exception as exc:
            if self.settings.chroma_url and _looks_like_connection_error(exc):
                self._client = None  # reconnect on the next call
                raise StoreUnavailableError(f"Chroma server unreachable at {self.settings.chroma_url}: {exc}") from exc
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

        return self._call(read)

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
        }

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
                raise IndexStoreError(
                    "Chỉ mục trống: hãy chạy `kiemnhiem ingest`. / The index is empty: run `kiemnhiem ingest`."
                )
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
                f"{self.embedder.model_id}; chạy `kiemnhiem ingest --rebuild`. / The index was built with "
                f"another embedding model ({built_with}); run `kiemnhiem ingest --rebuild`."
            )

    def _load_snapshot(self, pointer: dict[str, Any]) -> Snapshot:
        gen = int(pointer["generation"])
        name = str(pointer["active"])
        col = self._collection(name)
        got = self._call(lambda: col.get(where={"variant": "orig"}, include=["documents", "metadatas", "embeddings"]))
        rows = sorted(
            zip(got["documents"], got["metadatas"], got["embeddings"], strict=True),
            key=lambda r: (str(r[1]["doc_id"]), int(r[1].get("ordinal", 0))),
        )
        passages = [Passage.from_record(str(meta["passage_id"]), doc or "", meta) for doc, meta, _ in rows]
        dim = self.embedder.dim
        pvec = np.asarray([r[2] for r in rows], dtype=np.float32).reshape(len(rows), dim)
        ids = [p.id for p in passages]
        pos = {pid: i for i, pid in enumerate(ids)}
        sents = self._call(lambda: col.get(where={"variant": "sent"}, include=["metadatas", "embeddings"]))
        order = sorted(range(len(sents["ids"])), key=lambda i: (pos.get(str(sents["metadatas"][i]["passage_id"]), -1),
                                                              int(sents["metadatas"][i]["start"])))
        order = [i for i in order if str(sents["metadatas"][i]["passage_id"]) in pos]
        s_pass = np.asarray([pos[str(sents["metadatas"][i]["passage_id"])] for i in order], dtype=np.int64)
        s_span = np.asarray([[int(sents["metadatas"][i]["start"]), int(sents["metadatas"][i]["end"])] for i in order],
                            dtype=np.int64).reshape(len(order), 2)
        s_vec = np.asarray([sents["embeddings"][i] for i in order], dtype=np.float32).reshape(len(order), dim)
        bm25 = BM25Index.load(self.bm25_path(gen))
        if bm25 is None or bm25.generation != str(gen) or bm25.ids != ids:
            # another host ingested, or the cache was lost: BM25 is derived, so rebuild it from Chroma
            bm25 = BM25Index.build(ids, [p.text for p in passages], str(gen))
            try:
                bm25.save(self.bm25_path(gen))
            except OSError as exc:  # read-only data dir on a worker host is fine
                log.warning("could not persist BM25 index: %s", exc)
        documents: dict[str, dict[str, Any]] = {}
        for p in passages:
            d = documents.setdefault(p.doc_id, {
                "id": p.doc_id, "title": p.title, "number": p.number, "kind": p.kind, "status": p.status,
                "issued": p.issued, "effective": p.effective, "issuer": p.issuer, "amended_by": p.amended_by,
                "replaced_by": p.replaced_by, "expired": p.expired, "text_form": p.text_form,
                "passages": 0,
            })
            d["passages"] += 1
        return Snapshot(gen, name, str(pointer.get("model", "")), passages, {p.id: p for p in passages}, bm25,
                        documents, pvec, s_pass, s_span, s_vec)

    def dense_search(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None,
                     folded: bool = False) -> list[tuple[str, float]]:
        """Nearest passages by cosine similarity: ``[(passage_id, similarity)]``."""
        snap = self.snapshot()
        clauses: list[dict[str, Any]] = [{"variant": "fold" if folded and self.fold_vectors else "orig"}]
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
    def ingest(self, paths: Sequence[Path], *, rebuild: bool = False, strict: bool = False,
               progress: ProgressFn | None = None, lock_timeout: float = 300.0,
               documents: Iterable[Document] | None = None,
               _fail_after_batches: int | None = None) -> IngestReport:
        """Bring the index in line with ``paths`` (or given documents); see the module docstring."""
        from filelock import FileLock, Timeout

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.settings.lock_path))
        try:
            lock.acquire(timeout=lock_timeout)
        except Timeout as exc:
            raise IngestBusyError(
                f"Một tiến trình ingest khác đang chạy (khóa {self.settings.lock_path}). / Another ingest is "
                f"running (lock {self.settings.lock_path}); try again when it finishes."
            ) from exc
        try:
            return self._ingest_locked(paths, rebuild=rebuild, strict=strict, progress=progress,
                                       documents=documents, fail_after=_fail_after_batches)
        finally:
            lock.release()

    def _ingest_locked(self, paths: Sequence[Path], *, rebuild: bool, strict: bool,
                       progress: ProgressFn | None, documents: Iterable[Document] | None,
                       fail_after: int | None) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport()
        if documents is None:
            docs, errors = iter_documents(list(paths), follow_symlinks=self.settings.follow_symlinks,
                                          max_bytes=self.settings.max_source_bytes)
        else:
            docs, errors = list(documents), []
        seen: dict[str, str] = {}
        unique_docs = []
        for d in docs:
            if d.id in seen:
                errors.append(LoadError(Path(d.path), f"id '{d.id}' trùng với {seen[d.id]} / duplicate id"))
                continue
            seen[d.id] = d.path
            unique_docs.append(d)
        report.errors = [str(e) for e in errors]
        if errors and strict:
            raise IngestError(f"{len(errors)} tệp lỗi; chỉ mục không thay đổi (--strict). / {len(errors)} file(s) "
                              "failed; the index was not changed (--strict).", errors)
        embedder = self.embedder
        passages: list[Passage] = []
        for d in list(unique_docs):
            got = chunk_document(d, max_tokens=MAX_TOKENS, count_tokens=embedder.token_count)
            if not got:  # counted as a document but never indexed: say so, naming the file
                unique_docs.remove(d)
                empty = LoadError(Path(d.path), "không tạo được đoạn nào để lập chỉ mục / yields no passage to index")
                if strict:
                    raise IngestError(f"{empty}; chỉ mục không thay đổi (--strict). / the index was not changed.",
                                      [*errors, empty])
                report.errors.append(str(empty))
            passages.extend(got)
        report.documents = len(unique_docs)
        report.passages = len(passages)

        pointer = self._pointer()
        if pointer.get("active") and not rebuild:
            self._check_model(pointer)
        old_gen = int(pointer.get("generation", 0) or 0)
        old: dict[str, str] = {}
        reuse: dict[str, list[float]] = {}
        generations = self._generation_names()
        if pointer.get("active"):
            old_col = self._collection(str(pointer["active"]))
            got = self._call(lambda: old_col.get(include=["metadatas"] + ([] if rebuild else ["embeddings"])))
            for i, meta in enumerate(got["metadatas"]):
                if meta.get("variant") == "orig":
                    old[str(meta["passage_id"])] = str(meta.get("hash", ""))
                if not rebuild:
                    reuse[f'{meta.get("variant")}:{meta.get("text_hash")}'] = got["embeddings"][i]
        if not rebuild:
            # vectors of a generation left behind by a failed or killed ingest are still good
            for gen, name in generations:
                if name != pointer.get("active") and gen > old_gen:
                    try:
                        got = self._call(lambda n=name: self._collection(n).get(include=["metadatas", "embeddings"]))
                    except Exception:  # noqa: BLE001 - a broken leftover is simply not reused
                        continue
                    for meta, emb in zip(got["metadatas"], got["embeddings"], strict=True):
                        reuse.setdefault(f'{meta.get("variant")}:{meta.get("text_hash")}', emb)

        new_ids = {p.id: p.hash for p in passages}
        report.added = sum(1 for pid in new_ids if pid not in old)
        report.updated = sum(1 for pid, h in new_ids.items() if pid in old and old[pid] != h)
        report.unchanged = sum(1 for pid, h in new_ids.items() if old.get(pid) == h)
        report.removed = sum(1 for pid in old if pid not in new_ids)

        if (pointer.get("active") and not rebuild and report.added == report.updated == report.removed == 0
                and self._bm25_consistent(old_gen, passages)):
            self._cleanup(keep={old_gen, old_gen - 1}, generations=generations)
            report.generation = old_gen
            report.seconds = time.perf_counter() - t0
            return report

        # --- build the next generation ------------------------------------------------------
        gen = max([old_gen, *[g for g, _ in generations]]) + 1
        name = self._gen_name(gen)
        records: list[_Record] = []
        for p in passages:
            meta = p.to_metadata()
            meta["passage_id"] = p.id
            variants = [("orig", p.text)] + ([("fold", fold(p.text))] if self.fold_vectors else [])
            for variant, etext in variants:
                m = dict(meta, variant=variant, text_hash=text_hash(etext))
                records.append(_Record(p.id if variant == "orig" else f"{p.id}#fold", variant, etext, m, p))
            for j, (a, b) in enumerate(sentence_spans(p.text)):
                stext = p.text[a:b]
                m = {"variant": "sent", "passage_id": p.id, "doc_id": p.doc_id, "start": a, "end": b,
                     "text_hash": text_hash(stext)}
                records.append(_Record(f"{p.id}#s{j}", "sent", stext, m, p))
        missing = [i for i, r in enumerate(records) if r.key not in reuse]
        vectors: dict[int, np.ndarray] = {}
        bs = self.settings.embed_batch_size
        for start in range(0, len(missing), bs):
            batch = missing[start : start + bs]
            embs = embedder.embed_passages([records[i].embed_text for i in batch])
            for i, e in zip(batch, embs, strict=True):
                vectors[i] = e
            if progress:
                progress("embed", min(start + bs, len(missing)), len(missing))
        report.embedded = len({records[i].passage.id for i in missing})

        col = self._call(lambda: self.client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": embedder.model_id, "generation": gen},
            embedding_function=embedder.as_chroma(),
        ))
        batches = 0
        for start in range(0, len(records), ADD_BATCH):
            chunk = list(range(start, min(start + ADD_BATCH, len(records))))
            if fail_after is not None and batches >= fail_after:
                raise IngestError("injected failure (test) during ingest")
            self._call(lambda c=chunk: col.upsert(
                ids=[records[i].record_id for i in c],
                embeddings=np.asarray([vectors[i] if i in vectors else reuse[records[i].key] for i in c],
                                      dtype=np.float32),
                documents=[records[i].passage.text if records[i].variant != "sent" else records[i].embed_text
                           for i in c],
                metadatas=[records[i].meta for i in c],
            ))
            batches += 1
            if progress:
                progress("store", min(start + ADD_BATCH, len(records)), len(records))
        count = self._call(col.count)
        if count != len(records):
            raise IngestError(f"Chroma holds {count} records, expected {len(records)}; the index was not switched.")
        BM25Index.build([p.id for p in passages], [p.text for p in passages], str(gen)).save(self.bm25_path(gen))
        self._set_pointer({
            "active": name,
            "generation": gen,
            "model": embedder.model_id,
            "documents": len(unique_docs),
            "passages": len(passages),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        })
        self._cleanup(keep={gen, old_gen}, generations=[*generations, (gen, name)])
        with self._lock:
            self._snapshot = None
        report.generation = gen
        report.seconds = time.perf_counter() - t0
        return report

    def _bm25_consistent(self, gen: int, passages: list[Passage]) -> bool:
        bm = BM25Index.load(self.bm25_path(gen))
        return bm is not None and bm.generation == str(gen) and sorted(bm.ids) == sorted(p.id for p in passages)

    def _cleanup(self, keep: set[int], generations: list[tuple[int, str]]) -> None:
        """Drop generations other than the active one and its predecessor (kept for readers mid-query)."""
        for g, n in generations:
            if g not in keep:
                try:
                    self._call(lambda n=n: self.client.delete_collection(n))
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
            self._call(lambda n=n: self.client.delete_collection(n))
        try:
            self._call(lambda: self.client.delete_collection(self.meta_name))
        except Exception as exc:  # noqa: BLE001
            if not _looks_like_not_found(exc):
                raise
        shutil.rmtree(self.settings.bm25_dir / self.name, ignore_errors=True)
        self._snapshot = None


def _looks_like_not_found(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "notfound" in text or "does not exist" in text or "not found" in text


def _looks_like_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("connect", "connection", "timeout", "timed out", "refused", "unreachable",
                                   "remoteprotocol", "could not connect", "server disconnected"))
