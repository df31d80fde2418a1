"""Performance benchmarks (``make bench`` = ``kiemnhiem dev bench``); not a test.

Measures, on this machine:

* **ingest**: the model load, then a from-scratch ingest of each corpus (knowledge/; knowledge/ plus
  the official law in ``../shared/corpus/official``; ALQAC 2023 with ``--alqac``) into its own data
  dir, with seconds per phase (load, chunk, model, embed, store, BM25, swap) and CPU seconds; the raw
  encode of the same distinct texts in one length-sorted ``embed_passages`` call (tokens/s, texts/s),
  i.e. the ceiling of ingest; in fresh processes a re-ingest with nothing changed (does it load the
  model?), ``sources`` and one cold ``ask``; the data dir size.
* **serve**: ``POST /ask`` latency against a real ``kiemnhiem serve`` subprocess over loopback,
  sequentially and with concurrent clients (bounded in requests and seconds), and the peak RSS
  (VmHWM) of the server process and its children.
* **embedded**: the same questions through ``Assistant.ask`` in this process.

A dated section with Markdown tables (each preceded by the command that reproduces it) is
appended to ``docs/benchmarks.md``. The whole run is bounded to about ten minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.chain import Assistant
from assistant.config import Settings, configure_threads
from assistant.embed.embeddings import Embedder
from assistant.evaluation import evaluate_alqac, parse_alqac_laws, run_gold_eval
from assistant.evaluation import git_commit as gc
from assistant.evaluation.metrics import percentile
from assistant.evaluation.report import fmt
from assistant.ingest.chunking import chunk_document
from assistant.ingest.pipeline import MAX_TOKENS, KnowledgeIndex
from assistant.ingest.plan import Stored, passage_records, plan
from assistant.tools.loadtest import LoadResult, generate, gold_requests
from assistant.tools.serverproc import ServeProcess, peak_rss_mb, proc_status_kib, serve_env

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("ingest", "serve", "embedded", "ablation")
DEFAULT_SECTIONS = ("ingest", "serve", "embedded")  # the ablation runs the gold set 4 times: opt-in
INTRO = """# Benchmarks

Performance of kiemnhiem measured with `make bench` (`kiemnhiem dev bench`): ingest
throughput, `/ask` latency against a real server (sequential and concurrent), the same questions
through the embedded Python API, peak memory and index size. Each run appends a dated section
with the machine it ran on and the commit; every table is preceded by the command that produces
it. Questions are taken in order from `eval/questions.jsonl` (with their history), cycled.
Latencies are client-side wall time; percentiles by linear interpolation. Shared or busy
machines give slower, noisier numbers: the load average at the start of a run is recorded.
"""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _log(msg: str) -> None:
    sys.stderr.write(f"[bench] {msg}\n")
    sys.stderr.flush()


def _f(v: object, digits: int = 1) -> str:
    return fmt(v, digits, thousands=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def dir_size(path: Path, exclude: Path | None = None) -> int:
    total = 0
    ex = exclude.resolve() if exclude else None
    for root, dirs, files in os.walk(path):
        rp = Path(root).resolve()
        if ex is not None and (rp == ex or ex in rp.parents):
            dirs[:] = []
            continue
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                pass
    return total


# --------------------------------------------------------------------------------------------
# ingest
# --------------------------------------------------------------------------------------------


def _kn(settings: Any, *args: str, timeout: float = 900) -> tuple[float, Any]:
    """Run ``kiemnhiem ARGS`` in a fresh process configured like ``settings``: (wall seconds, result);
    ``result.cpu_s`` is the child's CPU time (user + system), the number that a busy machine does not inflate."""
    env = serve_env(settings)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "assistant.cli", *args], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # type: ignore[attr-defined]
    if run.returncode not in (0, 3):
        _log(f"`kiemnhiem {' '.join(args)}` failed ({run.returncode}): {run.stderr[-500:]}")
    return wall, run


def raw_encode(embedder: Any, texts: list[str]) -> dict[str, Any]:
    """The same texts through one length-sorted ``embed_passages`` call: the ceiling for ingest."""
    tokens = sum(min(n, embedder.max_seq_length) for n in embedder.token_counts(texts))
    embedder.embed_passages(texts[:4])  # warm-up of the forward path
    t0, c0 = time.perf_counter(), time.process_time()
    embedder.embed_passages(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"texts": len(texts), "tokens": tokens, "s": wall, "cpu_s": cpu,
            "texts_per_s": len(texts) / wall if wall else None, "tokens_per_s": tokens / wall if wall else None}


def bench_corpus(base: Any, embedder: Any, label: str, *, paths: Sequence[Path] = (), documents: Any = None,
                 fold_vectors: bool | None = None, cold: bool = False, raw: bool = True) -> tuple[dict[str, Any], Any]:
    """A from-scratch ingest of one corpus into its own data dir, its raw-encode ceiling, and (``cold``)
    the fresh-process costs: a re-ingest with nothing changed, ``sources`` and one ``ask``."""
    settings = base.model_copy(update={"data_dir": base.data_dir / label})
    index = KnowledgeIndex(settings, embedder=embedder, fold_vectors=fold_vectors)
    _log(f"{label}: ingest from scratch …")
    c0 = time.process_time()
    report = index.ingest(list(paths), documents=documents, progress=lambda *_: None)
    cpu = time.process_time() - c0
    snap = index.snapshot(refresh=True)
    res: dict[str, Any] = {
        "label": label, "documents": report.documents, "passages": report.passages, "vectors": report.vectors,
        "embedded_vectors": report.embedded_vectors, "ingest_s": report.seconds, "ingest_cpu_s": cpu,
        "phases": dict(report.phases), "sentences": int(len(snap.sentence_passage)),
    }
    if raw:
        records = [r for p in snap.passages for r in passage_records(p, "", fold_vectors=index.fold_vectors,
                                                                     late_sentences=index.late_sentences)]
        texts = list(dict.fromkeys(r.embed_text for r in records))  # a late-chunked sentence costs no pass of its own
        _log(f"{label}: {report.vectors} vectors in {report.seconds:.1f} s; raw encode of the same "
             f"{len(texts)} texts …")
        res["raw"] = raw_encode(embedder, texts)
        embed_s = report.phases.get("embed", 0.0)
        res["embed_vs_raw"] = res["raw"]["s"] / embed_s if embed_s else None
        res["ingest_vs_raw"] = res["raw"]["s"] / report.seconds if report.seconds else None
    if cold and paths:
        _log(f"{label}: fresh-process re-ingest (nothing changed), sources, ask …")
        wall, run = _kn(settings, "ingest", *map(str, paths), "--json")
        rep = json.loads(run.stdout) if run.returncode == 0 else {}
        res["reingest"] = {"wall_s": wall, "cpu_s": run.cpu_s, "seconds": rep.get("seconds"),
                           "phases": rep.get("phases", {}), "embedded": rep.get("embedded"),
                           "model_loaded": "model" in rep.get("phases", {})}
        wall, run = _kn(settings, "sources", "--json")
        res["sources_wall_s"], res["sources_cpu_s"] = wall, run.cpu_s
        wall, run = _kn(settings, "ask", "Thành viên Ban bầu cử có được kiêm nhiệm không?", "--json")
        res["ask_cold_wall_s"], res["ask_cold_cpu_s"] = wall, run.cpu_s
    res["index_bytes"] = dir_size(settings.data_dir)
    _log(f"{label}: " + json.dumps(res, default=str))  # kept even if a later, longer corpus is interrupted
    return res, index


def estimate_corpus(embedder: Any, documents: Any, tokens_per_s: float | None, *,
                    fold_vectors: bool = False) -> dict[str, Any]:
    """Vectors and tokens a from-scratch ingest of ``documents`` would embed (chunked with the real
    tokenizer, nothing encoded), and the embed time at the raw-encode rate measured in this run."""
    t0 = time.perf_counter()
    p = plan(list(documents), Stored(),
             lambda d: chunk_document(d, max_tokens=MAX_TOKENS, count_tokens=embedder.token_count),
             fold_vectors=fold_vectors)
    first = {p.records[i].key: p.records[i] for i in p.missing}
    counts = embedder.token_counts([r.embed_text for r in first.values()])
    by_kind: dict[str, int] = {}
    for r, n in zip(first.values(), counts, strict=True):
        by_kind[r.variant] = by_kind.get(r.variant, 0) + min(n, embedder.max_seq_length)
    tokens = sum(by_kind.values())
    return {"passages": len(p.passages), "vectors": len(p.records), "distinct_texts": len(first),
            "tokens": tokens, "tokens_by_kind": by_kind, "plan_s": time.perf_counter() - t0,
            "est_embed_s": tokens / tokens_per_s if tokens_per_s else None}


def bench_ingest(settings: Any, args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """Model load, then each corpus from scratch (knowledge/, + the official law, ALQAC when asked)."""
    embedder = Embedder(settings)  # a fresh one: its load is measured here, not hidden in a cache
    t0 = time.perf_counter()
    _ = embedder.model
    out: dict[str, Any] = {"model_load_s": time.perf_counter() - t0, "corpora": [], "backend": embedder.backend,
                           "folded_vectors": settings.folded_vectors, "sentence_vectors": settings.sentence_vectors}
    full = "ingest" in args.only  # other sections only need the knowledge/ index
    res, index = bench_corpus(settings, embedder, "knowledge", paths=settings.knowledge_paths, cold=full, raw=full)
    out["corpora"].append(res)
    official = args.official
    if full and official and official.exists():
        res2, _ = bench_corpus(settings, embedder, "knowledge+official",
                               paths=[*settings.knowledge_paths, official], cold=True, raw=not args.quick)
        out["corpora"].append(res2)
    alqac = args.alqac or REPO.parent / "shared" / "datasets" / "alqac2023"
    if full and (alqac / "law.json").exists():
        laws = parse_alqac_laws(alqac / "law.json")
        if args.alqac:
            out["alqac"] = bench_alqac(settings, alqac)
        else:  # a full ALQAC ingest takes many minutes: estimate it from this run's raw-encode rate
            _log("alqac: planning (tokenizer only) to estimate the embed time …")
            out["alqac_estimate"] = estimate_corpus(embedder, laws.documents, res.get("raw", {}).get("tokens_per_s"))
    return out, index


def bench_alqac(settings: Any, folder: Path) -> dict[str, Any]:
    """ALQAC 2023 the way ``kiemnhiem eval alqac`` runs it: a from-scratch ingest into its own data dir
    (the issue's "≤ 5 min" figure) and the article-level retrieval scores of every mode."""
    s = settings.model_copy(update={"data_dir": settings.data_dir / "alqac"})
    c0 = time.process_time()
    res = evaluate_alqac(s, folder / "law.json", folder / "train.json", progress=_log)
    out = {"ingest_s": res.timings_s.get("ingest"), "cpu_s": time.process_time() - c0, "passages": res.passages,
           "articles": res.articles_indexed, "questions": res.questions, "ingest": res.ingest, "modes": res.modes,
           "timings_s": res.timings_s}
    _log("alqac: " + json.dumps(out, default=str))
    return out


ABLATION_VARIANTS = ("all vectors", "no folded passages", "late sentences", "late sentences, no folded")


def late_sentence_vectors(embedder: Any, snap: Any) -> Any:
    """The snapshot's sentence vectors recomputed by late chunking (one forward pass per passage)."""
    spans: list[list[tuple[int, int]]] = [[] for _ in snap.passages]
    for r, pi in enumerate(snap.sentence_passage):
        spans[int(pi)].append((int(snap.sentence_spans[r][0]), int(snap.sentence_spans[r][1])))
    per_passage: list[Any] = [None] * len(snap.passages)
    for group, _pv, sv in embedder.iter_encode_late([p.text for p in snap.passages], spans):
        for i, v in zip(group, sv, strict=True):
            per_passage[i] = v
    out = np.zeros_like(snap.sentence_vectors)
    seen = [0] * len(snap.passages)
    for r, pi in enumerate(snap.sentence_passage):
        out[r] = per_passage[int(pi)][seen[int(pi)]]
        seen[int(pi)] += 1
    return out


def bench_ablation(settings: Any, embedder: Any, questions: Path) -> dict[str, Any]:
    """Gold-set metrics with each vector kind removed or replaced, on one knowledge/ index.

    Swaps happen in memory on the same ingested generation (folded passage vectors are ignored by
    ``fold_vectors=False``; sentence vectors are replaced by late-chunked ones), so every variant
    sees the same passages and only the vectors differ.
    """
    late = None
    out: dict[str, Any] = {}
    for name in ABLATION_VARIANTS:
        index = KnowledgeIndex(settings, embedder=embedder, fold_vectors="no folded" not in name)
        snap = index.snapshot(refresh=True)
        if "late" in name:
            if late is None:
                t0 = time.perf_counter()
                late = late_sentence_vectors(embedder, snap)
                cos = (late * snap.sentence_vectors).sum(1)
                out["late_cosine"] = {"mean": float(cos.mean()), "min": float(cos.min()),
                                      "s": time.perf_counter() - t0}
            snap.sentence_vectors = late
        _log(f"ablation: {name} …")
        rep, _ = run_gold_eval(settings, questions, assistant=Assistant(settings, index=index),
                               modes=("dense", "hybrid+rerank"))
        m = rep["metrics"]
        out[name] = {
            "doc_hit1": m["retrieval"]["document"]["hit@1"], "sec_hit1": m["retrieval"]["section"]["hit@1"],
            "sec_hit3": m["retrieval"]["section"]["hit@3"], "sec_mrr": m["retrieval"]["section"]["mrr"],
            "sec_ndcg5": m["retrieval"]["section"]["ndcg@5"], "cit_p": m["citations"]["precision"],
            "cit_r": m["citations"]["recall"], "key_facts": m["key_facts"]["coverage"],
            "refusal": m["refusal"].get("accuracy"), "dense_sec_mrr": m["modes"]["dense"]["section"]["mrr"],
        }
    return out


def render_ablation(ab: dict[str, Any], cmd: str) -> list[str]:
    cols = [("doc_hit1", "doc hit@1"), ("sec_hit1", "section hit@1"), ("sec_hit3", "section hit@3"),
            ("sec_mrr", "section MRR"), ("sec_ndcg5", "section nDCG@5"), ("cit_p", "citation P"),
            ("cit_r", "citation R"), ("key_facts", "key facts"), ("refusal", "refusal acc."),
            ("dense_sec_mrr", "dense-only section MRR")]
    lines = ["```", f"$ {cmd} --only ablation", "```", "",
             "| vectors | " + " | ".join(c for _, c in cols) + " |", "|---|" + "---:|" * len(cols)]
    for name in ABLATION_VARIANTS:
        if name in ab:
            lines.append(f"| {name} | " + " | ".join(_f(ab[name].get(k), 3) for k, _ in cols) + " |")
    if "late_cosine" in ab:
        c = ab["late_cosine"]
        lines += ["", f"Late-chunked vs separately embedded sentence vectors: cosine mean {c['mean']:.3f}, "
                      f"min {c['min']:.3f}."]
    return [*lines, ""]


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


def run_sequential(url: str, questions: list[dict[str, Any]], n: int, max_s: float) -> dict[str, Any]:
    return _lat_summary(generate(url, questions, clients=1, seconds=max_s, requests=n, timeout=60))


def run_concurrent(url: str, questions: list[dict[str, Any]], n: int, clients: int, max_s: float) -> dict[str, Any]:
    res = generate(url, questions, clients=clients, seconds=max_s, requests=n, timeout=120)
    return _lat_summary(res) | {"clients": clients}


def _lat_summary(res: LoadResult) -> dict[str, Any]:
    lat, wall = res.latencies_ms, res.seconds
    return {"requests": res.requests, "errors": res.errors, "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95),
            "max_ms": max(lat) if lat else None, "wall_s": wall, "rps": len(lat) / wall if wall else None}


def bench_serve(settings: Any, questions: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    log_path = Path(tempfile.mkstemp(prefix="kiemnhiem-bench-serve-", suffix=".log")[1])
    srv = ServeProcess(serve_env(settings), args.workers, log_path)
    try:
        _log(f"starting server on {srv.url} (workers={args.workers}) …")
        startup = srv.wait().startup_s
        url = srv.url  # POST /ask
        generate(url, questions[:3], clients=1, seconds=120, requests=3)  # warm-up, not counted
        phase = getattr(args, "phase_seconds", args.max_seconds)
        _log(f"sequential: {args.requests} requests (≤ {phase:.0f} s) …")
        seq = run_sequential(url, questions, args.requests, phase)
        _log(f"concurrent: {args.concurrent_requests} requests, {args.clients} clients (≤ {phase:.0f} s) …")
        conc = run_concurrent(url, questions, args.concurrent_requests, args.clients, phase)
        rss = peak_rss_mb(srv.proc.pid)
    finally:
        srv.stop()
        try:
            log_path.unlink()
        except OSError:
            pass
    return {"startup_s": startup, "sequential": seq, "concurrent": conc, "rss": rss, "workers": args.workers,
            "phase_s": phase}


def bench_embedded(settings: Any, index: Any, questions: list[dict[str, Any]], n: int,
                   max_s: float) -> dict[str, Any]:
    assistant = Assistant(settings, index=index)
    for q in questions[:3]:
        assistant.ask(q["question"], history=q["history"])
    lat, internal = [], []
    t0 = time.perf_counter()
    for i in range(n):
        if time.perf_counter() - t0 > max_s:
            break
        q = questions[i % len(questions)]
        t = time.perf_counter()
        res = assistant.ask(q["question"], history=q["history"])
        lat.append((time.perf_counter() - t) * 1000)
        internal.append(res.timings_ms.get("total", 0.0))
    out = _lat_summary(LoadResult(lat, {200: len(lat)}, {}, time.perf_counter() - t0))
    out["internal_p50_ms"] = percentile(internal, 50)
    out["internal_p95_ms"] = percentile(internal, 95)
    out["rss_mb"] = proc_status_kib(os.getpid(), "VmHWM") / 1024
    out["phase_s"] = max_s
    return out


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def git_commit() -> str:
    return gc(REPO)


def render(results: dict[str, Any], args: argparse.Namespace, meta: dict[str, Any]) -> str:
    cmd = ".venv/bin/kiemnhiem dev bench"
    lines = [
        f"## {meta['date']} · commit `{meta['commit']}`",
        "",
        f"- machine: {meta['cpu']}, `nproc` = {meta['nproc']}, load average at start {meta['load']}",
        f"- Python {meta['python']}, torch threads {meta['threads']}, embed batch {meta['batch']}, model "
        f"`{meta['model']}`",
        f"- whole run {meta['seconds']:.0f} s",
        "",
    ]
    ing = results.get("ingest")
    if ing and "ingest" in args.only:
        lines += render_ingest(ing, args, cmd)
    lines += render_targets(results)
    if results.get("ablation"):
        lines += render_ablation(results["ablation"], cmd)
    srv = results.get("serve")
    emb = results.get("embedded")
    if srv or emb:
        parts = []
        if srv:
            parts.append(f"{cmd} --only serve --requests {args.requests} --concurrent-requests "
                         f"{args.concurrent_requests} --clients {args.clients} --max-seconds {args.max_seconds:.0f}"
                         + (f" --workers {args.workers}" if args.workers != 1 else ""))
        if emb:
            parts.append(f"{cmd} --only embedded --requests {args.requests}")
        lines += ["```", *(f"$ {p}" for p in parts), "```", "",
                  "| path | requests | errors | p50 ms | p95 ms | max ms | req/s |", "|---|---:|---:|---:|---:|---:|---:|"]
        if srv:
            s, c = srv["sequential"], srv["concurrent"]
            lines.append(f"| HTTP `POST /ask`, sequential | {s['requests']} | {s['errors']} | {_f(s['p50_ms'])} | "
                         f"{_f(s['p95_ms'])} | {_f(s['max_ms'])} | {_f(s['rps'], 2)} |")
            lines.append(f"| HTTP `POST /ask`, {c['clients']} concurrent clients | {c['requests']} | {c['errors']} | "
                         f"{_f(c['p50_ms'])} | {_f(c['p95_ms'])} | {_f(c['max_ms'])} | {_f(c['rps'], 2)} |")
        if emb:
            lines.append(f"| embedded `Assistant.ask` | {emb['requests']} | {emb['errors']} | {_f(emb['p50_ms'])} | "
                         f"{_f(emb['p95_ms'])} | {_f(emb['max_ms'])} | {_f(emb['rps'], 2)} |")
        bounds = sorted({round(x["phase_s"]) for x in (srv, emb) if x})
        lines += ["", f"Each latency phase stops after {' / '.join(map(str, bounds))} s even if fewer requests "
                  "were sent (the requests column is what was measured); errors = non-200 answers.", ""]
        if srv:
            r = srv["rss"]
            lines += [
                "| server | value |", "|---|---:|",
                f"| workers | {srv['workers']} |",
                f"| start-up to healthy | {_f(srv['startup_s'])} s |",
                f"| peak RSS (VmHWM) | {r['process_mb']:.0f} MiB"
                + (f" (+ children: {r['total_mb']:.0f} MiB total)" if r["children"] else "") + " |",
                "",
            ]
        if emb:
            lines += [f"Embedded path: `timings_ms.total` p50 {_f(emb['internal_p50_ms'])} ms, p95 "
                      f"{_f(emb['internal_p95_ms'])} ms; bench process peak RSS {emb['rss_mb']:.0f} MiB.", ""]
    return "\n".join(lines)


def table_cells(items: Sequence[dict[str, Any]], fn: Callable[[dict[str, Any]], str]) -> list[str]:
    """One table cell per item (a corpus, a backend): ``fn(item)``, or "–" where it was not measured."""
    vals = []
    for item in items:
        try:
            vals.append(fn(item))
        except (KeyError, TypeError, ZeroDivisionError, IndexError):
            vals.append("–")
    return vals


def render_ingest(ing: dict[str, Any], args: argparse.Namespace, cmd: str) -> list[str]:
    """One column per corpus; ratios within the run are the comparable numbers on a shared machine."""
    corpora = ing["corpora"]
    labels = {c["label"] for c in corpora}
    flags = (f" --official {args.official}" if "knowledge+official" in labels else " --no-official") + (
        f" --alqac {args.alqac}" if "alqac" in labels else "") + (" --quick" if args.quick else "")
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, fn: Any) -> None:
        rows.append((name, table_cells(corpora, fn)))

    row("documents / passages / vectors", lambda c: f"{c['documents']} / {c['passages']} / {c['vectors']}")
    row("ingest from scratch (wall · CPU)", lambda c: f"{_f(c['ingest_s'])} s · {_f(c['ingest_cpu_s'])} s")
    for ph in ("load", "chunk", "model", "embed", "store", "bm25", "swap"):
        row(f"· phase {ph}", lambda c, ph=ph: f"{_f(c['phases'].get(ph, 0.0), 2)} s")
    row("ingest throughput", lambda c: f"{_f(c['vectors'] / c['ingest_s'], 1)} vectors/s")
    row("raw encode, same texts, one sorted call", lambda c: (
        f"{_f(c['raw']['texts_per_s'], 1)} texts/s · {_f(c['raw']['tokens_per_s'], 0)} tokens/s "
        f"({_f(c['raw']['s'])} s)"))
    row("embed phase ÷ raw encode (throughput ratio)", lambda c: _f(c["embed_vs_raw"], 2))
    row("whole ingest ÷ raw encode (throughput ratio)", lambda c: _f(c["ingest_vs_raw"], 2))
    row("re-ingest unchanged, fresh process (wall · CPU · inside ingest)", lambda c: (
        f"{_f(c['reingest']['wall_s'])} s · {_f(c['reingest'].get('cpu_s'))} s · {_f(c['reingest']['seconds'], 2)} s, "
        f"model {'loaded' if c['reingest']['model_loaded'] else 'not loaded'}"))
    row("`sources`, fresh process (wall · CPU)", lambda c: f"{_f(c['sources_wall_s'])} s · {_f(c.get('sources_cpu_s'))} s")
    row("`ask`, fresh process, cold (wall · CPU)", lambda c: (
        f"{_f(c['ask_cold_wall_s'])} s · {_f(c.get('ask_cold_cpu_s'))} s"))
    row("data dir without model", lambda c: f"{c['index_bytes'] / 1e6:.1f} MB")
    est = ing.get("alqac_estimate")
    note = []
    if est:
        note = [f"ALQAC 2023, not ingested (`--alqac DIR` ingests it): {est['passages']:,} passages, "
                f"{est['vectors']:,} vectors ({est['distinct_texts']:,} distinct texts, {est['tokens']:,} tokens: "
                + ", ".join(f"{k} {v:,}" for k, v in est["tokens_by_kind"].items())
                + f"); at this run's raw-encode rate the embedding alone would take ≈ {_f(est['est_embed_s'], 0)} s.",
                ""]
    out = ["```", f"$ {cmd} --only ingest{flags}", "```", "", *note,
           f"Model load ({ing.get('backend', '?')}): {_f(ing['model_load_s'])} s. Vectors = passage + "
           + ("folded copy + " if ing.get("folded_vectors") else "")
           + f"quotable sentences ({ing.get('sentence_vectors', 'separate')}).", "",
           "| measure | " + " | ".join(c["label"] for c in corpora) + " |",
           "|---|" + "---:|" * len(corpora)]
    out += [f"| {name} | " + " | ".join(vals) + " |" for name, vals in rows]
    return [*out, ""]


def render_targets(results: dict[str, Any]) -> list[str]:
    """Issue #12's targets against this run's figures (– = not measured in this run)."""
    ing = results.get("ingest") or {}
    by = {c["label"]: c for c in ing.get("corpora", [])}
    kn, ko, aq = by.get("knowledge", {}), by.get("knowledge+official", {}), ing.get("alqac") or {}
    seq = (results.get("serve") or {}).get("sequential") or {}
    best = (aq.get("modes") or {}).get("hybrid+rerank") or {}

    def get(d: dict[str, Any], *path: str) -> Any:
        for key in path:
            d = d.get(key) if isinstance(d, dict) else None  # type: ignore[assignment]
        return d

    rows = [
        ("ingest ÷ raw encode of the same vectors, knowledge/ (throughput ratio)", kn.get("ingest_vs_raw"), "≥", 0.8),
        ("knowledge/ from scratch, s", kn.get("ingest_s"), "≤", 10.0),
        ("knowledge/ + the official law from scratch, s", ko.get("ingest_s"), "≤", 30.0),
        ("ALQAC 2023 (2,131 articles) from scratch, s", aq.get("ingest_s"), "≤", 300.0),
        ("re-ingest unchanged, fresh process, s", get(kn, "reingest", "wall_s"), "≤", 1.0),
        ("CLI `ask` cold, fresh process, s", kn.get("ask_cold_wall_s"), "≤", 3.0),
        ("HTTP `/ask` p50, ms", seq.get("p50_ms"), "≤", 40.0),
        ("HTTP `/ask` p95, ms", seq.get("p95_ms"), "≤", 100.0),
        ("ALQAC recall@5 (hybrid+rerank)", best.get("recall@5"), "≥", 0.98),
        ("ALQAC MRR@10 (hybrid+rerank)", best.get("mrr@10"), "≥", 0.90),
    ]
    out = ["| issue #12 target | this run | target | met? |", "|---|---:|---:|---|"]
    for name, value, op, bound in rows:
        if value is None:
            out.append(f"| {name} | – | {op} {bound:g} | not measured |")
            continue
        met = value >= bound if op == "≥" else value <= bound
        out.append(f"| {name} | {_f(value, 3 if bound < 1.5 else 1)} | {op} {bound:g} | {'yes' if met else '**no**'} |")
    out.append("")
    if aq.get("modes"):
        out += [f"ALQAC 2023 train ({aq['questions']} questions, {aq['articles']:,} articles as {aq['passages']:,} "
                f"passages; ingest {_f(aq['ingest_s'])} s wall, whole evaluation {_f(aq['cpu_s'])} CPU s):", "",
                "| mode | recall@1 | recall@5 | recall@10 | MRR@10 |", "|---|---:|---:|---:|---:|"]
        for mode, m in aq["modes"].items():
            out.append(f"| {mode} | " + " | ".join(_f(m.get(k), 3) for k in ("recall@1", "recall@5", "recall@10",
                                                                               "mrr@10")) + " |")
        out.append("")
    return out


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def publish(section: str, output: Path, no_write: bool) -> bool:
    """A bench's report section: on stderr with ``--no-write``, else appended to ``output``; True when appended."""
    if no_write:
        sys.stderr.write(section + "\n")
        return False
    append_markdown(output, section)
    return True


def append_markdown(path: Path, section: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or not path.read_text("utf-8").strip():
        path.write_text(INTRO + "\n", "utf-8")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n" + section.rstrip() + "\n")


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="kiemnhiem dev bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=SECTIONS,
                    help="Run only these sections (repeatable); ingest always runs to build the index")
    ap.add_argument("--requests", type=int, default=100, help="Sequential requests (HTTP and embedded)")
    ap.add_argument("--concurrent-requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=120.0, help="Bound of each latency phase")
    ap.add_argument("--budget", type=float, default=600.0,
                    help="Overall time budget in seconds: latency phases shrink to fit what is left")
    ap.add_argument("--workers", type=int, default=1, help="Server worker processes")
    ap.add_argument("--questions", type=Path, default=REPO / "eval" / "questions.jsonl")
    ap.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--no-write", action="store_true", help="Print the section instead of appending it")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary data dir")
    ap.add_argument("--official", type=Path, default=REPO.parent / "shared" / "corpus" / "official",
                    help="Official law folder ingested with knowledge/ as a second corpus (skipped if absent)")
    ap.add_argument("--no-official", dest="official", action="store_const", const=None)
    ap.add_argument("--alqac", type=Path, default=None,
                    help="ALQAC 2023 folder (law.json): also ingest it from scratch (slow: thousands of vectors); "
                         "without it, ../shared/datasets/alqac2023 is only planned and its embed time estimated")
    ap.add_argument("--quick", action="store_true", help="Skip the raw-encode ceiling of the larger corpora")
    args = ap.parse_args(argv)
    args.only = args.only or list(DEFAULT_SECTIONS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    base = Settings()
    configure_threads(base)
    t_start = time.perf_counter()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    data_dir = Path(tempfile.mkdtemp(prefix="kiemnhiem-bench-"))
    model_dir = base.model_dir.resolve()
    knowledge = [p if p.is_absolute() else (Path.cwd() / p).resolve() for p in base.knowledge_paths]
    settings = base.model_copy(update={"data_dir": data_dir, "model_path": model_dir, "chroma_url": None,
                                       "knowledge_paths": knowledge, "collection": "kiemnhiem"})
    questions = gold_requests(args.questions)
    results: dict[str, Any] = {}
    try:
        results["ingest"], index = bench_ingest(settings, args)
        settings = index.settings  # the knowledge/ index serves the latency phases
        # latency phases: sequential + concurrent HTTP, embedded; each bounded, and together they
        # share what is left of the budget (server start-up takes some of it too)
        phases = 2 * ("serve" in args.only) + ("embedded" in args.only)

        def allowance() -> float:
            left = args.budget - (time.perf_counter() - t_start) - 30 * ("serve" in args.only)
            return max(15.0, min(args.max_seconds, left / max(phases, 1)))

        if "serve" in args.only:
            args.phase_seconds = allowance()
            results["serve"] = bench_serve(settings, questions, args)
        if "ablation" in args.only:
            results["ablation"] = bench_ablation(settings, index.embedder, args.questions)
        if "embedded" in args.only:
            phase = allowance()
            _log(f"embedded: {args.requests} questions through Assistant.ask (≤ {phase:.0f} s) …")
            results["embedded"] = bench_embedded(settings, index, questions, args.requests, phase)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            _log(f"data dir kept: {data_dir}")
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": git_commit(), "cpu": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)), "load": load, "python": platform.python_version(), "threads": settings.threads,
        "batch": settings.embed_batch_size, "model": getattr(index.embedder, "model_id", "?"),
        "seconds": time.perf_counter() - t_start,
    }
    section = render(results, args, meta)
    sys.stdout.write(json.dumps({"meta": meta, **results}, ensure_ascii=False, default=str) + "\n")
    if publish(section, args.output, args.no_write):
        _log(f"appended to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
