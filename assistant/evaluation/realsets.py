"""Question sets nobody on the team wrote (issue #22): real citizens' questions and questions on a
law an administrator adds.

Why: the gold set is written by the people who write the rules, so a rule can be fitted to its
wording. These sets come from outside: ``eval/real_questions.jsonl`` restates questions people
asked on public Q&A pages (with the page, the date and the official answer), and
``eval/user_law_questions.jsonl`` asks about two official laws the starter notes never mention,
which the run ingests beside ``knowledge/`` into a throw-away data folder. Both reuse the gold
row format and scoring (:mod:`assistant.evaluation.gold`); this module adds their own fields,
their validators and their runners.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.answering.chain import Assistant
from assistant.config import Settings
from assistant.evaluation.gold import EvalSetError, GoldQuestion, evaluate_gold, load_questions, summarize
from assistant.evaluation.metrics import Progress, first_sentence, mean, percentile
from assistant.evaluation.report import fmt, git_commit, utc_stamp
from assistant.ingest.chunking import chunk_document
from assistant.ingest.documents import iter_documents
from assistant.ingest.pipeline import KnowledgeIndex

REAL_MIN_QUESTIONS = 60
USER_LAW_MIN_PER_LAW = 15
_DATE_ASKED = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_URL = re.compile(r"https?://[^\s/]+\.[^\s]+")
LAW_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


@dataclass
class RealQuestion:
    """A gold-format question plus where it was asked and what the official answer said."""

    gold: GoldQuestion
    source_url: str
    date_asked: str
    official_answer: str
    answerable_from_sources: bool
    sources_lack: str = ""


@dataclass
class UserLawQuestion:
    """A gold-format question about one user-added law (``law`` = the law file's stem)."""

    gold: GoldQuestion
    law: str


def _raw_lines(path: Path) -> dict[int, dict[str, Any]]:
    """``{line number: object}`` for every non-empty line (the gold loader has already checked JSON)."""
    return {i: json.loads(line) for i, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1)
            if line.strip()}


def _nonempty(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' must be a non-empty string")
    return value.strip()


def load_real_questions(path: Path | str) -> list[RealQuestion]:
    """Read ``eval/real_questions.jsonl``: the gold fields, then ``source_url`` (http/https),
    ``date_asked`` (YYYY, YYYY-MM or YYYY-MM-DD), ``official_answer``, ``answerable_from_sources``
    (equal to ``answerable``) and, for questions the sources cannot answer, ``sources_lack``."""
    path = Path(path)
    golds = load_questions(path)
    raw = _raw_lines(path)
    out = []
    for q in golds:
        item = raw[q.line]
        try:
            url = _nonempty(item, "source_url")
            if not _URL.fullmatch(url):
                raise ValueError(f"'source_url' must be an http(s) address, got {url!r}")
            asked = _nonempty(item, "date_asked")
            if not _DATE_ASKED.fullmatch(asked):
                raise ValueError(f"'date_asked' must be YYYY, YYYY-MM or YYYY-MM-DD, got {asked!r}")
            official = _nonempty(item, "official_answer")
            from_sources = item.get("answerable_from_sources")
            if not isinstance(from_sources, bool):
                raise ValueError("'answerable_from_sources' must be true or false")
            if from_sources != q.answerable:
                raise ValueError("'answerable_from_sources' and 'answerable' must agree")
            lacks = item.get("sources_lack", "")
            if not isinstance(lacks, str):
                raise ValueError("'sources_lack' must be a string")
            if not from_sources and not lacks.strip():
                raise ValueError("a question the sources cannot answer needs 'sources_lack' (what is missing)")
        except ValueError as exc:
            raise EvalSetError(f"{path}:{q.line}: {exc}") from exc
        out.append(RealQuestion(q, url, asked, official, from_sources, lacks.strip()))
    return out


def load_user_law_questions(path: Path | str) -> list[UserLawQuestion]:
    """Read ``eval/user_law_questions.jsonl``: the gold fields plus ``law``, the stem of the law
    file (``luat-to-chuc-chinh-phu-76-2015`` for ``…/luat-to-chuc-chinh-phu-76-2015.txt``)."""
    path = Path(path)
    golds = load_questions(path)
    raw = _raw_lines(path)
    out = []
    for q in golds:
        try:
            law = _nonempty(raw[q.line], "law")
            if "/" in law or "\\" in law:
                raise ValueError(f"'law' is a file stem, not a path: {law!r}")
        except ValueError as exc:
            raise EvalSetError(f"{path}:{q.line}: {exc}") from exc
        out.append(UserLawQuestion(q, law))
    return out


def set_size_problems(real: Sequence[RealQuestion] | None = None,
                      user_law: Sequence[UserLawQuestion] | None = None) -> list[str]:
    """What the issue asks of the sets' sizes: ≥ 60 real questions, about a third of them beyond
    the sources (between a fifth and a half), and ≥ 15 questions for every user law."""
    problems = []
    if real is not None:
        if len(real) < REAL_MIN_QUESTIONS:
            problems.append(f"{len(real)} real questions (need ≥ {REAL_MIN_QUESTIONS})")
        beyond = sum(1 for q in real if not q.answerable_from_sources)
        if real and not 0.2 <= beyond / len(real) <= 0.5:
            problems.append(f"{beyond}/{len(real)} real questions need texts the sources lack (want about a third)")
    if user_law is not None:
        for law, n in sorted(Counter(q.law for q in user_law).items()):
            if n < USER_LAW_MIN_PER_LAW:
                problems.append(f"{n} questions on {law} (need ≥ {USER_LAW_MIN_PER_LAW})")
    return problems


def grounding_problems(questions: Iterable[GoldQuestion], texts: Mapping[str, str],
                       sections: Mapping[str, set[str]]) -> list[str]:
    """Gold ids that are not documents, gold sections no gold document has, key facts and leads
    that are not verbatim (NFC) in a gold document: the set must say what the sources say."""
    problems = []
    for q in questions:
        missing = [g for g in q.gold_ids if g not in texts]
        problems += [f"{q.id}: unknown document {g!r}" for g in missing]
        gold = [g for g in q.gold_ids if g in texts]
        for s in q.gold_sections:
            if not any(s in sections.get(g, set()) for g in gold):
                problems.append(f"{q.id}: section {s!r} is in none of {gold}")
        for fact in (*q.key_facts, *q.lead):
            nfc = unicodedata.normalize("NFC", fact)
            if not any(nfc in texts[g] for g in gold):
                problems.append(f"{q.id}: {fact!r} is not verbatim in {gold}")
    return problems


def document_texts(paths: Sequence[Path]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """``({doc id: NFC text}, {doc id: section labels})`` for documents under ``paths``, chunked
    as the index chunks them (load errors raise: a set cannot be checked against a broken source)."""
    docs, errors = iter_documents(list(paths))
    if errors:
        raise EvalSetError("; ".join(str(e) for e in errors))
    texts = {d.id: unicodedata.normalize("NFC", d.text) for d in docs}
    sections = {d.id: {p.section for p in chunk_document(d)} for d in docs}
    return texts, sections


def law_file(laws_dir: Path, stem: str) -> Path:
    """The law document ``<stem>.<suffix>`` in ``laws_dir`` (its ``.yaml`` sidecar sits beside it)."""
    for suffix in LAW_SUFFIXES:
        p = Path(laws_dir) / f"{stem}{suffix}"
        if p.is_file():
            return p
    raise EvalSetError(f"{laws_dir}: không tìm thấy văn bản luật «{stem}»", f"{laws_dir}: no law file named {stem}.*")


# ---------------------------------------------------------------------------------------------
# scoring and reports
# ---------------------------------------------------------------------------------------------


def fully_right(row: Mapping[str, Any]) -> bool:
    """The automatic proxy for "fully right" on an answerable row: answered, every key fact
    present, valid citations and no reader failure (lead, verdict, forbidden claim, period).
    Hand reading (``../shared/tools/read-answers --full``) stays the judge; this is the floor."""
    return (row["answerable"] and not row["refused"] and not row.get("error")
            and not row.get("key_facts_missing") and not row.get("failures"))


def slice_metrics(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The numbers a reader of these sets wants: answered, fully right (automatic), key facts,
    refusals of questions the sources cannot answer, citation validity."""
    answerable = [r for r in rows if r["answerable"]]
    beyond = [r for r in rows if not r["answerable"]]
    valid = [r["citation_valid"] for r in rows if "citation_valid" in r]
    return {
        "n": len(rows), "n_answerable": len(answerable), "n_beyond_sources": len(beyond),
        "answered": sum(1 for r in answerable if not r["refused"]),
        "fully_right_auto": sum(1 for r in answerable if fully_right(r)),
        "key_fact_coverage": mean(r.get("key_fact_coverage") for r in answerable),
        "key_facts_all_present": sum(1 for r in answerable if not r["refused"] and not r.get("key_facts_missing")),
        "beyond_refused": sum(1 for r in beyond if r["refused"]),
        "citation_validity": mean(1.0 if v else 0.0 for v in valid),
        "latency_ms_p50": percentile([r["latency_ms"] for r in rows if not r.get("error")], 50),
    }


def _display_path(p: Path | str) -> str:
    """A path for a committed report: relative to the working folder when under it, else the
    name under its parent folder's name (never an absolute machine path)."""
    p = Path(p)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _write(report: dict[str, Any], out_dir: Path, suffix: str, md: str) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base, n = f"{report['timestamp']}-{suffix}", 2
    while (out_dir / f"{base}.json").exists():
        base, n = f"{report['timestamp']}-{suffix}-{n}", n + 1
    json_path, md_path = out_dir / f"{base}.json", out_dir / f"{base}.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")
    md_path.write_text(md, "utf-8")
    return json_path, md_path


def _md_cell(text: object, limit: int = 110) -> str:
    t = " ".join(str(text or "").split()).replace("|", "\\|")
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _rows_md(rows: Sequence[Mapping[str, Any]], extra: Callable[[Mapping[str, Any]], str]) -> list[str]:
    lines = ["| id | | question | first sentence | missing / failed |", "|---|---|---|---|---|"]
    for r in rows:
        mark = ("REFUSED" if r["refused"] else "ok" if fully_right(r) else "partial") if r["answerable"] \
            else ("refused" if r["refused"] else "ANSWERED")
        why = ", ".join([*(f"«{f}»" for f in r.get("key_facts_missing", [])),
                         *(f for f in r.get("failures", []) if f != "key_facts_missing")])
        lines.append(f"| {r['id']} | {mark}{extra(r)} | {_md_cell(r['question'], 90)} | "
                     f"{_md_cell(first_sentence(r['answer']) if r['answer'] else '', 110)} | {_md_cell(why, 80)} |")
    return lines


def _run_meta(assistant: Assistant, started: datetime, t0: float, kind: str) -> dict[str, Any]:
    snap = assistant.index.snapshot()
    s = assistant.settings
    return {"kind": kind, "version": 1, "timestamp": utc_stamp(started), "created_at": started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - t0, 1),
            "config": {"commit": git_commit(), "answerer": s.answerer, "top_k": s.top_k, "model": snap.model_id,
                       "generation": snap.generation, "passages": len(snap.passages)}}


def run_real_eval(assistant: Assistant, path: Path | str, *, out_dir: Path | None = None, limit: int | None = None,
                  progress: Progress | None = None) -> tuple[dict[str, Any], tuple[Path, Path] | None]:
    """Ask every real question through ``assistant`` (default settings, its ``as_of`` when set),
    score it like a gold row and write ``<out_dir>/<UTC>-real.{json,md}``."""
    questions = load_real_questions(path)[: limit if limit is not None else None]
    meta = {q.gold.id: q for q in questions}
    started, t0 = datetime.now(UTC), time.perf_counter()
    result = evaluate_gold(assistant, [q.gold for q in questions], modes=(), progress=progress)
    rows = result["questions"]
    for r in rows:
        q = meta[r["id"]]
        r.update(source_url=q.source_url, date_asked=q.date_asked, official_answer=q.official_answer,
                 answerable_from_sources=q.answerable_from_sources, fully_right_auto=fully_right(r))
    metrics = summarize(rows, by_split=False)
    metrics["real"] = slice_metrics(rows)
    report = {**_run_meta(assistant, started, t0, "real"),
              "set": {"path": _display_path(path), "n": len(questions), "limit": limit, "role": "dev"},
              "metrics": metrics, "questions": rows}
    files = _write(report, out_dir, "real", render_real_md(report)) if out_dir is not None else None
    return report, files


def render_real_md(report: Mapping[str, Any]) -> str:
    m, s = report["metrics"], report["metrics"]["real"]
    lines = [f"# Câu hỏi thật / Real questions {report['timestamp']}", "",
             f"- commit `{report['config']['commit']}`, answerer `{report['config']['answerer']}`, "
             f"set `{report['set']['path']}` ({s['n']} questions; a dev set: read it, tune on it, "
             "judge by the maintainers' hidden set)",
             "", "| | value |", "|---|---:|",
             f"| answerable from the sources | {s['n_answerable']} |",
             f"| answered (not refused) | {s['answered']}/{s['n_answerable']} |",
             f"| fully right (automatic: all key facts, no reader failure) | {s['fully_right_auto']}/{s['n_answerable']} |",
             f"| all key facts present | {s['key_facts_all_present']}/{s['n_answerable']} |",
             f"| key-fact coverage | {fmt(s['key_fact_coverage'])} |",
             f"| beyond the sources: refused | {s['beyond_refused']}/{s['n_beyond_sources']} |",
             f"| citation validity | {fmt(s['citation_validity'])} |",
             f"| verdict agreement | {fmt(m['reader'].get('verdict_agreement'))} (n={m['reader'].get('verdict_n', 0)}) |",
             f"| forbidden claims | {m['reader'].get('forbidden_claims', 0)} |",
             f"| latency p50 ms | {fmt(s['latency_ms_p50'], 0)} |",
             "", "“Fully right” here is a floor computed from key facts; the README gives the hand-read figure.",
             "", "## Questions", ""]
    lines += _rows_md(report["questions"], lambda r: "")
    return "\n".join(lines) + "\n"


def user_law_settings(settings: Settings, data_dir: Path, law_files: Sequence[Path]) -> Settings:
    """``settings`` with a private data folder whose index holds ``knowledge/`` and the laws:
    the model stays where it is (never re-materialised), the index is embedded (no server)."""
    return settings.model_copy(update={
        "data_dir": Path(data_dir), "model_path": settings.model_dir, "chroma_url": None, "uploads_dir": None,
        "knowledge_paths": [*settings.knowledge_paths, *law_files]})


def run_user_law_eval(settings: Settings, path: Path | str, laws_dir: Path | str, *, out_dir: Path | None = None,
                      data_dir: Path | None = None, limit: int | None = None, progress: Progress | None = None
                      ) -> tuple[dict[str, Any], tuple[Path, Path] | None]:
    """Ingest each law the set names (from ``laws_dir``, read in place) beside ``knowledge/`` into
    a temporary data folder (or ``data_dir``), ask every question, and report per law."""
    questions = load_user_law_questions(path)[: limit if limit is not None else None]
    laws = sorted({q.law for q in questions})
    files = [law_file(Path(laws_dir), law) for law in laws]
    say = progress or (lambda _m: None)
    with tempfile.TemporaryDirectory(prefix="kiemnhiem-user-law-") as tmp:
        s2 = user_law_settings(settings, Path(data_dir) if data_dir else Path(tmp), files)
        index = KnowledgeIndex(s2)
        say(f"user-law: ingesting knowledge + {len(files)} law(s) into a temporary index")
        rep = index.ingest(list(s2.knowledge_paths))
        if rep.errors:
            raise EvalSetError("; ".join(rep.errors))
        snap = index.snapshot(refresh=True)
        law_ids = {q.gold.gold_ids[0] for q in questions if q.gold.gold_ids}
        indexed = Counter(p.doc_id for p in snap.passages if p.doc_id in law_ids)
        missing = sorted(law_ids - set(indexed))
        if missing:
            raise EvalSetError(f"luật không vào được chỉ mục: {missing}", f"laws not in the index: {missing}")
        assistant = Assistant(s2, index=index)
        started, t0 = datetime.now(UTC), time.perf_counter()
        result = evaluate_gold(assistant, [q.gold for q in questions], modes=(), progress=progress)
        meta_run = _run_meta(assistant, started, t0, "user-law")
    rows = result["questions"]
    law_of = {q.gold.id: q.law for q in questions}
    for r in rows:
        r["law"] = law_of[r["id"]]
    metrics = summarize(rows, by_split=False)
    metrics["by_law"] = {law: {**slice_metrics([r for r in rows if r["law"] == law]),
                               "section_hit@5": mean(r["section"]["hit@5"] for r in rows if r["law"] == law),
                               "doc_hit@1": mean(r["doc"]["hit@1"] for r in rows if r["law"] == law)}
                         for law in laws}
    metrics["user_law"] = slice_metrics(rows)
    report = {**meta_run, "set": {"path": _display_path(path), "n": len(questions), "limit": limit},
              "laws": [{"law": law, "file": f"{Path(laws_dir).name}/{f.name}", "passages": indexed.get(gid, 0)}
                       for law, f, gid in zip(laws, files, _law_doc_ids(questions, laws), strict=True)],
              "metrics": metrics, "questions": rows}
    out = _write(report, out_dir, "user-law", render_user_law_md(report)) if out_dir is not None else None
    return report, out


def _law_doc_ids(questions: Sequence[UserLawQuestion], laws: Sequence[str]) -> list[str]:
    first: dict[str, str] = {}
    for q in questions:
        if q.gold.gold_ids:
            first.setdefault(q.law, q.gold.gold_ids[0])
    return [first.get(law, "") for law in laws]


def render_user_law_md(report: Mapping[str, Any]) -> str:
    m = report["metrics"]
    lines = [f"# Luật người dùng thêm / User-added laws {report['timestamp']}", "",
             f"- commit `{report['config']['commit']}`, answerer `{report['config']['answerer']}`, "
             f"set `{report['set']['path']}`; each law ingested beside knowledge/ into a temporary data folder",
             "", "| law (file) | passages | questions | answered | all key facts | key-fact coverage | "
             "section hit@5 | doc hit@1 |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for law in report["laws"]:
        b = m["by_law"][law["law"]]
        lines.append(f"| `{law['file']}` | {law['passages']} | {b['n']} | {b['answered']}/{b['n']} | "
                     f"{b['key_facts_all_present']}/{b['n']} | {fmt(b['key_fact_coverage'])} | "
                     f"{fmt(b['section_hit@5'])} | {fmt(b['doc_hit@1'])} |")
    u = m["user_law"]
    lines += ["", f"All: answered {u['answered']}/{u['n']}, all key facts {u['key_facts_all_present']}/{u['n']}, "
              f"key-fact coverage {fmt(u['key_fact_coverage'])}, citation validity {fmt(u['citation_validity'])}.",
              "", "## Questions", ""]
    lines += _rows_md(report["questions"], lambda r: "")
    return "\n".join(lines) + "\n"

