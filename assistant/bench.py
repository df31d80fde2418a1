"""Performance benchmarks (``make bench`` = ``python -m assistant.bench``); not a test.

Measures, on this machine:

* **ingest**: a from-scratch ingest of the knowledge folders into a temporary data dir
  (passages/s, and embeddings/s, since ingest embeds each passage, its diacritic-folded copy and
  every quotable sentence), beside the raw encode throughput of the same passage texts
  (``Embedder.embed_passages``, batch = ``embed_batch_size``); a re-ingest with nothing changed;
  the index size on disk (data dir minus the model folder).
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
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.serverproc import ServeProcess, serve_env

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("ingest", "serve", "embedded")
INTRO = """# Benchmarks

Performance of kiemnhiem measured with `make bench` (`python -m assistant.bench`): ingest
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


def _pct(values: Sequence[float], q: float) -> float | None:
    from assistant.evaluation import percentile

    return percentile(values, q)


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


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


def _proc_status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """All descendant pids (via /proc/<pid>/task/*/children)."""
    out: list[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            for k in kids:
                if k.isdigit() and int(k) not in out:
                    out.append(int(k))
                    stack.append(int(k))
    return out


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM of the process and the sum over it and its children (workers), in MiB."""
    own = _proc_status_kb(pid, "VmHWM")
    kids = descendants(pid)
    total = own + sum(_proc_status_kb(k, "VmHWM") for k in kids)
    return {"process_mb": own / 1024, "total_mb": total / 1024, "children": len(kids)}


def _questions(path: Path) -> list[dict[str, Any]]:
    from assistant.evaluation import load_questions

    return [{"question": q.question, "history": q.history} for q in load_questions(path)]


# --------------------------------------------------------------------------------------------
# ingest
# --------------------------------------------------------------------------------------------


def bench_ingest(settings: Any) -> tuple[dict[str, Any], Any]:
    from assistant.embeddings import get_embedder
    from assistant.index import KnowledgeIndex

    t0 = time.perf_counter()
    embedder = get_embedder(settings)
    model_load = time.perf_counter() - t0
    index = KnowledgeIndex(settings, embedder=embedder)
    _log(f"ingest from scratch into {settings.data_dir} …")
    report = index.ingest(list(settings.knowledge_paths))
    snap = index.snapshot(refresh=True)
    n_pass = len(snap.passages)
    n_sent = int(len(snap.sentence_passage))
    n_emb = n_pass * (2 if index.fold_vectors else 1) + n_sent
    _log(f"ingest: {n_pass} passages, {n_emb} embeddings in {report.seconds:.1f} s; raw encode …")
    texts = [p.text for p in snap.passages]
    embedder.embed_passages(texts[:4])  # warm-up of the forward path
    t1 = time.perf_counter()
    embedder.embed_passages(texts)
    raw = time.perf_counter() - t1
    _log("re-ingest with nothing changed …")
    re_rep = index.ingest(list(settings.knowledge_paths))
    size = dir_size(settings.data_dir, exclude=settings.model_dir)
    res = {
        "documents": report.documents, "passages": n_pass, "sentences": n_sent, "embeddings": n_emb,
        "model_load_s": model_load, "ingest_s": report.seconds,
        "ingest_passages_per_s": n_pass / report.seconds if report.seconds else None,
        "ingest_embeddings_per_s": n_emb / report.seconds if report.seconds else None,
        "raw_encode_s": raw, "raw_passages_per_s": n_pass / raw if raw else None,
        "batch_size": settings.embed_batch_size,
        "reingest_s": re_rep.seconds, "reingest_changed": re_rep.added + re_rep.updated + re_rep.removed,
        "index_bytes": size, "chroma_bytes": dir_size(settings.chroma_dir),
        "bm25_bytes": dir_size(settings.bm25_dir) if settings.bm25_dir.exists() else 0,
    }
    return res, index


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


def _post(client: Any, url: str, payload: dict[str, Any]) -> tuple[float, int]:
    t0 = time.perf_counter()
    try:
        r = client.post(url, json=payload)
        code = r.status_code
    except Exception:  # noqa: BLE001 - counted as an error
        code = 0
    return (time.perf_counter() - t0) * 1000, code


def run_sequential(url: str, questions: list[dict[str, Any]], n: int, max_s: float) -> dict[str, Any]:
    import httpx

    lat, errors = [], 0
    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        for i in range(n):
            if time.perf_counter() - t0 > max_s:
                break
            ms, code = _post(client, url, questions[i % len(questions)])
            lat.append(ms)
            errors += code != 200
    wall = time.perf_counter() - t0
    return _lat_summary(lat, errors, wall)


def run_concurrent(url: str, questions: list[dict[str, Any]], n: int, clients: int, max_s: float) -> dict[str, Any]:
    import httpx

    lock = threading.Lock()
    state = {"next": 0}
    lat: list[float] = []
    errors = [0]
    t0 = time.perf_counter()

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    i = state["next"]
                    if i >= n or time.perf_counter() - t0 > max_s:
                        return
                    state["next"] += 1
                ms, code = _post(client, url, questions[i % len(questions)])
                with lock:
                    lat.append(ms)
                    errors[0] += code != 200

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_s + 150)
    wall = time.perf_counter() - t0
    with lock:
        return _lat_summary(list(lat), errors[0], wall) | {"clients": clients}


def _lat_summary(lat: list[float], errors: int, wall: float) -> dict[str, Any]:
    return {"requests": len(lat), "errors": errors, "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95),
            "max_ms": max(lat) if lat else None, "wall_s": wall, "rps": len(lat) / wall if wall else None}


def bench_serve(settings: Any, questions: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    log_path = Path(tempfile.mkstemp(prefix="kiemnhiem-bench-serve-", suffix=".log")[1])
    srv = ServeProcess(serve_env(settings), args.workers, log_path)
    try:
        _log(f"starting server on {srv.url} (workers={args.workers}) …")
        startup = srv.wait().startup_s
        url = srv.url + "/ask"
        import httpx

        with httpx.Client(timeout=60) as client:  # warm-up, not counted
            for q in questions[:3]:
                _post(client, url, q)
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
    from assistant.chain import Assistant

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
    wall = time.perf_counter() - t0
    out = _lat_summary(lat, 0, wall)
    out["internal_p50_ms"] = _pct(internal, 50)
    out["internal_p95_ms"] = _pct(internal, 95)
    out["rss_mb"] = _proc_status_kb(os.getpid(), "VmHWM") / 1024
    out["phase_s"] = max_s
    return out


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def git_commit() -> str:
    from assistant.evaluation import git_commit as gc

    return gc(REPO)


def render(results: dict[str, Any], args: argparse.Namespace, meta: dict[str, Any]) -> str:
    cmd = ".venv/bin/python -m assistant.bench"
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
        lines += [
            "```", f"$ {cmd} --only ingest", "```", "",
            "| measure | value |", "|---|---:|",
            f"| documents / passages / sentences | {ing['documents']} / {ing['passages']} / {ing['sentences']} |",
            f"| embeddings written (passage + folded copy + sentences) | {ing['embeddings']} |",
            f"| model load | {_f(ing['model_load_s'])} s |",
            f"| ingest from scratch | {_f(ing['ingest_s'])} s |",
            f"| ingest throughput | {_f(ing['ingest_passages_per_s'], 2)} passages/s · "
            f"{_f(ing['ingest_embeddings_per_s'], 1)} embeddings/s |",
            f"| raw encode of the same passages (`embed_passages`, batch {ing['batch_size']}) | "
            f"{_f(ing['raw_passages_per_s'], 2)} passages/s ({_f(ing['raw_encode_s'])} s) |",
            f"| re-ingest, nothing changed | {_f(ing['reingest_s'], 2)} s ({ing['reingest_changed']} changes) |",
            f"| index on disk (data dir without model) | {ing['index_bytes'] / 1e6:.1f} MB "
            f"(Chroma {ing['chroma_bytes'] / 1e6:.1f} MB, BM25 {ing['bm25_bytes'] / 1e6:.2f} MB) |",
            "",
        ]
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
    ap = argparse.ArgumentParser(prog="python -m assistant.bench", description=__doc__.split("\n\n")[0])
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
    args = ap.parse_args(argv)
    args.only = args.only or list(SECTIONS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from assistant.config import Settings, configure_threads

    base = Settings()
    configure_threads(base)
    t_start = time.perf_counter()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    data_dir = Path(tempfile.mkdtemp(prefix="kiemnhiem-bench-"))
    model_dir = base.model_dir.resolve()
    knowledge = [p if p.is_absolute() else (Path.cwd() / p).resolve() for p in base.knowledge_paths]
    settings = base.model_copy(update={"data_dir": data_dir, "model_path": model_dir, "chroma_url": None,
                                       "knowledge_paths": knowledge, "collection": "kiemnhiem"})
    questions = _questions(args.questions)
    results: dict[str, Any] = {}
    try:
        results["ingest"], index = bench_ingest(settings)
        # latency phases: sequential + concurrent HTTP, embedded; each bounded, and together they
        # share what is left of the budget (server start-up takes some of it too)
        phases = 2 * ("serve" in args.only) + ("embedded" in args.only)

        def allowance() -> float:
            left = args.budget - (time.perf_counter() - t_start) - 30 * ("serve" in args.only)
            return max(15.0, min(args.max_seconds, left / max(phases, 1)))

        if "serve" in args.only:
            args.phase_seconds = allowance()
            results["serve"] = bench_serve(settings, questions, args)
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
    if args.no_write:
        sys.stderr.write(section + "\n")
    else:
        append_markdown(args.output, section)
        _log(f"appended to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
