"""How the cost grows with the library (issue #27): ``kiemnhiem dev bench --only scale``.

For each size (stored vectors: passage + sentence rows, as ``IngestReport.vectors`` counts them) it
measures, on this machine: the time to write the generation (Chroma, BM25, the memory-mapped vector
store), the index size on disk, the time a fresh process takes to open it (a worker's start-up, and
what a swap to a new generation costs), ``POST /ask`` p50 / p95 sequentially and under 8 clients
against a real ``kiemnhiem serve --workers 2``, RSS / PSS / private memory per worker, and dense
recall@10 of the search in use (and of the other candidates: the int8 compact scan, Chroma's HNSW)
against exact search. Then the same against a ``chroma run`` server started here on the same store.

**The large sizes are synthetic.** Encoding 150,000 real passages would take days on 2 cores, so the
corpus is the real embedded passages of knowledge/ + the official law (+ a sample of ALQAC 2023 when
present) replicated: each replica is a new document (``<doc_id>~rN``) with new ids and every vector
perturbed by a small random noise (cosine ≈ 0.98 to the original) and re-normalised; texts are the
originals. Replica 0 is the real corpus, unperturbed, so the first size is today's index.

A dated section is appended to ``docs/benchmarks.md``. Every phase is bounded in requests and seconds;
memory stays bounded (vectors are streamed to Chroma and to the store in batches).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import UTC as _UTC
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from assistant.config import Settings, configure_threads
from assistant.embed.embeddings import Embedder
from assistant.evaluation import parse_alqac_laws
from assistant.evaluation.metrics import percentile
from assistant.ingest.documents import iter_documents
from assistant.ingest.pipeline import KnowledgeIndex
from assistant.search.bm25 import BM25Index
from assistant.search.vector_store import ExactDense, StoreWriter, open_store, store_bytes
from assistant.tools.bench import cpu_model, dir_size, git_commit, load_average, publish
from assistant.tools.loadtest import generate, gold_requests
from assistant.tools.serverproc import ServeProcess, descendants, free_port, serve_env, stop_process

REPO = Path(__file__).resolve().parents[2]
CHROMA = Path(sys.executable).parent / "chroma"
NOISE = 0.01  # per-dimension std of the perturbation: ‖noise‖ ≈ 0.2, cosine to the original ≈ 0.98
DEFAULT_SIZES = (0, 10_000, 100_000, 1_000_000)  # 0 = today's corpus as it is
TARGETS_1M = {"p50_ms": 60.0, "p95_ms": 150.0, "rss_gib": 1.5, "recall": 0.99}


def _log(msg: str) -> None:
    sys.stderr.write(f"[bench-scale {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# the seed corpus: real passages, really embedded
# --------------------------------------------------------------------------------------------------


@dataclass
class SeedPassage:
    orig: tuple[str, str, dict[str, Any], np.ndarray]  # record id, text, metadata, vector
    sentences: list[tuple[str, str, dict[str, Any], np.ndarray]] = field(default_factory=list)

    @property
    def vectors(self) -> int:
        return 1 + len(self.sentences)


def alqac_sample(folder: Path, articles: int) -> list[Any]:
    """The smallest ALQAC laws up to about ``articles`` articles (a sample that embeds in under a minute)."""
    docs = sorted(parse_alqac_laws(folder / "law.json").documents, key=lambda d: len(d.text))
    out, total = [], 0
    for d in docs:
        n = d.text.count("\nĐiều ") + 1
        if total + n > articles:
            break
        out.append(d)
        total += n
    return out


def build_seed(base: Any, embedder: Any, root: Path, args: argparse.Namespace) -> tuple[list[SeedPassage], dict[str, Any]]:
    """Ingest the real corpus with the real model, then read its rows back grouped by passage."""
    paths = list(base.knowledge_paths)
    if args.official and args.official.exists():
        paths.append(args.official)
    docs, _errors = iter_documents(paths)
    alqac: list[Any] = []
    if args.alqac_articles and (args.alqac / "law.json").exists():
        alqac = alqac_sample(args.alqac, args.alqac_articles)
    settings = base.model_copy(update={"data_dir": root / "seed"})
    index = KnowledgeIndex(settings, embedder=embedder)
    t0 = time.perf_counter()
    report = index.ingest([], documents=[*docs, *alqac], progress=lambda *_: None)
    info = {"documents": report.documents, "passages": report.passages, "vectors": report.vectors,
            "ingest_s": time.perf_counter() - t0, "alqac_laws": len(alqac),
            "sources": [str(p.relative_to(REPO.parent) if p.is_relative_to(REPO.parent) else p) for p in paths]}
    col = index._collection(index._pointer()["active"])
    got = col.get(include=["documents", "metadatas", "embeddings"])
    by_pid: dict[str, SeedPassage] = {}
    rows = list(zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True))
    for rid, doc, meta, vec in rows:
        if meta.get("variant") == "orig":
            by_pid[str(meta["passage_id"])] = SeedPassage((rid, doc or "", dict(meta), np.asarray(vec, np.float32)))
    for rid, doc, meta, vec in rows:
        if meta.get("variant") == "sent" and str(meta["passage_id"]) in by_pid:
            by_pid[str(meta["passage_id"])].sentences.append((rid, doc or "", dict(meta), np.asarray(vec, np.float32)))
    seed = [by_pid[k] for k in sorted(by_pid)]
    info["seed_vectors"] = sum(p.vectors for p in seed)
    _log(f"seed: {json.dumps(info)}")
    del index, col, got, rows
    gc.collect()
    return seed, info


def replicas(seed: list[SeedPassage], target: int, noise: float = NOISE,
             rng_seed: int = 27) -> Iterator[tuple[int, SeedPassage]]:
    """(replica number, passage) until ``target`` stored vectors (0: the seed once); replica 0 unchanged."""
    rng = np.random.default_rng(rng_seed)
    total, r = 0, 0
    target = target or sum(p.vectors for p in seed)
    while total < target:
        for p in seed:
            if total >= target:
                return
            if r == 0:
                yield 0, p
            else:
                yield r, SeedPassage(_perturbed(p.orig, r, rng, noise),
                                     [_perturbed(s, r, rng, noise) for s in p.sentences])
            total += p.vectors
        r += 1


def _perturbed(row: tuple[str, str, dict[str, Any], np.ndarray], r: int, rng: np.random.Generator,
               noise: float) -> tuple[str, str, dict[str, Any], np.ndarray]:
    rid, text, meta, vec = row
    v = vec + rng.standard_normal(vec.shape[0], dtype=np.float32) * noise
    v /= np.linalg.norm(v)
    m = dict(meta)
    m["doc_id"] = f"{meta['doc_id']}~r{r}"
    m["passage_id"] = f"{meta['passage_id']}~r{r}"
    if "text_hash" in m:
        m["text_hash"] = f"{meta['text_hash']}~r{r}"
    return f"{rid}~r{r}", text, m, v


# --------------------------------------------------------------------------------------------------
# one size: write a generation the way an ingest does, then measure it
# --------------------------------------------------------------------------------------------------


def write_generation(index: Any, seed: list[SeedPassage], target: int, batch: int = 5000,
                     sentences_in_chroma: bool = True) -> dict[str, Any]:
    """A complete generation of ``target`` vectors in the index's store: Chroma rows, BM25, the vector
    store when the size calls for it, then the pointer, as ``KnowledgeIndex.ingest`` leaves them.

    Every row goes to Chroma exactly as an ingest writes it (same collection configuration, documents and
    metadata). The vector store is fed from the same rows as they are written, where an ingest reads them
    back from Chroma: :class:`StoreWriter` sorts the rows, so the files are the same, without reading 1M rows
    back (a paged ``get`` whose offset grows with every page).

    ``sentences_in_chroma=False`` (compact sizes only) sends the sentence rows to the vector store alone: a
    compact worker opens the passage rows from Chroma and every vector from the store, never a sentence
    row of Chroma, so what ``/ask`` runs is unchanged; Chroma then holds the passage rows only (its size
    on disk and its write time are the passages' share). Chroma's write rate falls as the collection grows
    (measured 290 → 170 rows/s over the first 300,000 rows at load 5-7), so 1M rows would take hours here."""
    gen, name = 1, index._gen_name(1)
    model = index.embedder.model_id
    col = index.client.get_or_create_collection(name, configuration={"hnsw": {"space": "cosine"}},
                                                metadata={"embedding_model": model, "generation": gen},
                                                embedding_function=None)
    limit = min(batch, int(index.client.get_max_batch_size()))
    mode = index.dense_mode(target or sum(p.vectors for p in seed))
    writer = None
    if mode == "compact":  # the ids are known before any row is written: the store is filled alongside
        keys, sentences = replica_keys(seed, target)
        writer = StoreWriter(index.vectors_path(gen), [k[2] for k in keys], index.embedder.dim, gen, model,
                             sentences=sentences)
    buf: list[tuple[str, str, dict[str, Any], np.ndarray]] = []
    passages: list[tuple[str, int, str, str]] = []  # (doc_id, ordinal, passage id, text): snapshot order
    documents: set[str] = set()
    vectors = 0
    spent = {"chroma": 0.0, "store": 0.0}
    t0 = time.perf_counter()
    direct: list[tuple[str, str, dict[str, Any], np.ndarray]] | None = (
        [] if writer is not None and not sentences_in_chroma else None)

    def to_store(rows: list[tuple[str, str, dict[str, Any], np.ndarray]]) -> None:
        assert writer is not None
        t = time.perf_counter()
        orig = [b for b in rows if b[2].get("variant") == "orig"]
        sent = [b for b in rows if b[2].get("variant") == "sent"]
        if orig:
            writer.add_passages([str(b[2]["passage_id"]) for b in orig], np.stack([b[3] for b in orig]))
        if sent:
            writer.add_sentences([str(b[2]["passage_id"]) for b in sent],
                                 [(int(b[2]["start"]), int(b[2]["end"])) for b in sent], np.stack([b[3] for b in sent]))
        spent["store"] += time.perf_counter() - t

    def flush() -> None:
        if not buf:
            return
        t = time.perf_counter()
        col.add(ids=[b[0] for b in buf], documents=[b[1] for b in buf], metadatas=[b[2] for b in buf],
                embeddings=np.stack([b[3] for b in buf]))
        spent["chroma"] += time.perf_counter() - t
        if writer is not None:
            to_store(buf)
        buf.clear()

    try:
        for _r, p in replicas(seed, target):
            for row in (p.orig, *p.sentences) if direct is None else (p.orig,):
                buf.append(row)
                if len(buf) >= limit:
                    flush()
            if direct is not None and p.sentences:
                direct.extend(p.sentences)
                if len(direct) >= limit:
                    to_store(direct)
                    direct.clear()
            meta = p.orig[2]
            passages.append((str(meta["doc_id"]), int(meta.get("ordinal", 0)), str(meta["passage_id"]), p.orig[1]))
            documents.add(str(meta["doc_id"]))
            vectors += p.vectors
            if vectors % 100_000 < p.vectors:
                _log(f"  {vectors:,} vectors written ({time.perf_counter() - t0:.0f} s: Chroma "
                     f"{spent['chroma']:.0f} s, vector store {spent['store']:.0f} s)")
        flush()
        if direct:
            to_store(direct)
        release_store(index)  # Chroma's in-memory HNSW of the writes is not needed for what follows
        t2 = time.perf_counter()
        if writer is not None:
            writer.commit()
        spent["store"] += time.perf_counter() - t2
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    passages.sort(key=lambda x: (x[0], x[1]))
    t1 = time.perf_counter()
    BM25Index.build([x[2] for x in passages], [x[3] for x in passages], str(gen)).save(index.bm25_path(gen))
    bm25_s = time.perf_counter() - t1
    pointer = {"active": name, "generation": gen, "model": model, "documents": len(documents),
               "passages": len(passages), "vectors": vectors,
               "updated_at": datetime.now(_UTC).isoformat(timespec="seconds"), "stamp": uuid.uuid4().hex}
    t1 = time.perf_counter()
    index.write_passages(pointer)  # as the ingest does: read back from Chroma, with the restorer's counts
    passages_s = time.perf_counter() - t1
    index._set_pointer(pointer)
    return {"vectors": vectors, "passages": len(passages), "documents": len(documents), "mode": mode,
            "chroma_s": spent["chroma"], "bm25_s": bm25_s, "store_s": spent["store"], "batch": limit,
            "passages_s": passages_s, "chroma_rows": vectors if direct is None else len(passages)}


def replica_keys(seed: list[SeedPassage], target: int) -> tuple[list[tuple[str, int, str]], int]:
    """(doc_id, ordinal, passage id) of every passage :func:`replicas` yields, in snapshot order (as
    ``KnowledgeIndex._passage_rows`` sorts them), and the number of sentence rows; no vector is made."""
    keys: list[tuple[str, int, str]] = []
    sentences, vectors, r = 0, 0, 0
    target = target or sum(p.vectors for p in seed)
    while vectors < target:
        for p in seed:
            if vectors >= target:
                break
            m = p.orig[2]
            tag = f"~r{r}" if r else ""
            keys.append((f"{m['doc_id']}{tag}", int(m.get("ordinal", 0)), f"{m['passage_id']}{tag}"))
            sentences += len(p.sentences)
            vectors += p.vectors
        r += 1
    keys.sort(key=lambda k: (k[0], k[1]))
    return keys, sentences


def release_store(index: Any) -> None:
    """Close this process's embedded Chroma clients (and the memory they hold)."""
    import chromadb  # noqa: PLC0415 - chromadb costs ~1 s to import; only releasing an open store needs it

    index._client = None
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    gc.collect()


PROBE = """
import json, sys, time
from assistant.config import Settings, configure_threads
from assistant.ingest.pipeline import KnowledgeIndex
s = Settings()
configure_threads(s)
index = KnowledgeIndex(s)
_ = index.embedder.dim
t0 = time.perf_counter()
snap = index.snapshot()
t = time.perf_counter() - t0
status = open("/proc/self/status").read()
kb = {l.split(":")[0]: int(l.split()[1]) for l in status.splitlines() if l.startswith(("VmRSS", "VmHWM"))}
print(json.dumps({"open_s": t, "mode": snap.dense_mode, "passages": len(snap.passages), "rss_mb": kb["VmRSS"] / 1024,
                  "hwm_mb": kb["VmHWM"] / 1024}))
"""


def probe_open(settings: Any) -> dict[str, Any]:
    """A fresh process opens the index (a worker's start-up, or a swap to a new generation): seconds, memory."""
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", PROBE], env=serve_env(settings), cwd=REPO, capture_output=True,
                         text=True, timeout=1800)
    if run.returncode != 0:
        _log(f"open probe failed: {run.stderr[-800:]}")
        return {"error": run.stderr[-300:]}
    out = dict(json.loads(run.stdout.strip().splitlines()[-1]))
    out["process_s"] = time.perf_counter() - t0
    return out


def dense_quality(index: Any, queries: np.ndarray, k: int = 10) -> tuple[dict[str, Any], list[set[str]]]:
    """Per query: exact float32 scan vs the int8 compact scan with re-score (latency p50, recall@10 and @30);
    also the exact top-``k`` passage ids, the reference for Chroma's HNSW."""

    p = index._pointer()
    gen, name, model = int(p["generation"]), str(p["active"]), str(p["model"])
    ids = [str(m["passage_id"]) for _, m in index._passage_rows(index._collection(name), embeddings=False)]
    store = index.vector_store(gen, name, model, ids, int(p["vectors"]))
    out, reference = compare_scans(store, queries, k)
    return {"passages": len(ids), **out}, reference


def compare_scans(store: Any, queries: np.ndarray, k: int = 10) -> tuple[dict[str, Any], list[set[str]]]:
    """Exact float32 (in memory) vs compact int8 + re-score over one store: p50 per query, recall@k and @30;
    and the exact top-``k`` passage ids per query."""
    exact = ExactDense(np.array(store.passage_vectors))
    compact = store.dense()
    out: dict[str, Any] = {}
    for label, engine in (("exact", exact), ("compact", compact)):
        engine.search(queries[0], 30)  # warm (page cache, torch)
        ts = []
        for q in queries:
            t0 = time.perf_counter()
            engine.search(q, 30)
            ts.append((time.perf_counter() - t0) * 1000)
        out[f"{label}_p50_ms"] = percentile(ts, 50)
    reference: list[set[str]] = []
    for kk in (k, 30):
        rec = []
        for q in queries:
            want = exact.search(q, kk)[0].tolist()
            if kk == k:
                reference.append({store.ids[i] for i in want})
            rec.append(len(set(want) & set(compact.search(q, kk)[0].tolist())) / max(len(want), 1))
        out[f"compact_recall@{kk}"] = float(np.mean(rec))
    del exact, compact
    gc.collect()
    return out, reference


def hnsw_quality(client: Any, name: str, queries: np.ndarray, reference: list[set[str]],
                 k: int = 10) -> dict[str, Any]:
    """Chroma's HNSW over the generation (passages only, by a metadata filter) against the exact top-k."""
    col = client.get_collection(name, embedding_function=None)
    col.query(query_embeddings=[queries[0].tolist()], n_results=k, where={"variant": "orig"})  # loads the index
    ts, rec = [], []
    for q, want in zip(queries, reference, strict=True):
        t0 = time.perf_counter()
        res = col.query(query_embeddings=[q.tolist()], n_results=k, where={"variant": "orig"}, include=["metadatas"])
        ts.append((time.perf_counter() - t0) * 1000)
        got = {str(m["passage_id"]) for m in res["metadatas"][0]}
        rec.append(len(want & got) / max(len(want), 1))
    return {"hnsw_p50_ms": percentile(ts, 50), "hnsw_recall@10": float(np.mean(rec))}


# --------------------------------------------------------------------------------------------------
# serving
# --------------------------------------------------------------------------------------------------


def memory_of(pid: int) -> dict[str, float]:
    """RSS, peak RSS, PSS (shared pages split between the processes mapping them) and private memory, MiB."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key = line.split(":")[0]
            if key in ("Pss", "Private_Clean", "Private_Dirty", "Shared_Clean"):
                out[key] = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes so far (/proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            pass
    return total


def worker_pids(srv: ServeProcess) -> list[int]:
    """uvicorn's worker processes: the descendants of the server that hold an assistant (≥ 100 MiB)."""
    pids = descendants(srv.proc.pid) or [srv.proc.pid]
    return [p for p in pids if memory_of(p).get("VmRSS", 0) >= 100] or [srv.proc.pid]


def wait_workers(srv: ServeProcess, workers: int, timeout: float) -> float:
    """Seconds until every worker finished its start-up (uvicorn logs one line per worker)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if srv.log_text().count("Application startup complete") >= workers or workers == 1:
            break
        if srv.proc.poll() is not None:
            raise RuntimeError(f"server exited: {srv.log_text()}")
        time.sleep(0.5)
    return time.monotonic() - t0


def serve_phase(settings: Any, questions: list[dict[str, Any]], args: argparse.Namespace, label: str,
                log_dir: Path) -> dict[str, Any]:
    """``kiemnhiem serve --workers N``: /ask sequential then under ``clients`` clients; memory per worker."""
    srv = ServeProcess(serve_env(settings), args.workers, log_dir / f"serve-{label}.log")
    try:
        t0 = time.monotonic()
        srv.wait(timeout=args.start_timeout)
        wait_workers(srv, args.workers, args.start_timeout)
        startup = time.monotonic() - t0
        generate(srv.url, questions[:4], clients=2, seconds=60, requests=8)  # warm-up, not counted
        load_before = load_average()
        pids = worker_pids(srv)
        seq = generate(srv.url, questions, clients=1, seconds=args.phase_seconds, requests=args.requests, timeout=120)
        c0 = cpu_seconds(pids)
        conc = generate(srv.url, questions, clients=args.clients, seconds=args.phase_seconds,
                        requests=args.concurrent_requests, timeout=120)
        # CPU per answer does not depend on how busy the machine is: cores / it is the idle ceiling
        cpu_ms = (cpu_seconds(pids) - c0) * 1000 / max(len(conc.latencies_ms), 1)
        mem = [memory_of(p) for p in worker_pids(srv)]
        health = _get_json(srv.url + "/health")
    finally:
        srv.stop()

    def lat(res: Any) -> dict[str, Any]:
        return {"requests": res.requests, "errors": res.errors, "p50_ms": percentile(res.latencies_ms, 50),
                "p95_ms": percentile(res.latencies_ms, 95), "rps": len(res.latencies_ms) / res.seconds
                if res.seconds else None}

    return {"startup_s": startup, "sequential": lat(seq), "concurrent": lat(conc), "workers": mem,
            "cpu_ms_per_request": cpu_ms, "ceiling_rps": 1000 * len(os.sched_getaffinity(0)) / cpu_ms if cpu_ms else None,
            "search": (health or {}).get("search"), "load": load_before}


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        return dict(httpx.get(url, timeout=30).json())
    except Exception:  # noqa: BLE001 - a measurement, not a check
        return None


class ChromaServer:
    """``chroma run --path PATH`` on a free loopback port (as tests/e2e/test_chroma_server.py starts it)."""

    def __init__(self, path: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        binary = str(CHROMA) if CHROMA.exists() else (shutil.which("chroma") or "chroma")
        self._log = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([binary, "run", "--path", str(path), "--host", "127.0.0.1", "--port",
                                      str(self.port)], stdout=self._log, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 600) -> ChromaServer:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("chroma run exited")
            try:
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("chroma run did not start")

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


# --------------------------------------------------------------------------------------------------
# one size end to end
# --------------------------------------------------------------------------------------------------


def bench_size(base: Any, embedder: Any, seed: list[SeedPassage], target: int, queries: np.ndarray,
               questions: list[dict[str, Any]], args: argparse.Namespace, root: Path,
               save: Any = None) -> dict[str, Any]:
    """Every measure of one size; ``save(partial)`` after each phase, so a long size is never lost whole."""

    label = f"v{target}" if target else "today"
    settings = base.model_copy(update={"data_dir": root / label, "chroma_url": None})
    index = KnowledgeIndex(settings, embedder=embedder)
    _log(f"{label}: writing the generation …")
    res: dict[str, Any] = {"label": label, "target": target, "load_start": load_average()}
    written = settings.data_dir / "write.json"  # a generation written by an earlier run (--root): measured again
    if written.exists():
        res["write"] = json.loads(written.read_text("utf-8"))
        _log(f"{label}: reusing the generation written {res['write'].get('written_at', '')}")
        if "passages_s" not in res["write"]:  # written before generations had a passage folder: written once now
            t1 = time.perf_counter()
            _, source = index.stored_passages(index._pointer())
            res["write"]["passages_s"] = time.perf_counter() - t1
            res["write"]["passages_from"] = source
            written.write_text(json.dumps(res["write"]), "utf-8")
            _log(f"{label}: passage folder ({source}) in {res['write']['passages_s']:.1f} s")
    else:
        res["write"] = write_generation(index, seed, target, sentences_in_chroma=not (
            args.passages_only_from and target >= args.passages_only_from))
        res["write"]["written_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        res["write"]["load"] = load_average()
        written.write_text(json.dumps(res["write"]), "utf-8")
        _log(f"{label}: {json.dumps(res['write'])}")
    if args.write_only:
        release_store(index)
        return res
    res["dense"], reference = dense_quality(index, queries)
    _log(f"{label}: dense {json.dumps(res['dense'])}")
    if res["write"]["mode"] == "exact":  # the comparison store is not part of an exact-mode index
        shutil.rmtree(settings.vectors_dir, ignore_errors=True)
    res["disk"] = {"chroma": dir_size(settings.chroma_dir), "bm25": dir_size(settings.bm25_dir),
                   "passages": dir_size(settings.passages_dir),
                   "vectors": dir_size(settings.vectors_dir)}
    release_store(index)  # before a server opens the same store
    del index
    res["open"] = probe_open(settings)
    _log(f"{label}: open {json.dumps(res['open'])}")
    res["serve"] = serve_phase(settings, questions, args, label, root)
    _log(f"{label}: serve {json.dumps(res['serve'], default=str)}")
    if save:
        save(res)
    if args.server:
        chroma = ChromaServer(settings.chroma_dir, root / f"chroma-{label}.log").wait()
        try:
            remote = settings.model_copy(update={"chroma_url": chroma.url})
            index = KnowledgeIndex(remote, embedder=embedder)
            res["server_hnsw"] = hnsw_quality(index.client, index._pointer()["active"], queries, reference)
            del index
            gc.collect()
            _log(f"{label}: server HNSW {json.dumps(res['server_hnsw'])}")
            res["server_open"] = probe_open(remote)
            res["server_serve"] = serve_phase(remote, questions, args, label + "-server", root)
            res["server_serve"]["chroma"] = memory_of(chroma.proc.pid)
            _log(f"{label}: server serve {json.dumps(res['server_serve'], default=str)}")
        except Exception as exc:  # noqa: BLE001 - the embedded figures of this size are kept
            _log(f"{label}: server phase failed: {exc!r}")
            res["server_error"] = repr(exc)[:300]
        finally:
            chroma.stop()
    if not args.keep and args.root is None:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    return res


STORE_PROBE = """
import json, sys, time
import numpy as np
from pathlib import Path
from assistant.search.vector_store import open_store
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
store = open_store(Path(args["dir"]), 1, args["model"])
dense = store.dense()
opened = time.perf_counter() - t0
queries = np.load(args["queries"])
ts = []
for q in queries:
    t = time.perf_counter()
    rows, _ = dense.search(q, 30)
    for i in rows[:20]:  # what the rerank reads: the sentences of the pool
        _ = np.array(store.sentence_vectors[int(store.sentence_offsets[i]):int(store.sentence_offsets[i + 1])]) @ q
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
kb = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/self/status").read().splitlines()
      if l.startswith(("VmRSS", "VmHWM"))}
print(json.dumps({"open_s": opened, "p50_ms": ts[len(ts) // 2], "p95_ms": ts[int(len(ts) * 0.95)],
                  "rss_mb": kb["VmRSS"] / 1024, "hwm_mb": kb["VmHWM"] / 1024}))
"""


def bench_vectors(seed: list[SeedPassage], target: int, queries: np.ndarray, root: Path, model: str,
                  dim: int) -> dict[str, Any]:
    """The dense part alone at a size too large to write through Chroma here: the vector store written
    straight from the replicated seed, then opened and searched by a fresh process (as a worker would)."""
    directory = root / f"vectors-{target}" / "g0001"
    ids: list[str] = []
    vectors, r = 0, 0
    while vectors < target:  # the ids replicas() will yield, without making the vectors twice
        for p in seed:
            if vectors >= target:
                break
            pid = str(p.orig[2]["passage_id"])
            ids.append(pid if r == 0 else f"{pid}~r{r}")
            vectors += p.vectors
        r += 1
    ids.sort()
    t0 = time.perf_counter()
    w = StoreWriter(directory, ids, dim, 1, model, sentences=vectors - len(ids))
    part: list[SeedPassage] = []

    def flush() -> None:
        w.add_passages([str(p.orig[2]["passage_id"]) for p in part], np.stack([p.orig[3] for p in part]))
        sents = [s for p in part for s in p.sentences]
        if sents:
            w.add_sentences([str(s[2]["passage_id"]) for s in sents],
                            [(int(s[2]["start"]), int(s[2]["end"])) for s in sents], np.stack([s[3] for s in sents]))
        part.clear()

    for _r, p in replicas(seed, target):
        part.append(p)
        if len(part) >= 2000:
            flush()
    if part:
        flush()
    store = w.commit()
    write_s = time.perf_counter() - t0
    out: dict[str, Any] = {"vectors": vectors, "passages": len(ids), "sentences": int(len(store.sentence_vectors)),
                           "write_s": write_s, "store_bytes": store_bytes(directory),
                           "exact_f32_bytes": vectors * dim * 4, "load": load_average()}
    out.update(compare_scans(store, queries)[0])
    del store
    gc.collect()
    qpath = root / "queries.npy"
    np.save(qpath, queries)
    run = subprocess.run([sys.executable, "-c", STORE_PROBE, json.dumps({"dir": str(directory), "model": model,
                                                                          "queries": str(qpath)})],
                         cwd=REPO, capture_output=True, text=True, timeout=1800)
    out["worker"] = json.loads(run.stdout.strip().splitlines()[-1]) if run.returncode == 0 else {
        "error": run.stderr[-300:]}
    assert open_store(directory, 1, model) is not None
    shutil.rmtree(directory.parent, ignore_errors=True)
    _log(f"vectors only, {target:,}: {json.dumps(out)}")
    return out


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _mb(b: float | None) -> str:
    return "–" if b is None else f"{b / 2**20:,.0f} MiB"


def _table(runs: list[dict[str, Any]], rows: list[tuple[str, Any]]) -> list[str]:
    out = ["| measure | " + " | ".join(r["label_md"] for r in runs) + " |", "|---|" + "---:|" * len(runs)]
    for name, fn in rows:
        cells = []
        for r in runs:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, IndexError, ZeroDivisionError):
                cells.append("–")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def _workers(mem: list[dict[str, float]], key: str) -> str:
    return " / ".join(f"{m[key]:,.0f}" for m in mem) + " MiB"


def serve_rows(key: str) -> list[tuple[str, Any]]:
    return [
        ("dense search in use (`/health` → `search.dense`)", lambda r: f"{r[key]['search']['dense']}"),
        ("passage texts read from (`/health` → `search.passages_from`)",
         lambda r: f"{r[key]['search'].get('passages_from', '–')}"),
        ("load average before the latency phases", lambda r: r[key]["load"]),
        ("start-up of 2 workers to all healthy", lambda r: f"{_f(r[key]['startup_s'])} s"),
        ("`/ask` sequential p50 / p95", lambda r: f"{_f(r[key]['sequential']['p50_ms'])} / "
                                                   f"{_f(r[key]['sequential']['p95_ms'])} ms"),
        ("`/ask` 8 clients p50 / p95", lambda r: f"{_f(r[key]['concurrent']['p50_ms'])} / "
                                                  f"{_f(r[key]['concurrent']['p95_ms'])} ms"),
        ("`/ask` 8 clients throughput", lambda r: f"{_f(r[key]['concurrent']['rps'])} req/s"),
        ("worker CPU per answer under 8 clients → ceiling on idle cores", lambda r: (
            f"{_f(r[key]['cpu_ms_per_request'])} ms → {_f(r[key]['ceiling_rps'])} req/s")),
        ("requests (errors): sequential · 8 clients", lambda r: (
            f"{r[key]['sequential']['requests']} ({r[key]['sequential']['errors']}) · "
            f"{r[key]['concurrent']['requests']} ({r[key]['concurrent']['errors']})")),
        ("RSS per worker, after the load", lambda r: _workers(r[key]["workers"], "VmRSS")),
        ("peak RSS (VmHWM) per worker", lambda r: _workers(r[key]["workers"], "VmHWM")),
        ("PSS per worker (shared pages split)", lambda r: _workers(r[key]["workers"], "Pss")),
        ("private per worker", lambda r: " / ".join(f"{m['Private_Clean'] + m['Private_Dirty']:,.0f}"
                                                    for m in r[key]["workers"]) + " MiB"),
    ]


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    meta, runs = results["meta"], results["sizes"]
    for r in runs:
        w = r["write"]
        r["label_md"] = f"{w['vectors']:,} vectors" + (" (today)" if not r["target"] else "")
    seed = results["seed"]
    cmds = meta.get("commands") or [
        ".venv/bin/kiemnhiem dev bench --only scale --sizes " + ",".join(str(r["target"]) for r in runs)
        + (" --vectors-only " + ",".join(str(v["vectors"]) for v in results.get("vectors_only", []))
           if results.get("vectors_only") else "")
        + f" --requests {args.requests} --concurrent-requests {args.concurrent_requests} --clients {args.clients}"
        + f" --workers {args.workers}" + ("" if args.server else " --no-server")]
    lines = [
        f"## Scale: {meta['date']} · commit `{meta['commit']}`", "",
        f"- machine: {meta['cpu']}, `nproc` = {meta['nproc']}, shared with other work: load average "
        f"{meta['load_start']} at the start, {meta['load_end']} at the end (each size's own below)",
        f"- Python {meta['python']}, `KIEMNHIEM_THREADS` = {meta['threads']}, whole run {meta['seconds']:.0f} s",
        f"- seed: {seed['documents']} real documents ({', '.join(seed['sources'])}"
        + (f" + {seed['alqac_laws']} ALQAC 2023 laws" if seed.get("alqac_laws") else "")
        + f"), {seed['passages']:,} passages, {seed['seed_vectors']:,} vectors, embedded by the real model "
        f"in {seed['ingest_s']:.0f} s. **Larger sizes replicate these passages** as new documents with new ids "
        f"and every vector perturbed (Gaussian noise, σ = {NOISE} per dimension, re-normalised: cosine ≈ 0.98 "
        "to the original); texts are unchanged. The first column is the seed itself.",
        f"- dense search `auto`: exact in memory below {meta['compact_from_vectors']:,} stored vectors, "
        "compact (int8 scan + exact re-score, memory-mapped) from there. Recall is measured on the gold "
        f"questions' query vectors ({meta['queries']} questions).",
        "", "```", *(f"$ {c}" for c in cmds), "```", "",
    ]
    rows: list[tuple[str, Any]] = [
        ("documents / passages", lambda r: f"{r['write']['documents']:,} / {r['write']['passages']:,}"),
        ("load average when the size started", lambda r: r["load_start"]),
        ("write: Chroma · BM25 · vector store · passage folder", lambda r: (
            f"{_f(r['write']['chroma_s'])} · {_f(r['write']['bm25_s'])} · {_f(r['write']['store_s'])} · "
            f"{_f(r['write'].get('passages_s'))} s"
            + (f" (Chroma: the {r['write']['chroma_rows']:,} passage rows only¹)"
               if r["write"].get("chroma_rows", r["write"]["vectors"]) < r["write"]["vectors"] else ""))),
        ("index on disk: Chroma + BM25 + vectors + passage folder", lambda r: (
            f"{_mb(r['disk']['chroma'])} + {_mb(r['disk']['bm25'])} + {_mb(r['disk']['vectors'])}"
            f" + {_mb(r['disk'].get('passages', 0))}")),
        ("open in a fresh process (= swap to a new generation)", lambda r: (
            f"{_f(r['open']['open_s'])} s, RSS {r['open']['rss_mb']:,.0f} MiB")),
        ("dense scan per query: exact f32 · compact int8 + re-score (p50)", lambda r: (
            f"{_f(r['dense']['exact_p50_ms'], 2)} · {_f(r['dense']['compact_p50_ms'], 2)} ms")),
        ("compact recall@10 / @30 vs exact", lambda r: (
            f"{_f(r['dense']['compact_recall@10'], 3)} / {_f(r['dense']['compact_recall@30'], 3)}")),
        ("dense recall@10 of the search in use", lambda r: (
            "1.000 (exact)" if r["serve"]["search"]["dense"] == "exact" else _f(r["dense"]["compact_recall@10"], 3))),
        *serve_rows("serve"),
    ]
    lines += ["### Embedded store (the default): `kiemnhiem serve --workers 2`", ""]
    lines += _table(runs, rows) + [""]
    if any(r["write"].get("chroma_rows", r["write"]["vectors"]) < r["write"]["vectors"] for r in runs):
        lines += ["¹ `--passages-only-from`: Chroma's write rate falls as the collection grows, so at this size the "
                  "sentence rows went to the vector store alone. A compact worker reads the passage rows from "
                  "the generation's passage folder and every vector from the store, never a sentence row of Chroma: the open, the search "
                  "and `/ask` are the product's code on the product's files. Chroma's size on disk and write time "
                  "in that column are the passage rows' share only.", ""]
    srv = [r for r in runs if "server_serve" in r]
    if srv:
        lines += ["### The same on a Chroma server (`chroma run`, `KIEMNHIEM_CHROMA_URL`), 2 API workers", "",
                  "The workers share the data dir of the embedded run (BM25 and vector store of the same "
                  "generation); Chroma holds the rows. Chroma's HNSW is queried for the passages only "
                  "(`where variant = orig`).", ""]
        lines += _table(srv, [
            ("open in a fresh process, over HTTP", lambda r: (
                f"{_f(r['server_open']['open_s'])} s, RSS {r['server_open']['rss_mb']:,.0f} MiB")),
            ("Chroma HNSW over HTTP: query p50 · recall@10 vs exact", lambda r: (
                f"{_f(r['server_hnsw']['hnsw_p50_ms'], 2)} ms · {_f(r['server_hnsw']['hnsw_recall@10'], 3)}")),
            ("`chroma run` RSS after the load", lambda r: f"{r['server_serve']['chroma']['VmRSS']:,.0f} MiB"),
            *serve_rows("server_serve"),
        ]) + [""]
    lines += render_vectors_only(results.get("vectors_only") or [])
    lines += render_targets(runs, results.get("vectors_only") or [])
    return "\n".join(lines)


def render_vectors_only(items: list[dict[str, Any]]) -> list[str]:
    """The dense search alone at sizes written straight to the vector store (no Chroma, no ``/ask``)."""
    if not items:
        return []
    for v in items:
        v["label_md"] = f"{v['vectors']:,} vectors"
    return ["### Dense search alone (`--vectors-only`): the vector store written directly, no Chroma, no `/ask`",
            "", "Writing these rows through Chroma would not fit the run's time on this machine today; the "
            "store is what a compact-mode worker opens, so these are the dense search's own figures.", "",
            *_table(items, [
                ("passages / sentence vectors", lambda v: f"{v['passages']:,} / {v['sentences']:,}"),
                ("load average", lambda v: v["load"]),
                ("store written in", lambda v: f"{_f(v['write_s'])} s"),
                ("store on disk (float32 + int8 + spans)", lambda v: _mb(v["store_bytes"])),
                ("what exact mode holds in every worker (float32)", lambda v: _mb(v["exact_f32_bytes"])),
                ("scan per query p50: exact f32 · compact", lambda v: (
                    f"{_f(v['exact_p50_ms'], 2)} · {_f(v['compact_p50_ms'], 2)} ms "
                    f"({_f(v['exact_p50_ms'] / v['compact_p50_ms'], 1)}×)")),
                ("compact recall@10 / @30 vs exact", lambda v: (
                    f"{_f(v['compact_recall@10'], 3)} / {_f(v['compact_recall@30'], 3)}")),
                ("fresh process: open the store", lambda v: f"{_f(v['worker']['open_s'], 2)} s"),
                ("fresh process: search + the pool's sentence rows, p50 / p95", lambda v: (
                    f"{_f(v['worker']['p50_ms'], 2)} / {_f(v['worker']['p95_ms'], 2)} ms")),
                ("fresh process RSS after the queries (torch + maps)", lambda v: f"{v['worker']['rss_mb']:,.0f} MiB"),
            ]), ""]


def render_targets(runs: list[dict[str, Any]], vectors_only: list[dict[str, Any]]) -> list[str]:
    by = {r["target"]: r for r in runs}
    alone = {v["vectors"] // 100_000 * 100_000: v for v in vectors_only}
    out = ["| issue #27 target | this run | met? |", "|---|---:|---|"]

    def row(name: str, value: float | None, op: str, bound: float, digits: int = 1) -> None:
        if value is None:
            out.append(f"| {name} | – | not measured |")
            return
        met = value <= bound if op == "≤" else value >= bound
        out.append(f"| {name} ({op} {bound:g}) | {_f(value, digits)} | {'yes' if met else '**no**'} |")

    big, mid, today = by.get(1_000_000), by.get(100_000), by.get(0)
    if not big and 1_000_000 in alone:
        v = alone[1_000_000]
        out.append("| 1M: `/ask` p50 / p95 sequential, RSS per worker | – | not measured end to end (vectors only) |")
        row("1M: dense recall@10 vs exact (compact)", v["compact_recall@10"], "≥", 0.99, 3)
    if big:
        row("1M: `/ask` p50 sequential, ms", big["serve"]["sequential"]["p50_ms"], "≤", 60)
        row("1M: `/ask` p95 sequential, ms", big["serve"]["sequential"]["p95_ms"], "≤", 150)
        row("1M: RSS per worker (largest), GiB", max(m["VmRSS"] for m in big["serve"]["workers"]) / 1024, "≤", 1.5, 2)
        rec = 1.0 if big["serve"]["search"]["dense"] == "exact" else big["dense"]["compact_recall@10"]
        row("1M: dense recall@10 vs exact", rec, "≥", 0.99, 3)
    if mid:
        row("100k: `/ask` p50 sequential, ms", mid["serve"]["sequential"]["p50_ms"], "≤", 40)
    if today:
        c = today["serve"]["concurrent"]
        row("today: `--workers 2`, 8 clients, req/s", c["rps"], "≥", 70)
        row("today: `--workers 2`, 8 clients, p95 ms", c["p95_ms"], "≤", 150)
    return [*out, ""]


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="kiemnhiem dev bench --only scale", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",") if x], default=list(DEFAULT_SIZES),
                    help="Stored vectors per size, comma-separated (0 = today's corpus as it is)")
    ap.add_argument("--requests", type=int, default=60, help="Sequential /ask requests per size")
    ap.add_argument("--concurrent-requests", type=int, default=240)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--phase-seconds", type=float, default=60.0, help="Bound of each latency phase")
    ap.add_argument("--start-timeout", type=float, default=900.0)
    ap.add_argument("--server", action=argparse.BooleanOptionalAction, default=True,
                    help="Also run every size against a `chroma run` server")
    ap.add_argument("--official", type=Path, default=REPO.parent / "shared" / "corpus" / "official")
    ap.add_argument("--alqac", type=Path, default=REPO.parent / "shared" / "datasets" / "alqac2023")
    ap.add_argument("--alqac-articles", type=int, default=300,
                    help="ALQAC articles added to the seed (smallest laws first; 0 = none)")
    ap.add_argument("--questions", type=Path, default=REPO / "eval" / "questions.jsonl")
    ap.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--keep", action="store_true", help="Keep the data dirs (under $TMPDIR)")
    ap.add_argument("--root", type=Path, default=None,
                    help="Data dirs here, kept; a size whose generation an earlier run wrote here is measured "
                         "again without writing it")
    ap.add_argument("--passages-only-from", type=int, default=0,
                    help="From this size, Chroma gets the passage rows only and the sentence rows go to the vector "
                         "store alone (what a compact worker reads; 0 = never)")
    ap.add_argument("--write-only", action="store_true",
                    help="Only write the generations (with --root: measure them later, e.g. with other code)")
    ap.add_argument("--seed-cache", type=Path, default=None,
                    help="Reuse the embedded seed rows from this file (written on first use): skips the seed ingest")
    ap.add_argument("--json-out", type=Path, default=None, help="Write the results so far here after every size")
    ap.add_argument("--vectors-only", type=lambda s: [int(float(x)) for x in s.split(",") if x], default=[],
                    help="Sizes measured for the dense search alone (vector store written directly, no Chroma, "
                         "no /ask): for sizes whose Chroma write would not fit the time")
    ap.add_argument("--render-from", type=Path, default=None,
                    help="Only render (and append) the section from a --json-out file, e.g. of an interrupted run")
    return ap.parse_args(argv)


def run_meta(base: Any, t_start: float, load_start: str, queries: int) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(), "cpu": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)), "load_start": load_start, "load_end": load_average(),
        "python": platform.python_version(), "threads": base.threads, "seconds": time.perf_counter() - t_start,
        "compact_from_vectors": base.compact_from_vectors, "queries": queries,
    }


def load_or_build_seed(base: Any, embedder: Any, root: Path,
                       args: argparse.Namespace) -> tuple[list[SeedPassage], dict[str, Any]]:
    cache = args.seed_cache
    if cache is not None and cache.exists():
        with cache.open("rb") as fh:
            seed, info = pickle.load(fh)  # a file this tool wrote
        _log(f"seed from {cache}: {json.dumps(info)}")
        return seed, info
    seed, info = build_seed(base, embedder, root, args)
    if cache is not None:
        with cache.open("wb") as fh:
            pickle.dump((seed, info), fh)
    return seed, info


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_from is not None:
        saved = json.loads(args.render_from.read_text("utf-8"))
        section = render(saved, args)
        publish(section, args.output, args.no_write)
        return 0

    base = Settings()
    configure_threads(base)
    t_start = time.perf_counter()
    load_start = load_average()
    root = args.root.resolve() if args.root is not None else Path(tempfile.mkdtemp(prefix="kiemnhiem-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    knowledge = [p if p.is_absolute() else (Path.cwd() / p).resolve() for p in base.knowledge_paths]
    base = base.model_copy(update={"model_path": base.model_dir.resolve(), "chroma_url": None,
                                   "knowledge_paths": knowledge, "collection": "kiemnhiem"})
    questions = gold_requests(args.questions)
    results: dict[str, Any] = {"sizes": []}
    try:
        embedder = Embedder(base)
        seed, results["seed"] = load_or_build_seed(base, embedder, root, args)
        queries = np.asarray(embedder.embed_queries([q["question"] for q in questions]), dtype=np.float32)
        def save(partial: dict[str, Any] | None = None) -> None:
            if args.json_out is not None:  # an interrupted run can still be rendered (--render-from)
                done = [*results["sizes"], *([partial] if partial else [])]
                out = {**results, "sizes": done, "meta": run_meta(base, t_start, load_start, len(questions))}
                args.json_out.write_text(json.dumps(out, ensure_ascii=False, default=str), "utf-8")

        results["vectors_only"] = []
        for target in args.vectors_only:
            results["vectors_only"].append(bench_vectors(seed, target, queries, root, embedder.model_id, embedder.dim))
            save()
        for target in args.sizes:
            results["sizes"].append(bench_size(base, embedder, seed, target, queries, questions, args, root, save))
            save()
    finally:
        if not args.keep and args.root is None:
            shutil.rmtree(root, ignore_errors=True)
        else:
            _log(f"data kept in {root}")
    results["meta"] = run_meta(base, t_start, load_start, len(questions))
    if args.write_only:
        sys.stdout.write(json.dumps(results, ensure_ascii=False, default=str) + "\n")
        return 0
    section = render(results, args)
    sys.stdout.write(json.dumps(results, ensure_ascii=False, default=str) + "\n")
    if publish(section, args.output, args.no_write):
        _log(f"appended to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
