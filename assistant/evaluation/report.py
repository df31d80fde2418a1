"""Report files a maintainer reads before shipping: ``eval/reports/<UTC timestamp>.{json,md}``
plus a PNG chart of the retrieval modes, compared with the previous comparable run; the list of
failing questions for the CI gate; and the one number formatter every report and table uses.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.evaluation import metrics
from assistant.evaluation.split import dotted
from assistant.models import MODES
from assistant.text import collapse_ws


def fmt(v: object, digits: int = 3, thousands: bool = False) -> str:
    """A metric for a table cell: ``–`` for a missing value, floats with ``digits`` decimals
    (and ``,`` between thousands when asked), anything else as ``str``."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}" if thousands else f"{v:.{digits}f}"
    return str(v)


def out_of_domain_md(m: Mapping[str, Any]) -> list[str]:
    """The report section for :func:`evaluate_out_of_domain` metrics (empty when it did not run)."""
    o = m.get("out_of_domain")
    if not o:
        return []
    lines = ["", "## Ngoài phạm vi / Out-of-domain slice", "",
             f"{o['n']} questions about other fields of law (`{o.get('path', 'eval/out_of_domain.jsonl')}`"
             f"{'' if o['alqac_included'] else '; ALQAC rows skipped: ../shared absent'}): refused "
             f"{o['refused']}/{o['n']} = **{fmt(o['refusal_rate'])}** (accented {fmt(o['by_form']['accented'])}, "
             f"folded {fmt(o['by_form']['folded'])}; ALQAC {fmt(o['by_source']['alqac'])}, hand-written "
             f"{fmt(o['by_source']['handwritten'])}). Refused by: "
             + ", ".join(f"{k} {v}" for k, v in o["answered_by"].items()) + "."]
    lines += [f"- answered: **{x['id']}** {_md_escape(x['question'], 100)}".rstrip() for x in o["answered"]]
    return lines


def shown_path(path: Path | str) -> str:
    """A path as a committed report shows it: relative to the working directory (the repository) when inside
    it, else its file name; never a machine path."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return p.name


def splits_md(m: Mapping[str, Any]) -> list[str]:
    """The dev / held-out section: every gate metric on both halves and the gap (empty without splits).

    Rules and weights are tuned on the dev half only (eval/README.md); the held-out column is
    the honest one, and a widening gap is the sign that the engine is being fitted to the grader.
    """
    sp = m.get("splits")
    if not sp:
        return []
    n = {k: sp[k].get("n") for k in ("dev", "heldout")}
    lines = ["", "## Dev / held-out", "",
             f"Split by sha1(id): dev {n['dev']} questions, held-out {n['heldout']}. Tune on dev only; "
             "gap = held-out − dev.", "", "| Metric | Dev | Held-out | Gap |", "|---|---:|---:|---:|"]
    for row in sp["gap"].values():
        digits = 0 if row["label"] == "forbidden claims" else 3
        gap = row["gap"]
        lines.append(f"| {row['label']} | {fmt(row['dev'], digits)} | {fmt(row['heldout'], digits)} | "
                     f"{'–' if gap is None else f'{gap:+.{digits}f}'} |")
    return lines


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def git_commit(repo: Path | None = None) -> str:
    """Short commit hash, with ``+dirty`` when the worktree has changes; ``unknown`` without git."""
    cwd = str(repo or Path(__file__).resolve().parents[2])
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{sha}+dirty" if dirty else sha
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _is_report(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "gold" and isinstance(obj.get("questions"), list)


def find_previous_report(out_dir: Path, exclude: str | None = None, set_sha: str | None = None,
                         answerer: str | None = None) -> tuple[Path | None, dict[str, Any] | None]:
    """The newest earlier gold report in ``out_dir``.

    Preferred in order: same question file and same answerer (an extractive run is compared with
    the last extractive run, not with an LLM run in between), same question file, any report.
    """
    candidates = sorted(Path(out_dir).glob("*.json"), reverse=True) if Path(out_dir).is_dir() else []
    fallback: tuple[Path | None, dict[str, Any] | None] = (None, None)
    same_set: tuple[Path | None, dict[str, Any] | None] = (None, None)
    for path in candidates:
        if exclude and path.stem == exclude:
            continue
        try:
            obj = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not _is_report(obj):
            continue
        same = set_sha is None or (obj.get("set", {}).get("sha256") == set_sha
                                   and obj.get("set", {}).get("limit") is None)
        if same and (answerer is None or obj.get("config", {}).get("answerer", "extractive") == answerer):
            return path, obj
        if same and same_set[0] is None:
            same_set = (path, obj)
        if fallback[0] is None:
            fallback = (path, obj)
    return same_set if same_set[0] is not None else fallback


_get = dotted


# (label, dotted path into metrics, higher is better)
OVERALL_ROWS: list[tuple[str, str, bool]] = [
    ("Document hit@1", "retrieval.document.hit@1", True),
    ("Document hit@3", "retrieval.document.hit@3", True),
    ("Document hit@5", "retrieval.document.hit@5", True),
    ("Document MRR", "retrieval.document.mrr", True),
    ("Document nDCG@5", "retrieval.document.ndcg@5", True),
    ("Section hit@1", "retrieval.section.hit@1", True),
    ("Section hit@3", "retrieval.section.hit@3", True),
    ("Section hit@5", "retrieval.section.hit@5", True),
    ("Section MRR", "retrieval.section.mrr", True),
    ("Section nDCG@5", "retrieval.section.ndcg@5", True),
    ("Citation precision (answered)", "citations.precision", True),
    ("Citation recall (answered)", "citations.recall", True),
    ("Citation validity", "citations.validity", True),
    ("Key-fact coverage", "key_facts.coverage", True),
    ("Key-fact coverage, diacritics folded", "key_facts.coverage_folded", True),
    ("Key-fact coverage (answered only)", "key_facts.coverage_answered", True),
    ("Lead-sentence rate", "reader.lead_rate", True),
    ("Verdict agreement", "reader.verdict_agreement", True),
    ("Forbidden claims (count)", "reader.forbidden_claims", False),
    ("Premise-refusal rate", "reader.premise_refusal_rate", True),
    ("Premise named in the refusal", "reader.premise_named_rate", True),
    ("Period accuracy", "reader.period_accuracy", True),
    ("Refusal accuracy", "refusal.accuracy", True),
    ("Over-refusal (answerable refused)", "refusal.over_refusal", False),
    ("Under-refusal (unanswerable answered)", "refusal.under_refusal", False),
    ("Latency p50 (ms)", "latency_ms.p50", False),
    ("Latency p95 (ms)", "latency_ms.p95", False),
]


def compare_reports(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """Metric deltas and per-question regressions/fixes between two gold reports (matched by id)."""
    cm, pm = current.get("metrics", {}), previous.get("metrics", {})
    deltas: dict[str, float | None] = {}
    for _, path, _ in OVERALL_ROWS:
        a, b = _get(cm, path), _get(pm, path)
        deltas[path] = (a - b) if isinstance(a, int | float) and isinstance(b, int | float) else None
    for mode in MODES:
        for level in ("document", "section"):
            for key in ("hit@1", "hit@5", "mrr", "ndcg@5"):
                path = f"modes.{mode}.{level}.{key}"
                a, b = _get(cm, path), _get(pm, path)
                deltas[path] = (a - b) if isinstance(a, int | float) and isinstance(b, int | float) else None
    prev_rows = {r["id"]: r for r in previous.get("questions", [])}
    regressions, fixes = [], []
    checks: list[tuple[str, Callable[[Mapping[str, Any]], Any]]] = [
        ("gold document no longer in top 5", lambda r: _get(r, "doc.hit@5")),
        ("gold section no longer in top 5", lambda r: _get(r, "section.hit@5")),
        ("refusal decision now wrong", lambda r: r.get("refusal_ok")),
        ("citations no longer valid", lambda r: r.get("citation_valid")),
        ("lead no longer in the first sentence", lambda r: r.get("lead_ok")),
        ("verdict now wrong", lambda r: r.get("verdict_ok")),
        ("forbidden claim no longer absent", lambda r: None if "forbidden" not in r else not r["forbidden"]),
        ("period answer now wrong", lambda r: r.get("period_ok")),
    ]
    for row in current.get("questions", []):
        old = prev_rows.get(row["id"])
        if old is None:
            continue
        for label, get in checks:
            was, now = get(old), get(row)
            if was is None or now is None:
                continue
            if bool(was) and not bool(now):
                regressions.append({"id": row["id"], "what": label, "question": row["question"]})
            elif not bool(was) and bool(now):
                fixes.append({"id": row["id"], "what": label.replace("no longer", "now").replace(
                    "now wrong", "now right").replace("now valid", "valid again"), "question": row["question"]})
        was_kf, now_kf = old.get("key_fact_coverage"), row.get("key_fact_coverage")
        if isinstance(was_kf, int | float) and isinstance(now_kf, int | float) and now_kf < was_kf:
            regressions.append({"id": row["id"], "what": f"key facts lost ({was_kf:.2f} → {now_kf:.2f}): "
                                + ", ".join(row.get("key_facts_missing", [])), "question": row["question"]})
    common = len(set(prev_rows) & {r["id"] for r in current.get("questions", [])})
    return {"deltas": deltas, "regressions": regressions, "fixes": fixes, "common_questions": common}


def _fmt_delta(d: float | None, higher_better: bool = True, digits: int = 3) -> str:
    if d is None:
        return "–"
    if abs(d) < 10 ** -(digits + 1):
        return "0"
    sign = "+" if d > 0 else "−"
    good = (d > 0) == higher_better
    return f"{sign}{abs(d):.{digits}f} {'▲' if good else '▼'}"


def _md_escape(text: str, limit: int = 140) -> str:
    t = collapse_ws(str(text or "")).replace("|", "\\|")
    return t if len(t) <= limit else t[: limit - 1] + "…"


def render_markdown(report: Mapping[str, Any], comparison: Mapping[str, Any] | None, png_name: str | None,
                    previous_name: str | None = None) -> str:
    m = report["metrics"]
    cfg = report.get("config", {})
    s = report.get("set", {})
    lines = [
        f"# Đánh giá / Evaluation {report['timestamp']}",
        "",
        f"- commit `{cfg.get('commit', '?')}`, answerer `{cfg.get('answerer')}`"
        f"{' (model `' + str(cfg['llm_model']) + '`)' if cfg.get('llm_model') else ''}, top_k {cfg.get('top_k')}, "
        f"model `{cfg.get('model', '?')}`, index generation {cfg.get('generation', '?')}",
        f"- question set `{s.get('path')}` ({m['n']} questions: {m['n_answerable']} answerable, "
        f"{m['n_unanswerable']} to refuse{', limit ' + str(s['limit']) if s.get('limit') else ''}; "
        f"sha256 {str(s.get('sha256', ''))[:12]})",
        f"- run time {report.get('seconds', 0):.1f} s; errors {m.get('errors', 0)}",
    ]
    if previous_name:
        lines.append(f"- compared with `{previous_name}` ({comparison.get('common_questions', 0) if comparison else 0}"
                     " questions in common)")
        if comparison and comparison.get("set_mismatch"):
            lines.append("- **note:** the previous report used a different question set or limit; deltas are "
                         "indicative only")
    else:
        lines.append("- no previous report in this folder: no Δ column values")
    deltas = (comparison or {}).get("deltas", {})
    lines += ["", "## Tổng quan / Overall", "", "| Metric | Value | Δ vs previous |", "|---|---:|---:|"]
    for label, path, hib in OVERALL_ROWS:
        digits = 1 if path.startswith("latency") else 0 if path == "reader.forbidden_claims" else 3
        lines.append(f"| {label} | {fmt(_get(m, path), digits)} | {_fmt_delta(deltas.get(path), hib, digits)} |")
    r = m["refusal"]
    c = m["citations"]
    lines += [
        "",
        f"Counts: retrieval over {m['retrieval']['n']} answerable questions; citation precision/recall over "
        f"{c['n']} answered answerable questions; citation validity over {c['validity_n']} answers "
        f"({c['invalid']} invalid); over-refused {r['over_refused']}/{r['n_answerable']}, under-refused "
        f"{r['under_refused']}/{r['n_unanswerable']}.",
    ]
    if m.get("answered_by"):
        lines += ["", "Answers written by: " + ", ".join(f"{k} {v}" for k, v in m["answered_by"].items()) +
                  " (llm-fallback: the model's sentences failed citation checks, verbatim quotes shown instead; "
                  "llm-error: the model could not be reached in time)."]
    lines += splits_md(m)
    if m.get("modes"):
        lines += ["", "## Chế độ truy hồi / Retrieval modes", "",
                  "Standalone query (follow-ups condensed with their history), answerable questions; "
                  "cells show the value and, when a previous report exists, the change.", "",
                  "| Mode | Level | hit@1 | hit@3 | hit@5 | MRR | nDCG@5 | p50 ms |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for mode, mm in m["modes"].items():
            for level in ("document", "section"):
                cells = []
                for key in ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5"):
                    v = fmt(mm[level].get(key))
                    d = deltas.get(f"modes.{mode}.{level}.{key}")
                    if d is not None and abs(d) >= 1e-4:
                        v += f" ({'+' if d > 0 else '−'}{abs(d):.3f})"
                    cells.append(v)
                lines.append(f"| {mode} | {level} | " + " | ".join(cells) +
                             f" | {fmt(mm['latency_ms'].get('p50'), 1)} |")
        if png_name:
            lines += ["", f"![retrieval modes]({png_name})"]
    if comparison is not None:
        regs = comparison.get("regressions", [])
        lines += ["", f"## Hồi quy / Regressions vs previous ({len(regs)})", ""]
        if regs:
            lines += [f"- **{x['id']}** — {x['what']} — {_md_escape(x['question'], 100)}" for x in regs]
        else:
            lines.append("None.")
        fixes = comparison.get("fixes", [])
        if fixes:
            lines += ["", f"Fixed since previous ({len(fixes)}): " + ", ".join(f"{x['id']} ({x['what']})"
                                                                             for x in fixes)]
    lines += _reader_md(report)
    failed = [q for q in report["questions"] if q.get("failures")]
    lines += ["", f"## Câu lỗi / Failed questions ({len(failed)} of {len(report['questions'])})", "",
              "| id | failures | question | top passages | answer |", "|---|---|---|---|---|"]
    for q in failed:
        top = "; ".join(f"{p['doc_id']} · {p['section']}" for p in q.get("passages", [])[:3]) or "–"
        extra = ""
        if q.get("key_facts_missing") and not q["refused"]:
            extra = "— missing: " + ", ".join(q["key_facts_missing"])
        if q.get("citation_problems"):
            extra += " — " + "; ".join(q["citation_problems"])
        if q.get("error"):
            extra += " — " + q["error"]
        gold = ", ".join(q.get("gold_ids", [])) or "(refuse)"
        lines.append(f"| {q['id']} | {', '.join(q['failures'])}{' ' + _md_escape(extra, 160) if extra else ''} | "
                     f"{_md_escape(q['question'], 100)}<br>gold: {_md_escape(gold, 120)} | {_md_escape(top, 160)} | "
                     f"{'(refused) ' if q['refused'] else ''}{_md_escape(q['answer'], 160)} |")
    lines += out_of_domain_md(m)
    lines += ["", "## Định nghĩa / Definitions", "", *_definitions_md(), ""]
    return "\n".join(lines)


_READER_FAILS = ("lead_missing", "verdict_wrong", "forbidden_claim", "period_wrong")


def reader_failure_reasons(row: Mapping[str, Any]) -> list[str]:
    """What a reader would object to in one row, in words (for reports and the CI gate listing)."""
    out = []
    if row.get("lead_ok") is False:
        out.append("refused" if row.get("refused") else
                   "first sentence lacks " + " / ".join(repr(x) for x in row.get("lead", [])))
    if row.get("verdict_ok") is False:
        out.append(f"verdict {row.get('verdict')} expected, first sentence reads {row.get('verdict_got')}")
    if row.get("forbidden"):
        out.append("forbidden: " + ", ".join(f"{k!r}×{v}" for k, v in row["forbidden"].items()))
    if row.get("period_ok") is False:
        out.append(f"period {row.get('as_of_asked') or row.get('period_asked')}: wrong")
    if not row.get("refusal_ok", True):
        out.append("answered, should refuse" if not row.get("answerable") else "refused, should answer")
    if row.get("citation_valid") is False:
        out.append("citations invalid")
    return out


def gate_failures(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every question a gate metric counts against: id, question, as_of, first sentence, what failed."""
    out = []
    for r in report.get("questions", []):
        reasons = reader_failure_reasons(r)
        if "doc_miss@5" in r.get("failures", []):
            reasons.append("no gold document in the top 5")
        if r.get("error"):
            reasons.append(f"error: {r['error']}")
        if reasons:
            out.append({"id": r["id"], "question": r["question"], "as_of": r.get("as_of_asked"),
                        "history_turns": r.get("history_turns", 0), "first_sentence": r.get("first_sentence", ""),
                        "refused": r.get("refused"), "failed": reasons})
    return out


def render_gate_failures(failures: Sequence[Mapping[str, Any]], problems: Sequence[str], report_name: str = "") -> str:
    """Markdown list of the failing questions for whoever makes the gate pass."""
    lines = ["# Eval gate: failing questions", ""]
    if report_name:
        lines += [f"Full report: `{report_name}`", ""]
    lines += ["## Gate", "", *(f"- {p}" for p in problems or ["all gates hold"]), "",
              f"## Questions ({len(failures)})", "", "| id | what failed | question | first sentence |",
              "|---|---|---|---|"]
    for f in failures:
        when = f" (as_of {f['as_of']})" if f.get("as_of") else ""
        follow = " (follow-up)" if f.get("history_turns") else ""
        lines.append(f"| {f['id']} | {_md_escape('; '.join(f['failed']), 200)} | "
                     f"{_md_escape(f['question'], 120)}{when}{follow} | "
                     f"{'(refused) ' if f.get('refused') else ''}{_md_escape(f['first_sentence'], 220)} |")
    return "\n".join(lines) + "\n"


def _reader_md(report: Mapping[str, Any]) -> list[str]:
    rm = report["metrics"].get("reader") or {}
    if not rm:
        return []
    lines = ["", "## Câu trả lời người đọc chấp nhận / Answers a reader accepts", "",
             f"Lead-sentence rate {fmt(rm.get('lead_rate'))} over {rm.get('lead_n', 0)}; verdict agreement "
             f"{fmt(rm.get('verdict_agreement'))} over {rm.get('verdict_n', 0)}; forbidden claims "
             f"{rm.get('forbidden_claims', 0)} in {rm.get('forbidden_questions', 0)} of {rm.get('forbid_n', 0)} "
             f"answers; premise refusals {fmt(rm.get('premise_refusal_rate'))} (named "
             f"{fmt(rm.get('premise_named_rate'))}) over {rm.get('premise_n', 0)}; period accuracy "
             f"{fmt(rm.get('period_accuracy'))} over {rm.get('period_n', 0)}."]
    bad = [q for q in report["questions"] if set(q.get("failures", [])) & set(_READER_FAILS)]
    if bad:
        lines += ["", "| id | what failed | question | first sentence |", "|---|---|---|---|"]
        for q in bad:
            when = f" (as_of {q['as_of_asked']})" if q.get("as_of_asked") else ""
            lines.append(f"| {q['id']} | {_md_escape('; '.join(reader_failure_reasons(q)), 160)} | "
                         f"{_md_escape(q['question'], 100)}{when} | "
                         f"{'(refused) ' if q['refused'] else ''}{_md_escape(q.get('first_sentence', ''), 200)} |")
    return lines


def _definitions_md() -> list[str]:
    doc = (metrics.__doc__ or "").split("Definitions (also written into every Markdown report):", 1)[-1]
    items, cur = [], ""
    for ln in doc.strip().splitlines():
        if ln.startswith("* "):
            if cur:
                items.append(cur)
            cur = "- " + ln[2:].strip()
        elif ln.strip():
            cur += " " + ln.strip()
    if cur:
        items.append(cur)
    return items


def plot_modes(modes: Mapping[str, Any], path: Path, title: str = "") -> Path:
    """Grouped bars (hit@1, hit@5, MRR, nDCG@5) of each retrieval mode, document and section level."""
    import matplotlib  # noqa: PLC0415 - matplotlib (~1 s) only for the eval report's plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - matplotlib (~1 s) only for the eval report's plot

    metrics = [("hit@1", "hit@1"), ("hit@5", "hit@5"), ("mrr", "MRR"), ("ndcg@5", "nDCG@5")]
    names = list(modes)
    levels = [lv for lv in ("document", "section") if all(lv in modes[n] for n in names)]
    fig, axes = plt.subplots(1, len(levels), figsize=(6.2 * len(levels), 4.6), squeeze=False)
    colors = ["#8da0cb", "#66c2a5", "#fc8d62", "#e78ac3", "#a6d854"]
    width = 0.8 / max(len(names), 1)
    for ax, level in zip(axes[0], levels, strict=True):
        for j, name in enumerate(names):
            vals = [modes[name][level].get(key) or 0.0 for key, _ in metrics]
            xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(metrics))]
            bars = ax.bar(xs, vals, width * 0.95, label=name, color=colors[j % len(colors)])
            for b, v in zip(bars, vals, strict=True):
                ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7,
                        rotation=90)
        ax.set_xticks(range(len(metrics)), [lab for _, lab in metrics])
        ax.set_ylim(0, 1.15)
        ax.set_title(f"{level} level")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(names), fontsize=9, frameon=False)
    fig.suptitle(title or "Retrieval modes")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@dataclass
class ReportFiles:
    json: Path
    md: Path
    png: Path | None
    previous: Path | None


def write_report(report: dict[str, Any], out_dir: Path) -> ReportFiles:
    """Write ``<ts>.json``, ``<ts>.md`` and ``<ts>-modes.png`` into ``out_dir``; compare with the previous run."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = report.get("timestamp") or utc_stamp()
    base, n = stamp, 2
    while (out_dir / f"{base}.json").exists() or (out_dir / f"{base}.md").exists():
        base, n = f"{stamp}-{n}", n + 1
    report["timestamp"] = base
    set_info = report.get("set", {})
    prev_path, prev = find_previous_report(out_dir, exclude=base,
                                           set_sha=set_info.get("sha256") if not set_info.get("limit") else None,
                                           answerer=report.get("config", {}).get("answerer"))
    comparison = None
    if prev is not None:
        comparison = compare_reports(report, prev)
        comparison["set_mismatch"] = (prev.get("set", {}).get("sha256") != set_info.get("sha256")
                                      or prev.get("set", {}).get("limit") != set_info.get("limit"))
        report["compared_with"] = prev_path.name if prev_path else None
        report["regressions"] = comparison["regressions"]
        report["fixes"] = comparison["fixes"]
        report["deltas"] = {k: v for k, v in comparison["deltas"].items() if v is not None}
    png = None
    if report["metrics"].get("modes"):
        png = plot_modes(report["metrics"]["modes"], out_dir / f"{base}-modes.png",
                         f"Retrieval modes — {report['set'].get('path', '')} — {base}")
    json_path = out_dir / f"{base}.json"
    md_path = out_dir / f"{base}.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")
    md_path.write_text(render_markdown(report, comparison, png.name if png else None,
                                       prev_path.name if prev_path else None), "utf-8")
    return ReportFiles(json_path, md_path, png, prev_path)
