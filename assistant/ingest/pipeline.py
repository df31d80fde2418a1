"""The ingest pipeline: documents in, a new generation of the passage store out, switched atomically.

An ingest that changes anything writes a complete new generation (see :mod:`assistant.search.store`):
unchanged passages reuse their stored vectors, so only new or edited text is embedded; it persists the
matching BM25 index, and only then flips the pointer. A generation left behind by a crash is harvested
for its vectors by the next ingest and then deleted. The steps before the store are pure and live
beside this module: discovery and formats (``documents``), chunking, and the plan (``plan``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from assistant.errors import KiemnhiemError
from assistant.ingest.chunking import chunk_document
from assistant.ingest.documents import LoadError, iter_documents, screen_document
from assistant.ingest.plan import (
    IngestPlan,
    Stored,
    chunker_signature,
    document_hash,
    plan,
    stored_from_rows,
    text_hash,
)
from assistant.ingest.uploads import recover as recover_uploads
from assistant.models import Document, Passage
from assistant.search.bm25 import BM25Index
from assistant.search.store import IndexStore, IndexStoreError
from assistant.storage import MIN_FREE_BYTES, check_room, disk_full_error, is_disk_full, tree_bytes

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
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


class KnowledgeIndex(IndexStore):
    """The passage store of one collection name, with ingestion: what the CLI, the API and the
    evaluations open (reading alone needs only :class:`IndexStore`)."""

    _write_lock: FileLock | None = None  # the ingest lock of this index (per thread, re-entrant): ``writing``

    @contextmanager
    def writing(self, lock_timeout: float = 300.0) -> Iterator[None]:
        """Hold the ingest lock (one writer per data dir, across processes); re-entrant in the same thread, so
        a change to the sources and the ingest that follows it happen under one lock. Whoever takes it first
        puts back the upload folders of a change that was interrupted (``assistant.ingest.uploads.recover``)."""
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
        pointer_next = {
            "active": name,
            "generation": gen,
            "model": embedder.model_id,
            "documents": len(unique_docs),
            "passages": len(passages),
            "vectors": len(the_plan.records),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "stamp": uuid.uuid4().hex,  # ties the passage folder to this generation (passage_file.py)
        }
        # written before the pointer flips, so workers that swap to this generation only open them: the
        # passage texts and restorer counts (never paged out of Chroma by a worker), and past a size the vectors
        rows = self.write_passages(pointer_next)
        phase("passages")
        if self.dense_mode(len(the_plan.records)) == "compact":
            ids = [str(meta["passage_id"]) for _, meta in rows]
            self.vector_store(gen, name, embedder.model_id, ids, len(the_plan.records))
            phase("vectors")
        self._set_pointer(pointer_next)
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
