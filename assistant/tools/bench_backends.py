"""Encoder backends side by side (issue #12): torch vs ONNX Runtime (fp32, int8), in one run.

``python -m assistant.tools.bench_backends`` (``make bench`` calls it after the main bench) measures, for
each backend on the same machine in the same run: the model load, the raw encode of the same
texts (tokens/s), a from-scratch ingest of knowledge/ (and of knowledge/ + the official law),
a re-ingest with nothing changed and a cold ``kiemnhiem ask`` in fresh processes, the in-process
``Assistant.ask`` latency, and, with ``--quality``, the gold-set metrics and the cosine of every
vector to the torch one (the bar for adopting int8: cosine >= 0.99, every retrieval metric within
0.01). The machine is shared: the load average is recorded before and after each backend, and the
comparable figures are the ratios to torch within this run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.answering.chain import Assistant
from assistant.config import Settings, configure_threads
from assistant.embed.embeddings import Embedder
from assistant.evaluation import run_gold_eval
from assistant.ingest.documents import iter_documents
from assistant.tools.bench import (
    _f,
    append_markdown,
    bench_corpus,
    bench_embedded,
    git_commit,
    load_average,
    raw_encode,
    table_cells,
)
from assistant.tools.loadtest import gold_requests

REPO = Path(__file__).resolve().parents[2]
BACKENDS: dict[str, dict[str, Any]] = {
    "torch": {"embed_backend": "torch"},
    "onnx-fp32": {"embed_backend": "onnx", "embed_int8": False},
    "onnx-int8": {"embed_backend": "onnx", "embed_int8": True},
}
# retrieval metrics held to "within 0.01 of torch" for int8
RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")
ASK = "Thành viên Ban bầu cử có được kiêm nhiệm không?"


def _log(msg: str) -> None:
    sys.stderr.write(f"[bench-backends] {msg}\n")
    sys.stderr.flush()


def backend_settings(base: Any, name: str, root: Path) -> Any:
    """Settings for one backend with its own data dir (the ONNX export lives beside the model: exported once)."""
    data_dir = root / name
    data_dir.mkdir(parents=True, exist_ok=True)
    return base.model_copy(update={"data_dir": data_dir, **BACKENDS[name]})


def vector_agreement(reference: Any, other: Any) -> dict[str, float]:
    """Cosine of each row to the reference row (both L2-normalised)."""
    cos = (reference * other).sum(1)
    return {"cos_min": float(cos.min()), "cos_mean": float(cos.mean()), "n": int(len(cos))}


def gold_metrics(settings: Any, index: Any, questions: Path) -> dict[str, Any]:
    """The gold set's retrieval (per mode), citation, key-fact and refusal figures on ``index``."""
    report, _ = run_gold_eval(settings, questions, assistant=Assistant(settings, index=index))
    m = report["metrics"]
    out: dict[str, Any] = {"retrieval": {"final": m["retrieval"]}, "seconds": report["seconds"]}
    for mode, r in m.get("modes", {}).items():
        out["retrieval"][mode] = {"document": r["document"], "section": r["section"]}
    out["citations"] = {k: m["citations"].get(k) for k in ("precision", "recall", "validity")}
    out["key_facts"] = m["key_facts"].get("coverage")
    out["refusal"] = m["refusal"].get("accuracy")
    out["latency_ms"] = m.get("latency_ms", {})
    return out


def max_retrieval_drop(ref: dict[str, Any], other: dict[str, Any]) -> float:
    """Largest fall of any retrieval metric (every mode, document and section level) vs ``ref``."""
    worst = 0.0
    for mode, levels in ref["retrieval"].items():
        for level in ("document", "section"):
            for k in RETRIEVAL_KEYS:
                a = levels.get(level, {}).get(k)
                b = other["retrieval"].get(mode, {}).get(level, {}).get(k)
                if a is not None and b is not None:
                    worst = max(worst, a - b)
    return worst


def bench_backend(base: Any, name: str, root: Path, args: argparse.Namespace,
                  texts: list[str] | None) -> tuple[dict[str, Any], Any]:
    """Everything measured for one backend; returns (results, the knowledge/ index)."""
    settings = backend_settings(base, name, root)
    res: dict[str, Any] = {"backend": name, "load_before": load_average()}
    embedder = Embedder(settings)
    t0, c0 = time.perf_counter(), time.process_time()
    _ = embedder.model  # includes the one-off export when the ONNX graph is not there yet
    res["load_s"], res["load_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    res["resolved"], res["fallback"] = embedder.backend, embedder.fallback_reason
    if texts:
        res["raw"] = raw_encode(embedder, texts)
    corpora = [("knowledge", list(settings.knowledge_paths))]
    if args.official and Path(args.official).exists():
        corpora.append(("knowledge+official", [*settings.knowledge_paths, Path(args.official)]))
    res["corpora"], index = [], None
    for label, paths in corpora:
        first = label == "knowledge"
        r, idx = bench_corpus(settings, embedder, label, paths=paths, cold=first, raw=first)
        res["corpora"].append(r)
        index = index or idx
    if args.requests:
        kn = res["corpora"][0]
        assert index is not None
        qs = gold_requests(args.questions)
        res["embedded"] = bench_embedded(index.settings, index, qs, args.requests, args.max_seconds)
        res["ask_cold_wall_s"], res["ask_cold_cpu_s"] = kn.get("ask_cold_wall_s"), kn.get("ask_cold_cpu_s")
    if args.quality:
        _log(f"{name}: gold set …")
        assert index is not None
        res["gold"] = gold_metrics(index.settings, index, args.questions)
    res["load_after"] = load_average()
    _log(f"{name}: " + json.dumps({k: v for k, v in res.items() if k != "gold"}, default=str)[:2000])
    return res, embedder


def sample_texts(settings: Any, n: int) -> list[str]:
    """Up to ``n`` passages and sentences of knowledge/, the same for every backend."""
    texts: list[str] = []
    for doc in iter_documents(list(settings.knowledge_paths))[0]:
        for para in doc.text.split("\n\n"):
            if len(para.strip()) > 30:
                texts.append(para.strip())
    return texts[:: max(1, len(texts) // n)][:n]


# issue #12's targets (idle 2-core machine): (label, what is read from a backend's results, bound, higher is better)
TARGETS: tuple[tuple[str, Callable[[dict[str, Any]], float | None], float, bool], ...] = (
    ("ingest ÷ raw encode, knowledge/ (throughput ratio) ≥ 0.8", lambda r: r["corpora"][0]["ingest_vs_raw"], 0.8, True),
    ("knowledge/ from scratch ≤ 10 s", lambda r: r["corpora"][0]["ingest_s"], 10.0, False),
    ("knowledge/ + official law from scratch ≤ 30 s", lambda r: r["corpora"][1]["ingest_s"], 30.0, False),
    ("re-ingest unchanged, fresh process ≤ 1 s", lambda r: r["corpora"][0]["reingest"]["wall_s"], 1.0, False),
    ("CLI `ask` cold ≤ 3 s", lambda r: r["ask_cold_wall_s"], 3.0, False),
    ("ask p50 ≤ 40 ms (in-process `Assistant.ask`)", lambda r: r["embedded"]["p50_ms"], 40.0, False),
    ("ask p95 ≤ 100 ms (in-process `Assistant.ask`)", lambda r: r["embedded"]["p95_ms"], 100.0, False),
)


def render_targets(results: list[dict[str, Any]]) -> list[str]:
    """Each #12 target per backend: measured value, met or not (wall time: a loaded machine misses them)."""
    out = ["| target (issue #12) | " + " | ".join(r["backend"] for r in results) + " |",
           "|---|" + "---:|" * len(results)]
    for label, get, bound, higher in TARGETS:
        cells = []
        for r in results:
            try:
                v = get(r)
            except (KeyError, IndexError, TypeError):
                v = None
            ok = v is not None and (v >= bound if higher else v <= bound)
            cells.append("–" if v is None else f"{_f(float(v), 2)} {'met' if ok else 'not met'}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return [*out, ""]


def render(results: list[dict[str, Any]], agreement: dict[str, Any], meta: dict[str, Any]) -> str:
    """A Markdown section: one column per backend, ratios to torch where they matter."""
    names = [r["backend"] for r in results]
    ref = results[0]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn: Any) -> None:
        rows.append((label, table_cells(results, fn)))

    def ratio(a: float | None, b: float | None) -> str:
        return f" ({a / b:.2f}×)" if a and b else ""

    row("backend that ran (fallback reason)", lambda r: r["resolved"] + (f" ({r['fallback']})" if r["fallback"] else ""))
    row("load average before → after", lambda r: f"{r['load_before']} → {r['load_after']}")
    row("model load, warm export (wall · CPU)", lambda r: f"{_f(r['load_s'])} s · {_f(r['load_cpu_s'])} s")
    row("raw encode, same texts (tokens/s, × torch)", lambda r: f"{_f(r['raw']['tokens_per_s'], 0)}"
        + ratio(r['raw']['tokens_per_s'], ref['raw']['tokens_per_s']))
    row("raw encode CPU s (÷ torch)", lambda r: f"{_f(r['raw']['cpu_s'])}"
        + ratio(r['raw']['cpu_s'], ref['raw']['cpu_s']))
    for i, label in enumerate(c["label"] for c in ref["corpora"]):
        row(f"{label} from scratch (wall · CPU, × torch wall)", lambda r, i=i: (
            f"{_f(r['corpora'][i]['ingest_s'])} s · {_f(r['corpora'][i]['ingest_cpu_s'])} s"
            + ratio(r['corpora'][i]['ingest_s'], ref['corpora'][i]['ingest_s'])))
        row(f"{label}: vectors / embed phase", lambda r, i=i: (
            f"{r['corpora'][i]['vectors']} / {_f(r['corpora'][i]['phases'].get('embed', 0.0))} s"))
    row("re-ingest unchanged, fresh process (wall · CPU)", lambda r: (
        f"{_f(r['corpora'][0]['reingest']['wall_s'])} s · {_f(r['corpora'][0]['reingest']['cpu_s'])} s"))
    row("CLI `ask` cold, fresh process (wall · CPU)", lambda r: (
        f"{_f(r['ask_cold_wall_s'])} s · {_f(r['ask_cold_cpu_s'])} s"))
    row("`Assistant.ask` p50 / p95 (requests)", lambda r: (
        f"{_f(r['embedded']['p50_ms'])} / {_f(r['embedded']['p95_ms'])} ms ({r['embedded']['requests']})"))
    row(f"cosine to torch vectors, {ref['raw']['texts'] if 'raw' in ref else 0} texts: min / mean", lambda r: (
        "reference" if r["backend"] == ref["backend"]
        else f"{agreement[r['backend']]['cos_min']:.4f} / {agreement[r['backend']]['cos_mean']:.4f}"))
    if all("gold" in r for r in results):
        g0 = ref["gold"]
        for mode, level in (("final", "document"), ("final", "section"), ("dense", "document"), ("dense", "section")):
            row(f"gold: {level} hit@1 / MRR ({'dense only' if mode == 'dense' else 'final ranking'})",
                lambda r, m=mode, lv=level: " / ".join(
                    f"{r['gold']['retrieval'][m][lv][k]:.3f}" for k in ("hit@1", "mrr")))
        row("gold: citation P / R · key facts · refusal acc.", lambda r: (
            f"{r['gold']['citations']['precision']:.3f} / {r['gold']['citations']['recall']:.3f} · "
            f"{r['gold']['key_facts']:.3f} · {r['gold']['refusal']:.3f}"))
        row("gold: largest fall of any retrieval metric vs torch", lambda r: f"{max_retrieval_drop(g0, r['gold']):.3f}")
    out = [f"### Encoder backends · {meta['date']} · commit `{meta['commit']}`", "",
           "```", f"$ {meta['command']}", "```", "",
           f"Load average at start {meta['load']}; threads {meta['threads']}; whole run {meta['seconds']:.0f} s. "
           "Same texts, same corpora, one after the other in one process: compare the ratios.", "",
           "| measure | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    out += [f"| {label} | " + " | ".join(vals) + " |" for label, vals in rows]
    out += ["", *render_targets(results)]
    return "\n".join([*out, ""])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m assistant.tools.bench_backends", description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="torch,onnx-fp32,onnx-int8",
                    help="Comma-separated, torch first (the reference): " + ", ".join(BACKENDS))
    ap.add_argument("--texts", type=int, default=200, help="Texts for the raw encode and cosine comparison")
    ap.add_argument("--official", type=Path, default=REPO.parent / "shared" / "corpus" / "official")
    ap.add_argument("--no-official", dest="official", action="store_const", const=None)
    ap.add_argument("--requests", type=int, default=60, help="In-process Assistant.ask questions per backend")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--quality", action="store_true", help="Also run the gold set on each backend's index")
    ap.add_argument("--questions", type=Path, default=REPO / "eval" / "questions.jsonl")
    ap.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="Work in this dir and keep it (exports reused)")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    base = Settings()
    configure_threads(base)
    t_start, load = time.perf_counter(), load_average()
    root = args.keep or Path(tempfile.mkdtemp(prefix="kiemnhiem-backends-"))
    root.mkdir(parents=True, exist_ok=True)
    knowledge = [p if p.is_absolute() else (Path.cwd() / p).resolve() for p in base.knowledge_paths]
    base = base.model_copy(update={"model_path": base.model_dir.resolve(), "chroma_url": None,
                                   "knowledge_paths": knowledge})
    texts = sample_texts(base, args.texts) if args.texts else None
    results, vectors = [], {}
    try:
        for name in names:
            res, embedder = bench_backend(base, name, root, args, texts)
            results.append(res)
            if texts:
                vectors[name] = embedder.embed_passages(texts)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    agreement = {n: vector_agreement(vectors[names[0]], v) for n, v in vectors.items() if n != names[0]}
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": git_commit(), "load": load,
            "threads": base.threads, "seconds": time.perf_counter() - t_start,
            "command": "python -m assistant.tools.bench_backends " + " ".join(argv if argv is not None else sys.argv[1:])}
    section = render(results, agreement, meta)
    sys.stdout.write(json.dumps({"meta": meta, "results": results, "agreement": agreement}, default=str,
                                ensure_ascii=False) + "\n")
    if not args.no_write:
        append_markdown(args.output, section)
    _log(section if args.no_write else f"appended to {args.output}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
