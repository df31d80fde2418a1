"""``kiemnhiem eval``: the gold-set evaluation (with report files), the sets nobody here wrote
(``eval real``: real citizens' questions; ``eval user-law``: questions on a law ingested beside
``knowledge/``) and the ALQAC retrieval benchmark. Every set the project tunes on is reported on
its dev and held-out halves (``assistant.evaluation.split``).

Registered in ``assistant.cli`` with ``app.add_typer(eval_app, name="eval")``; also runnable on
its own as ``python -m assistant.cli_eval``. With ``--json`` stdout carries exactly one JSON
object (the metrics); progress and logs go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from assistant.answering.chain import Assistant
from assistant.cli_common import console, fail, fail_error, load_settings, out, print_json
from assistant.config import Settings
from assistant.evaluation import (
    AlqacError,
    EvalSetError,
    evaluate_alqac,
    load_questions,
    load_real_questions,
    load_user_law_questions,
    run_gold_eval,
    run_real_eval,
    run_user_law_eval,
)
from assistant.evaluation.report import fmt as _f
from assistant.ingest.pipeline import KnowledgeIndex
from assistant.search.store import IndexStoreError

eval_app = typer.Typer(
    add_completion=False,
    help="Đánh giá trên bộ câu hỏi chuẩn và benchmark ALQAC / Evaluate on the gold set and ALQAC.",
)


def _log(message: str) -> None:
    console.print(f"[dim]{message}[/]", markup=True, highlight=False)


@eval_app.callback(invoke_without_command=True)
def gold(
    ctx: typer.Context,
    set_path: Annotated[Path, typer.Option("--set", help="Gold questions (JSONL)")] = Path("eval/questions.jsonl"),
    answerer: Annotated[str | None, typer.Option("--answerer", help="extractive | llm (default: settings)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the metrics as one JSON object")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder")] = Path("eval/reports"),
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Do not bring the index up to date with "
                                            "the knowledge folders first")] = False,
) -> None:
    """Chạy bộ câu hỏi chuẩn, ghi báo cáo / Run the gold set and write eval/reports/<UTC time>.{json,md,png}."""
    if ctx.invoked_subcommand is not None:
        return

    if answerer not in (None, "extractive", "llm"):
        fail("--answerer phải là extractive hoặc llm / must be extractive or llm", 2)
    try:
        load_questions(set_path)  # fail fast, before loading the model
    except EvalSetError as exc:
        fail_error(exc, 2, as_json)
    settings = load_settings()
    if (answerer or settings.answerer) == "llm" and not settings.llm_url:
        fail("--answerer llm cần KIEMNHIEM_LLM_URL / needs KIEMNHIEM_LLM_URL", 2)
    index = _open_index(settings, as_json, no_ingest)

    assistant = Assistant(settings, index=index)
    try:
        ood = set_path.parent / "out_of_domain.jsonl"
        report, files = run_gold_eval(settings, set_path, answerer=answerer, limit=limit, out_dir=out_dir,
                                      assistant=assistant, progress=_log, out_of_domain=ood if ood.is_file() else None)
    except EvalSetError as exc:
        fail_error(exc, 2, as_json)
    except IndexStoreError as exc:
        fail_error(exc, as_json=as_json)
    assert files is not None
    _log(f"report: {files.md} · {files.json}" + (f" · {files.png}" if files.png else "")
         + (f" (compared with {files.previous.name})" if files.previous else ""))
    m = report["metrics"]
    if as_json:
        print_json(m)
        return
    d, s, c, r, k, lat = (m["retrieval"]["document"], m["retrieval"]["section"], m["citations"], m["refusal"],
                          m["key_facts"], m["latency_ms"])
    rd = m.get("reader") or {}
    table = Table(title=f"{m['n']} câu hỏi / questions ({m['n_answerable']} answerable)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, v in [
        ("doc hit@1 / hit@5", f"{_f(d['hit@1'])} / {_f(d['hit@5'])}"), ("doc MRR / nDCG@5", f"{_f(d['mrr'])} / "
                                                                          f"{_f(d['ndcg@5'])}"),
        ("section hit@1 / hit@5", f"{_f(s['hit@1'])} / {_f(s['hit@5'])}"),
        ("citation precision / recall", f"{_f(c['precision'])} / {_f(c['recall'])}"),
        ("citation validity", f"{_f(c['validity'])} ({c['invalid']} invalid)"),
        ("key-fact coverage (folded)", f"{_f(k['coverage'])} ({_f(k['coverage_folded'])})"),
        ("lead-sentence rate", f"{_f(rd.get('lead_rate'))} (n={rd.get('lead_n', 0)})"),
        ("verdict agreement", f"{_f(rd.get('verdict_agreement'))} (n={rd.get('verdict_n', 0)})"),
        ("forbidden claims", f"{rd.get('forbidden_claims', 0)} in {rd.get('forbidden_questions', 0)} answers"),
        ("premise refused / named", f"{_f(rd.get('premise_refusal_rate'))} / {_f(rd.get('premise_named_rate'))}"),
        ("period accuracy", f"{_f(rd.get('period_accuracy'))} (n={rd.get('period_n', 0)})"),
        ("refusal accuracy", _f(r["accuracy"])),
        ("over- / under-refusal", f"{_f(r['over_refusal'])} / {_f(r['under_refusal'])}"),
        ("latency p50 / p95 ms", f"{_f(lat['p50'], 0)} / {_f(lat['p95'], 0)}"),
        *([("out-of-domain refusal", f"{_f(m['out_of_domain']['refusal_rate'])} (n={m['out_of_domain']['n']})")]
          if m.get("out_of_domain") else []),
    ]:
        table.add_row(label, v)
    out.print(table)
    _print_splits(m)
    if m.get("modes"):
        mt = Table(title="retrieval modes (document level)")
        for col in ("mode", "hit@1", "hit@3", "hit@5", "MRR", "nDCG@5"):
            mt.add_column(col, justify="right" if col != "mode" else "left")
        for mode, mm in m["modes"].items():
            dd = mm["document"]
            mt.add_row(mode, *(_f(dd[x]) for x in ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")))
        out.print(mt)
    regs = report.get("regressions")
    if regs:
        out.print(f"[bold yellow]{len(regs)} regression(s) vs {report.get('compared_with')}[/]: "
                  + ", ".join(sorted({x['id'] for x in regs})))
    out.print(f"Báo cáo / report: {files.md}")


def _print_splits(m: dict[str, Any]) -> None:
    """The gate metrics on the dev and held-out halves side by side, and the gap (held-out − dev)."""
    sp = m.get("splits")
    if not sp:
        return
    t = Table(title=f"dev ({sp['dev']['n']}) / held-out ({sp['heldout']['n']}) — tune on dev only")
    for col in ("metric", "dev", "held-out", "gap"):
        t.add_column(col, justify="left" if col == "metric" else "right")
    for row in sp["gap"].values():
        digits = 0 if row["label"] == "forbidden claims" else 3
        t.add_row(row["label"], _f(row["dev"], digits), _f(row["heldout"], digits),
                  "–" if row["gap"] is None else f"{row['gap']:+.{digits}f}")
    out.print(t)


def _open_index(settings: Settings, as_json: bool, no_ingest: bool) -> KnowledgeIndex:
    """The index of ``settings``, brought up to date with its knowledge folders unless told not to."""
    index = KnowledgeIndex(settings)
    try:
        if not no_ingest:
            _log("Cập nhật chỉ mục / bringing the index up to date (incremental)…")
            rep = index.ingest(list(settings.knowledge_paths))
            _log(f"index: {rep.documents} documents, {rep.passages} passages, +{rep.added} ~{rep.updated} "
                 f"-{rep.removed}, generation {rep.generation}, {rep.seconds:.1f} s")
            for err in rep.errors:
                _log(f"skipped: {err}")
        index.snapshot()
    except IndexStoreError as exc:
        fail_error(exc, as_json=as_json)
    return index


def _print_slice(title: str, s: dict[str, Any]) -> None:
    t = Table(title=title)
    t.add_column("metric")
    t.add_column("value", justify="right")
    for label, v in [
        ("answered / answerable", f"{s['answered']}/{s['n_answerable']}"),
        ("fully right (automatic floor)", f"{s['fully_right_auto']}/{s['n_answerable']}"),
        ("all key facts present", f"{s['key_facts_all_present']}/{s['n_answerable']}"),
        ("key-fact coverage", _f(s["key_fact_coverage"])),
        ("beyond the sources: refused", f"{s['beyond_refused']}/{s['n_beyond_sources']}"),
        ("citation validity", _f(s["citation_validity"])),
        ("latency p50 ms", _f(s["latency_ms_p50"], 0)),
    ]:
        t.add_row(label, v)
    out.print(t)


def _run_set(run: Callable[[], tuple[dict[str, Any], tuple[Path, Path] | None]],
             as_json: bool) -> tuple[dict[str, Any], Path] | None:
    """Run one set's evaluation; library errors become CLI errors (2 for a bad set). With ``--json``
    print the metrics and return None, else return the report and its Markdown file."""
    try:
        report, files = run()
    except (EvalSetError, IndexStoreError) as exc:
        fail_error(exc, 2 if isinstance(exc, EvalSetError) else 1, as_json)
    assert files is not None
    _log(f"report: {files[1]} · {files[0]}")
    if as_json:
        print_json(report["metrics"])
        return None
    return report, files[1]


@eval_app.command("real")
def real(
    set_path: Annotated[Path, typer.Option("--set", help="Real questions (JSONL)")] = Path("eval/real_questions.jsonl"),
    as_json: Annotated[bool, typer.Option("--json", help="Print only the metrics as one JSON object")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder")] = Path("eval/reports"),
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions")] = None,
    no_ingest: Annotated[bool, typer.Option("--no-ingest", help="Do not bring the index up to date first")] = False,
) -> None:
    """Câu hỏi thật của người dân / Real citizens' questions: answered, key facts, refusals, citations."""
    try:
        load_real_questions(set_path)  # fail fast, before loading the model
    except EvalSetError as exc:
        fail_error(exc, 2, as_json)
    settings = load_settings()
    index = _open_index(settings, as_json, no_ingest)

    done = _run_set(lambda: run_real_eval(Assistant(settings, index=index), set_path, out_dir=out_dir, limit=limit,
                                          progress=_log), as_json)
    if done is not None:
        report, md = done
        _print_slice(f"{report['set']['n']} câu hỏi thật / real questions (dev set)", report["metrics"]["real"])
        out.print(f"Báo cáo / report: {md}")


@eval_app.command("user-law")
def user_law(
    set_path: Annotated[Path, typer.Option("--set", help="Questions on user laws (JSONL)")] = Path(
        "eval/user_law_questions.jsonl"),
    laws: Annotated[Path, typer.Option("--laws", help="Folder of the law files (read in place)")] = Path(
        "../shared/corpus/user-laws"),
    as_json: Annotated[bool, typer.Option("--json", help="Print only the metrics as one JSON object")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder")] = Path("eval/reports"),
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Keep the index here instead of a "
                                                  "temporary folder")] = None,
) -> None:
    """Luật người dùng thêm / A user's own law: ingested beside knowledge/ into a temporary index, then asked."""
    if not laws.is_dir():
        fail(f"không tìm thấy thư mục luật / laws folder not found: {laws}", 2)
    try:
        load_user_law_questions(set_path)
    except EvalSetError as exc:
        fail_error(exc, 2, as_json)
    settings = load_settings()
    done = _run_set(lambda: run_user_law_eval(settings, set_path, laws, out_dir=out_dir, data_dir=data_dir,
                                              limit=limit, progress=_log), as_json)
    if done is not None:
        report, md = done
        for law in report["laws"]:
            _print_slice(f"{law['file']} ({law['passages']} passages)", report["metrics"]["by_law"][law["law"]])
        out.print(f"Báo cáo / report: {md}")


@eval_app.command("alqac")
def alqac(
    laws: Annotated[Path, typer.Option("--laws", help="ALQAC law.json")],
    questions: Annotated[Path, typer.Option("--questions", help="ALQAC questions (train.json)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the metrics as one JSON object")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions")] = None,
) -> None:
    """Benchmark truy hồi ALQAC 2023 (cấp điều luật) / ALQAC 2023 article-level retrieval benchmark."""
    for p in (laws, questions):
        if not p.is_file():
            fail(f"không tìm thấy / not found: {p}", 2)
    settings = load_settings()
    try:
        res = evaluate_alqac(settings, laws, questions, limit=limit, progress=_log)
    except AlqacError as exc:
        fail_error(exc, 2, as_json)
    except IndexStoreError as exc:
        fail_error(exc, as_json=as_json)
    _log("alqac: " + json.dumps(res.summary(), ensure_ascii=False))
    _log("alqac dev / held-out: " + json.dumps({"splits": res.splits, "by_type": res.by_type}, ensure_ascii=False))
    if as_json:
        print_json(res.modes)
        return
    table = Table(title=f"ALQAC 2023: {res.questions} questions, {res.articles_indexed}/{res.articles_present} "
                        f"articles indexed ({res.passages} passages)")
    keys = [k for k in next(iter(res.modes.values())) if k != "n"]
    table.add_column("mode")
    for k in keys:
        table.add_column(k, justify="right")
    for mode, mm in res.modes.items():
        table.add_row(mode, *(_f(mm[k]) for k in keys))
    out.print(table)
    for name, modes in res.splits.items():
        st = Table(title=f"{name}: {next(iter(modes.values()))['n']} questions"
                         + (" (tune on this half only)" if name == "dev" else " (report this half)"))
        st.add_column("mode")
        for k in keys:
            st.add_column(k, justify="right")
        for mode, mm in modes.items():
            st.add_row(mode, *(_f(mm[k]) for k in keys))
        out.print(st)
        tt = Table(title=f"{name} by question type: recall@5 / MRR@10")
        tt.add_column("type")
        for mode in modes:
            tt.add_column(mode, justify="right")
        for qtype, per in res.by_type.get(name, {}).items():
            tt.add_row(f"{qtype or '–'} ({next(iter(per.values()))['n']})",
                       *(f"{_f(per[m]['recall@5'])} / {_f(per[m]['mrr@10'])}" for m in modes))
        out.print(tt)
    t = res.timings_s
    out.print(f"ingest {t.get('ingest', 0):.1f} s (embedded {res.ingest.get('embedded', 0)} passages), "
              f"search {t.get('search', 0):.1f} s, total {t.get('total', 0):.1f} s")


if __name__ == "__main__":
    eval_app()
