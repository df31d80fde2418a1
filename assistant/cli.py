"""``kiemnhiem`` command line: a thin layer over the library (ingest, sources, ask, chat, serve, eval) and the
developer tools (``dev bench|load|serve-test``)."""

from __future__ import annotations

import copy
import functools
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.protocol import GuardedH11Protocol
from assistant.answering.chain import AnswerResult, Assistant
from assistant.answering.dates import parse_as_of
from assistant.cli_common import console, fail, fail_error, load_settings, out, print_json
from assistant.cli_eval import eval_app
from assistant.config import Settings, data_dir_problem
from assistant.ingest.documents import iter_documents
from assistant.ingest.pipeline import IngestError, KnowledgeIndex, progress_logger
from assistant.models import STATUS_LABELS
from assistant.search.store import IndexStoreError
from assistant.storage import StorageFullError
from assistant.text import clean_input, has_lone_surrogate
from assistant.tools.bench import main as bench_main
from assistant.tools.bench_scale import main as scale_main
from assistant.tools.loadtest import main as load_main
from assistant.tools.serverproc import ServeProcess, serve_env

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Trợ lý Kiêm nhiệm: hỏi đáp quy định kiêm nhiệm, trả lời kèm trích dẫn nguồn.",
)


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: knowledge/)")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything (e.g. after a model change)")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Abort, index untouched, if any file fails")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON summary object")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another running ingest")] = 300.0,
    replace: Annotated[bool, typer.Option("--replace", help="Index only PATHS: every other document (knowledge/, "
                                          "uploads, added folders) leaves the index; the removed ones are listed")]
    = False,
) -> None:
    """Nạp tài liệu vào chỉ mục (chỉ nhúng lại đoạn đã thay đổi) / Index sources incrementally.

    ``ingest PATH`` adds PATH to what is indexed (knowledge/, uploads and folders added before), and every
    later ingest or reindex keeps reading it; ``--replace`` indexes only PATH and says what it removes."""
    settings = load_settings()
    targets = list(paths) if paths else settings.ingest_paths()  # knowledge/ + documents uploaded in the browser
    for t in targets:
        if not t.exists():
            fail(f"không tìm thấy / not found: {t}")
    problem = data_dir_problem(settings) if settings.chroma_mode == "embedded" else None
    if problem:  # a read-only or missing data dir: one line naming it, not a traceback from the lock file
        fail(f"thư mục dữ liệu không ghi được / data dir not writable: {problem} (KIEMNHIEM_DATA_DIR)")
    index = KnowledgeIndex(settings)
    if replace and not paths:
        fail("--replace cần ít nhất một đường dẫn / --replace needs at least one PATH", 2)
    if replace:
        _announce_removals(index, targets, settings)
    elif paths:
        _remember_added(settings, targets)
        targets = settings.ingest_paths()
    interactive = console.is_terminal and not as_json
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, disable=not interactive, transient=True)
    tasks: dict[str, Any] = {}
    # not a terminal (CI, a log file, --json): plain progress lines on stderr instead of a bar
    log_line = progress_logger(lambda msg: console.print(msg, markup=False, highlight=False))

    def on_progress(stage: str, done: int, total: int) -> None:
        if not interactive:
            log_line(stage, done, total)
            return
        if stage not in tasks:
            label = {"embed": "Nhúng văn bản / embedding", "store": "Ghi chỉ mục / storing"}.get(stage, stage)
            tasks[stage] = progress.add_task(label, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    try:
        with progress:
            report = index.ingest(targets, rebuild=rebuild, strict=strict, progress=on_progress, lock_timeout=wait)
    except IngestError as exc:
        for err in exc.errors:
            console.print(f"  {err.text_vi()}", highlight=False, markup=False)
        fail_error(exc, as_json=as_json)
    except (IndexStoreError, StorageFullError) as exc:
        fail_error(exc, as_json=as_json)
    if as_json:
        print_json(report.to_json())
    else:
        for skipped in report.errors:
            console.print(f"[yellow]Bỏ qua[/] {skipped}", highlight=False)
        for warning in report.warnings:
            console.print(f"[yellow]Cảnh báo[/] {warning}", highlight=False)
        out.print(
            f"Xong: {report.documents} tài liệu, {report.passages} đoạn — thêm {report.added}, cập nhật "
            f"{report.updated}, xóa {report.removed}, giữ nguyên {report.unchanged}; đã nhúng {report.embedded} "
            f"đoạn ({report.embedded_vectors}/{report.vectors} vectơ) trong {report.seconds:.1f} s "
            f"(thế hệ chỉ mục {report.generation})."
        )
    if report.errors:
        raise typer.Exit(3)


def _remember_added(settings: Settings, paths: list[Path]) -> None:
    """Record PATHS so that every later ingest and reindex reads them too (``<data_dir>/added-paths.json``)."""
    added = settings.added_paths()
    for p in (p.resolve() for p in paths):
        if p not in added and p not in [k.resolve() for k in settings.knowledge_paths]:
            added.append(p)
    settings.added_paths_file.write_text(json.dumps([str(p) for p in added], ensure_ascii=False), "utf-8")


def _announce_removals(index: Any, paths: list[Path], settings: Settings) -> None:
    """Say which indexed documents ``--replace`` removes; forget the added folders it replaces."""
    try:
        indexed = set(index.snapshot().documents) if index.exists() else set()
    except IndexStoreError:
        indexed = set()
    kept = {d.id for d in iter_documents(paths, max_bytes=settings.max_source_bytes)[0]}
    removed = sorted(indexed - kept)
    console.print(f"[yellow]--replace:[/] chỉ mục sẽ chỉ còn {', '.join(map(str, paths))}; xóa {len(removed)} tài "
                  f"liệu / the index will hold only these paths; removing {len(removed)} document(s)"
                  + "".join(f"\n  - {r}" for r in removed), highlight=False, markup=True)
    settings.added_paths_file.unlink(missing_ok=True)


@app.command()
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list")] = False,
) -> None:
    """Liệt kê tài liệu trong chỉ mục / List indexed documents."""
    settings = load_settings()
    try:
        snap = KnowledgeIndex(settings).snapshot()
    except IndexStoreError as exc:
        fail_error(exc, as_json=as_json)
    docs = sorted(snap.documents.values(), key=lambda d: d["id"])
    rows = [{k: d[k] for k in ("id", "title", "number", "kind", "status", "issued", "passages")} for d in docs]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} tài liệu / documents")
    for col in ("id", "số hiệu", "loại", "hiệu lực", "ban hành", "đoạn"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["number"], r["kind"], STATUS_LABELS.get(r["status"], r["status"]), r["issued"],
                      str(r["passages"]))
    out.print(table)


def _assistant(settings: Settings, as_json: bool = False) -> Assistant:
    assistant = Assistant(settings)
    try:
        assistant.index.snapshot()
    except IndexStoreError as exc:
        fail_error(exc, as_json=as_json)
    return assistant


def _validate_question(question: str, settings: Settings, where: str = "") -> str:
    if has_lone_surrogate(question):
        fail(f"{where}câu hỏi không phải văn bản Unicode hợp lệ / question is not valid Unicode text", 2)
    q = clean_input(question).strip()
    if not q:
        fail(f"{where}câu hỏi trống / empty question", 2)
    if len(q) > settings.max_question_chars:
        fail(f"{where}câu hỏi dài quá {settings.max_question_chars} ký tự / question longer than "
              f"{settings.max_question_chars} characters", 2)
    return q


def _tolerant_stdin() -> None:
    """Bytes that are not UTF-8 arrive as lone surrogates (rejected line by line) instead of a
    UnicodeDecodeError that would end the whole batch or conversation."""
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")


def _print_answer(result: AnswerResult) -> None:
    out.print(result.answer)
    if result.citations:
        out.print("\n[bold]Nguồn:[/]")
        for c in result.citations:
            out.print(f"  [{c['n']}] {c['label']} — {c['status']}", markup=False)
            out.print(f"      “{c['quote']}”", markup=False)
    t = result.timings_ms
    console.print(f"[dim]({t.get('total', 0):.0f} ms)[/]")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Câu hỏi / the question")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result contract as JSON")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Read JSON lines {question, history, as_of} from stdin")] = False,
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=50, help="Passages to retrieve")] = None,
    answerer: Annotated[str | None, typer.Option("--answerer", help="extractive | llm")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Ngày áp dụng YYYY-MM-DD (mặc định hôm nay) / "
                                              "the date the answer speaks for (default today)")] = None,
) -> None:
    """Hỏi một câu / Ask one question (or many with --jsonl, model loaded once; a line's as_of wins)."""
    settings = load_settings()
    if answerer not in (None, "extractive", "llm"):
        fail("--answerer phải là extractive hoặc llm / must be extractive or llm", 2)
    try:
        default_as_of = parse_as_of(as_of)
    except ValueError as exc:
        fail(f"--as-of: {exc}", 2)
    if not jsonl and question is None:
        fail("thiếu câu hỏi / missing question (or use --jsonl)", 2)
    q = "" if jsonl else _validate_question(question or "", settings)  # before the slow model load
    assistant = _assistant(settings, as_json or jsonl)
    if not jsonl:
        result = assistant.ask(q, top_k=k, answerer=answerer, as_of=default_as_of)
        if as_json:
            print_json(result.to_json())
        else:
            _print_answer(result)
        return

    _tolerant_stdin()
    failures = 0
    for lineno, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise ValueError("expected an object with a string 'question'")
            history = item.get("history") or []
            if not isinstance(history, list) or not all(
                isinstance(h, dict) and h.get("role") in ("user", "assistant") and isinstance(h.get("content"), str)
                for h in history
            ):
                raise ValueError("'history' must be a list of {role: user|assistant, content: str}")
            if has_lone_surrogate(item["question"]) or any(has_lone_surrogate(h["content"]) for h in history):
                raise ValueError("question or history is not valid Unicode text (lone surrogate)")
            if sum(len(h["content"]) for h in history) > settings.max_history_chars:
                raise ValueError(f"history longer than {settings.max_history_chars} characters")
            q = clean_input(item["question"]).strip()
            if not q or len(q) > settings.max_question_chars:
                raise ValueError(f"question must be 1-{settings.max_question_chars} characters")
            line_as_of = parse_as_of(item.get("as_of")) or default_as_of
        except (ValueError, RecursionError) as exc:  # a bad line (nested too deeply too) never ends the batch
            failures += 1
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            print_json({"error": {"line": lineno, "message": f"stdin:{lineno}: {why}"}})
            continue
        result = assistant.ask(q, history=history[-settings.max_history_turns:], top_k=k, answerer=answerer,
                               as_of=line_as_of)
        print_json(result.to_json())
    if failures:
        raise typer.Exit(3)


@app.command()
def chat(
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=50)] = None,
) -> None:
    """Trò chuyện trong terminal, có hỏi tiếp / Terminal conversation with follow-ups."""
    settings = load_settings()
    assistant = _assistant(settings)

    _tolerant_stdin()
    history: list[dict[str, str]] = []
    out.print("Trợ lý Kiêm nhiệm — gõ câu hỏi; /moi để bắt đầu cuộc trò chuyện mới; /thoat để thoát.")
    while True:
        try:
            raw = input("\nBạn: ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if has_lone_surrogate(raw):  # a terminal or pipe in another encoding: say so, keep the conversation
            out.print("Dòng vừa nhập không phải văn bản UTF-8 hợp lệ / that line is not valid UTF-8.")
            continue
        q = clean_input(raw).strip()
        if not q:
            continue
        if q in ("/thoat", "/quit", "/exit"):
            return
        if q in ("/moi", "/new"):
            history.clear()
            out.print("(Đã bắt đầu cuộc trò chuyện mới.)")
            continue
        if len(q) > settings.max_question_chars:
            out.print(f"Câu hỏi dài quá {settings.max_question_chars} ký tự.")
            continue
        result = assistant.ask(q, history=history[-settings.max_history_turns:], top_k=k)
        out.print("\nTrợ lý:")
        _print_answer(result)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": result.answer}]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
) -> None:
    """Chạy API và giao diện web / Serve the HTTP API and the web chat (uvicorn)."""
    settings = load_settings()
    problem = data_dir_problem(settings)
    if problem and settings.chroma_mode == "embedded":
        fail(f"thư mục dữ liệu không ghi được / data dir is not writable ({problem}); the embedded index needs "
             "a writable KIEMNHIEM_DATA_DIR (or use KIEMNHIEM_CHROMA_URL and serve read-only)")
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["kiemnhiem"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # h11 (not httptools) so that the request head is bounded; GuardedH11Protocol answers 431 and times out
    # heads that never complete. h11's own limit is only a backstop above ours.
    protocol = functools.partial(GuardedH11Protocol, header_timeout=settings.header_timeout,
                                 max_header_bytes=settings.max_header_bytes)
    console.print(f"Trợ lý Kiêm nhiệm: http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False, timeout_graceful_shutdown=5,
                limit_concurrency=None, access_log=False, http=protocol,  # type: ignore[arg-type]
                h11_max_incomplete_event_size=settings.max_header_bytes + 512 * 1024,
                timeout_keep_alive=5, log_config=log_config,
                # a spawned worker answers uvicorn's health ping only once its imports are done: on a busy
                # machine that takes over the 5 s default, and every worker was killed and respawned forever
                timeout_worker_healthcheck=60)


def _register_eval() -> None:
    app.add_typer(eval_app, name="eval", help="Đánh giá chất lượng trả lời / answer-quality evaluation")


_register_eval()

dev_app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Công cụ cho người phát triển / developer tools (assistant/tools/)")
app.add_typer(dev_app, name="dev")
# the tools keep their own argparse options (``kiemnhiem dev bench --help``): typer passes them through
_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@dev_app.command("bench", context_settings=_PASSTHROUGH, add_help_option=False)
def dev_bench(ctx: typer.Context) -> None:
    """Đo hiệu năng, ghi docs/benchmarks.md / Benchmarks (`make bench`); options: --help.

    ``--only scale`` is the scaling benchmark (assistant/tools/bench_scale.py), with its own options."""
    args = list(ctx.args)
    if args[:2] == ["--only", "scale"] or args[:1] == ["--only=scale"]:
        raise typer.Exit(scale_main(args[1 if args[0] == "--only=scale" else 2:]))

    raise typer.Exit(bench_main(args))


@dev_app.command("load", context_settings=_PASSTHROUGH, add_help_option=False)
def dev_load(ctx: typer.Context) -> None:
    """Tạo tải lên máy chủ cục bộ / Bounded load on a loopback server; options: --help."""
    raise typer.Exit(load_main(ctx.args))


@dev_app.command("serve-test")
def dev_serve_test(
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    seconds: Annotated[float, typer.Option(min=0, help="Stop after this many seconds (0: on Ctrl-C)")] = 0.0,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for /health")] = 180.0,
) -> None:
    """Chạy máy chủ thật trên cổng trống để thử / A real server on a free loopback port, for tests and load.

    Prints one JSON line ``{url, pid, startup_s}`` once ``/health`` answers, then keeps the server
    up until Ctrl-C (or ``--seconds``) and stops it cleanly.
    """
    settings = load_settings()
    srv = ServeProcess(serve_env(settings), workers)
    try:
        try:
            srv.wait(timeout)
        except (RuntimeError, TimeoutError) as exc:
            fail(f"máy chủ không khởi động được / the server did not start: {exc}")
        print_json({"url": srv.url, "pid": srv.proc.pid, "startup_s": round(srv.startup_s or 0.0, 2)})
        t0 = time.monotonic()
        while srv.proc.poll() is None and (not seconds or time.monotonic() - t0 < seconds):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
