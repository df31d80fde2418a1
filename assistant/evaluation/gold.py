"""The gold set: loading ``eval/questions.jsonl``, asking every question, scoring each answer.

Drives ``Assistant.ask`` (with history and ``as_of``) and ``HybridSearcher.search`` (every
retrieval mode), turns each answer into a per-question row with the pure functions of
``metrics.py``, and hands the run to ``report.py``. Also the out-of-domain refusal slice.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from assistant.answering.chain import AnswerResult, Assistant
from assistant.answering.followup import condense
from assistant.config import Settings
from assistant.errors import KiemnhiemError
from assistant.evaluation.metrics import (
    MARKER_RE,
    NDCG_K,
    RANK_KS,
    Progress,
    aggregate_ranking,
    citation_precision_recall,
    citation_problems,
    doc_keys,
    first_relevant_rank,
    key_fact_hits,
    mean,
    percentile,
    ranking_metrics,
    reader_checks,
    reader_metrics,
    refusal_metrics,
    section_keys,
)
from assistant.evaluation.out_of_domain import ALQAC_QUESTIONS, load_out_of_domain
from assistant.evaluation.report import (
    ReportFiles,
    file_sha256,
    git_commit,
    shown_path,
    utc_stamp,
    write_report,
)
from assistant.evaluation.split import SPLITS, split_gap, split_of
from assistant.models import MODES
from assistant.search.retrieval import HybridSearcher
from assistant.search.store import Snapshot

log = logging.getLogger(__name__)
REPORT_VERSION = 1


class EvalSetError(KiemnhiemError, ValueError):
    """A question file that cannot be used; the message names the file and line."""

    code = "invalid_question_set"


@dataclass
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    gold_ids: list[str]
    gold_sections: list[str]
    key_facts: list[str]
    history: list[dict[str, str]] = field(default_factory=list)
    note: str = ""
    line: int = 0
    # reader fields (eval/README.md): accepted first-sentence strings, strings that must not appear,
    # yes/no verdict, the named thing a must-refuse question's sources lack, the date/period asked
    lead: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    verdict: str | None = None
    premise: str = ""
    as_of: str | None = None
    period: str = ""


def _check_str_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{name}' must be a list of strings")
    return list(value)


def _reader_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the optional reader fields of one gold-set line (``ValueError`` names the field)."""
    lead = item.get("lead", [])
    if isinstance(lead, str):
        lead = [lead]
    lead = _check_str_list(lead, "lead")
    forbid = _check_str_list(item.get("forbid", []), "forbid")
    if any(not s.strip() for s in (*lead, *forbid)):
        raise ValueError("'lead' and 'forbid' strings must not be empty")
    verdict = item.get("verdict")
    if verdict is not None and verdict not in ("yes", "no"):
        raise ValueError("'verdict' must be \"yes\" or \"no\"")
    premise = item.get("premise", "")
    period = item.get("period", "")
    as_of = item.get("as_of")
    if not isinstance(premise, str) or not isinstance(period, str):
        raise ValueError("'premise' and 'period' must be strings")
    if as_of is not None:
        try:
            if not isinstance(as_of, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
                raise ValueError
            date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"'as_of' must be a date YYYY-MM-DD, got {as_of!r}") from None
    if (lead or verdict) and not item.get("answerable"):
        raise ValueError("'lead' and 'verdict' need an answerable question")
    if premise and item.get("answerable"):
        raise ValueError("'premise' marks a question to refuse: 'answerable' must be false")
    return {"lead": lead, "forbid": forbid, "verdict": verdict, "premise": premise, "as_of": as_of,
            "period": period}


def load_questions(path: Path | str) -> list[GoldQuestion]:
    """Read a gold-set JSONL file; every problem is reported as ``<file>:<line>: <what>``."""
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"{path}: không tìm thấy tệp câu hỏi", f"{path}: question file not found")
    try:
        raw = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(f"{path}: cannot read: {exc}") from exc
    out: list[GoldQuestion] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{where}: dòng không phải JSON hợp lệ: {exc.msg} (cột {exc.colno})",
                               f"{where}: invalid JSON: {exc.msg} "
                               f"(column {exc.colno})") from exc
        try:
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object")
            for key in ("id", "question"):
                if not isinstance(item.get(key), str) or not item[key].strip():
                    raise ValueError(f"'{key}' must be a non-empty string")
            if not isinstance(item.get("answerable"), bool):
                raise ValueError("'answerable' must be true or false")
            gold_ids = _check_str_list(item.get("gold_ids", []), "gold_ids")
            gold_sections = _check_str_list(item.get("gold_sections", []), "gold_sections")
            key_facts = _check_str_list(item.get("key_facts", []), "key_facts")
            history = item.get("history") or []
            if not isinstance(history, list) or not all(
                isinstance(h, dict) and h.get("role") in ("user", "assistant") and isinstance(h.get("content"), str)
                for h in history
            ):
                raise ValueError("'history' must be a list of {role: user|assistant, content: str}")
            if item["answerable"] and not gold_ids:
                raise ValueError("an answerable question needs at least one gold id")
            if item["id"] in seen:
                raise ValueError(f"duplicate id {item['id']!r} (first on line {seen[item['id']]})")
            reader = _reader_fields(item)
        except ValueError as exc:
            raise EvalSetError(f"{where}: {exc}") from exc
        seen[item["id"]] = lineno
        out.append(GoldQuestion(item["id"], item["question"], item["answerable"], gold_ids, gold_sections,
                                key_facts, [dict(h) for h in history], str(item.get("note", "")), lineno,
                                **reader))
    if not out:
        raise EvalSetError(f"{path}: no questions")
    return out


def _section_units(snapshot: Snapshot, gold_ids: Sequence[str], gold_sections: Sequence[str]) -> int:
    """How many distinct (doc, section) pairs in the index are gold: the ideal for section nDCG."""
    gold, sections = set(gold_ids), set(gold_sections)
    units = {(p.doc_id, p.section) for p in snapshot.passages if p.doc_id in gold and p.section in sections}
    return max(len(units), 1)


def _passage_rows(passages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"doc_id": p.get("doc_id"), "section": p.get("section"), "label": p.get("label"),
             "score": p.get("score"), "passage_id": p.get("passage_id")} for p in passages]


def evaluate_question(q: GoldQuestion, result: AnswerResult, passage_text: Callable[[str], str | None],
                      n_section_units: int) -> dict[str, Any]:
    """One per-question row from an ``AnswerResult`` (pure apart from the lookup function)."""
    passages = list(result.passages)
    citations = list(result.citations)
    diagnostics: dict[str, Any] = getattr(result, "diagnostics", None) or {}
    row: dict[str, Any] = {
        "id": q.id, "split": split_of(q.id), "question": q.question, "history_turns": len(q.history),
        "query": getattr(result, "query", ""),
        "answerable": q.answerable, "refused": bool(result.refused),
        "refusal_ok": bool(result.refused) == (not q.answerable),
        "answer": result.answer,
        "citations": [{k: c.get(k) for k in ("n", "doc_id", "section", "passage_id", "quote")} for c in citations],
        "passages": _passage_rows(passages),
        "gold_ids": q.gold_ids, "gold_sections": q.gold_sections,
        "latency_ms": round(float(result.timings_ms.get("total", 0.0)), 1),
        "answered_by": getattr(result, "answered_by", "extractive"),
        **({"llm_draft": diagnostics["draft"], "llm_dropped": diagnostics.get("dropped", [])}
           if diagnostics.get("draft") else {}),
    }
    failures: list[str] = []
    if q.answerable:
        dk = doc_keys(passages, q.gold_ids)
        sk = section_keys(passages, q.gold_ids, q.gold_sections)
        row["doc"] = ranking_metrics(dk, len(set(q.gold_ids)))
        row["section"] = ranking_metrics(sk, n_section_units)
        row["doc_rank"] = first_relevant_rank(dk)
        row["section_rank"] = first_relevant_rank(sk)
        if not row["doc"]["hit@5"]:
            failures.append("doc_miss@5")
        elif not row["section"]["hit@5"]:
            failures.append("section_miss@5")
        hits = key_fact_hits(result.answer if not result.refused else "", q.key_facts)
        hits_f = key_fact_hits(result.answer if not result.refused else "", q.key_facts, fold_diacritics=True)
        row["key_facts"] = q.key_facts
        row["key_facts_missing"] = [f for f, h in zip(q.key_facts, hits, strict=True) if not h]
        row["key_fact_coverage"] = mean(1.0 if h else 0.0 for h in hits) if q.key_facts else None
        row["key_fact_coverage_folded"] = mean(1.0 if h else 0.0 for h in hits_f) if q.key_facts else None
        if result.refused:
            failures.append("over_refusal")
        else:
            p, r = citation_precision_recall(citations, q.gold_ids)
            row["citation_precision"], row["citation_recall"] = p, r
            if row["key_facts_missing"]:
                failures.append("key_facts_missing")
    elif not result.refused:
        failures.append("under_refusal")
    reader_row, reader_failures = reader_checks(q, result.answer, bool(result.refused))
    row.update(reader_row)
    failures += reader_failures
    if getattr(result, "as_of", ""):
        row["as_of"] = result.as_of
    if not result.refused or citations or MARKER_RE.search(result.answer or ""):
        problems = citation_problems(result.answer, citations, passage_text)
        row["citation_valid"] = not problems
        row["citation_problems"] = problems
        if problems:
            failures.append("invalid_citation")
    row["failures"] = failures
    return row


def summarize(rows: Sequence[Mapping[str, Any]], *, by_split: bool = True) -> dict[str, Any]:
    """Overall metrics from per-question rows (see the module docstring for the definitions).

    With ``by_split`` the metrics also hold ``splits``: the same metrics on the dev and the
    held-out half (:func:`assistant.evaluation.split.split_of` of each id) and their gap.
    """
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in answerable if not r["refused"]]
    validity = [r["citation_valid"] for r in rows if "citation_valid" in r]
    lat = [r["latency_ms"] for r in rows if not r.get("error")]
    metrics: dict[str, Any] = {
        "n": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(rows) - len(answerable),
        "errors": sum(1 for r in rows if r.get("error")),
        "retrieval": {
            "n": len(answerable),
            "document": aggregate_ranking([r["doc"] for r in answerable]),
            "section": aggregate_ranking([r["section"] for r in answerable]),
        },
        "citations": {
            "precision": mean(r.get("citation_precision") for r in answered),
            "recall": mean(r.get("citation_recall") for r in answered),
            "n": len(answered),
            "validity": mean(1.0 if v else 0.0 for v in validity),
            "validity_n": len(validity),
            "invalid": sum(1 for v in validity if not v),
        },
        "key_facts": {
            "coverage": mean(r.get("key_fact_coverage") for r in answerable),
            "coverage_folded": mean(r.get("key_fact_coverage_folded") for r in answerable),
            "coverage_answered": mean(r.get("key_fact_coverage") for r in answered),
            "n": sum(1 for r in answerable if r.get("key_fact_coverage") is not None),
        },
        "refusal": refusal_metrics([r["refused"] for r in rows], [r["answerable"] for r in rows]),
        "reader": reader_metrics(rows),
        "latency_ms": {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "mean": mean(lat),
                       "max": max(lat) if lat else None, "n": len(lat)},
        # who wrote each answer: with --answerer llm this shows how often the model's text survived verification
        "answered_by": dict(sorted(Counter(str(r.get("answered_by", "extractive")) for r in rows
                                           if not r.get("error")).items())),
    }
    if by_split and rows:
        halves = {name: summarize([r for r in rows if split_of(r["id"]) == name], by_split=False)
                  for name in SPLITS}
        metrics["splits"] = {**halves, "gap": split_gap(halves["dev"], halves["heldout"])}
    return metrics


def evaluate_modes(searcher: HybridSearcher, questions: Sequence[GoldQuestion], snapshot: Snapshot, *, k: int = 5,
                   modes: Sequence[str] = MODES, progress: Progress | None = None
                   ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Each retrieval mode on the standalone query of every answerable question.

    Returns ``(metrics per mode, per-question {id: {mode: {doc_rank, section_rank}}})``.
    """
    per_mode: dict[str, dict[str, list[Any]]] = {m: {"doc": [], "section": [], "ms": []} for m in modes}
    ranks: dict[str, dict[str, Any]] = {}
    targets = [q for q in questions if q.answerable]
    for i, q in enumerate(targets, start=1):
        query, focus = condense(q.question, q.history)
        n_units = _section_units(snapshot, q.gold_ids, q.gold_sections)
        for mode in modes:
            t0 = time.perf_counter()
            res = searcher.search(query, k=k, mode=mode, focus=focus)
            ms = (time.perf_counter() - t0) * 1000
            ps = [{"doc_id": h.passage.doc_id, "section": h.passage.section} for h in res.hits]
            dk = doc_keys(ps, q.gold_ids)
            sk = section_keys(ps, q.gold_ids, q.gold_sections)
            per_mode[mode]["doc"].append(ranking_metrics(dk, len(set(q.gold_ids))))
            per_mode[mode]["section"].append(ranking_metrics(sk, n_units))
            per_mode[mode]["ms"].append(ms)
            ranks.setdefault(q.id, {})[mode] = {"doc_rank": first_relevant_rank(dk),
                                                "section_rank": first_relevant_rank(sk)}
        if progress and (i % 20 == 0 or i == len(targets)):
            progress(f"modes: {i}/{len(targets)}")
    metrics = {
        m: {"document": aggregate_ranking(v["doc"]), "section": aggregate_ranking(v["section"]),
            "latency_ms": {"p50": percentile(v["ms"], 50), "p95": percentile(v["ms"], 95)}, "n": len(v["doc"])}
        for m, v in per_mode.items()
    }
    return metrics, ranks


def evaluate_gold(assistant: Assistant, questions: Sequence[GoldQuestion], *, answerer: str | None = None,
                  modes: Sequence[str] = MODES, progress: Progress | None = None) -> dict[str, Any]:
    """Run every question through ``assistant.ask`` (with its history) and every retrieval mode.

    Returns ``{"metrics": …, "questions": [rows]}``; metrics hold ``modes`` too.
    """
    snap = assistant.index.snapshot()

    def passage_text(pid: str) -> str | None:
        p = snap.by_id.get(pid)
        return p.text if p is not None else None

    # warm-up: first call pays lazy loading (tokenizer caches, BM25 df cache) and is not timed
    try:
        assistant.ask("Thành viên Ban bầu cử có được kiêm nhiệm không?", answerer=answerer)
    except Exception as exc:  # noqa: BLE001 - the real questions below will report it
        log.warning("warm-up question failed: %s", exc)
    rows: list[dict[str, Any]] = []
    for i, q in enumerate(questions, start=1):
        try:
            # a point-in-time question is asked for its date; the others for today (the default)
            when = date.fromisoformat(q.as_of) if q.as_of else None
            result = assistant.ask(q.question, history=q.history, answerer=answerer, as_of=when)
        except Exception as exc:  # noqa: BLE001 - one broken question must not hide the others
            result = AnswerResult(answer="", refused=True, passages=[], citations=[], timings_ms={"total": 0.0})
            row = evaluate_question(q, result, passage_text, 1)
            row["error"] = f"{type(exc).__name__}: {exc}"
            row["failures"] = ["error", *row["failures"]]
            rows.append(row)
            continue
        rows.append(evaluate_question(q, result, passage_text,
                                      _section_units(snap, q.gold_ids, q.gold_sections) if q.answerable else 1))
        if progress and (i % 10 == 0 or i == len(questions)):
            progress(f"questions: {i}/{len(questions)}")
    metrics = summarize(rows)
    if modes:
        k = max(NDCG_K, max(RANK_KS), assistant.settings.top_k)
        mode_metrics, mode_ranks = evaluate_modes(assistant.searcher, questions, snap, k=k, modes=modes,
                                                  progress=progress)
        metrics["modes"] = mode_metrics
        for r in rows:
            if r["id"] in mode_ranks:
                r["modes"] = mode_ranks[r["id"]]
    return {"metrics": metrics, "questions": rows}


# =============================================================================================
# out-of-domain slice (issue 16): questions about other fields of law must be refused
# =============================================================================================


def evaluate_out_of_domain(assistant: Assistant, path: Path | str, alqac_path: Path | str | None = None,
                           progress: Progress | None = None) -> dict[str, Any]:
    """Refusal rate on ``eval/out_of_domain.jsonl``: held-out ALQAC questions (resolved from
    ``alqac_path`` in place; skipped when absent) and hand-written everyday questions."""
    alqac = Path(alqac_path or ALQAC_QUESTIONS)
    items = load_out_of_domain(path, alqac if alqac.is_file() else None)
    rows = []
    for q in items:
        r = assistant.ask(q.question)
        # reports are committed: ALQAC rows keep their id only, never the third-party text
        rows.append({"id": q.id, "source": q.source, "form": q.form, "refused": bool(r.refused),
                     "answered_by": r.answered_by, "question": q.question if q.source == "handwritten" else ""})
    if progress:
        progress(f"out-of-domain: {len(rows)} questions")

    def rate(sel: list[dict[str, Any]]) -> float | None:
        return mean(1.0 if x["refused"] else 0.0 for x in sel)

    return {
        "path": shown_path(path), "n": len(rows), "alqac_included": alqac.is_file(), "refused": sum(x["refused"] for x in rows),
        "refusal_rate": rate(rows),
        "by_form": {f: rate([x for x in rows if x["form"] == f]) for f in ("accented", "folded")},
        "by_source": {s: rate([x for x in rows if x["source"] == s]) for s in ("alqac", "handwritten")},
        "answered_by": dict(sorted(Counter(x["answered_by"] for x in rows).items())),
        "answered": [{"id": x["id"], "question": x["question"]} for x in rows if not x["refused"]],
    }



def run_gold_eval(settings: Settings, questions_path: Path, *, answerer: str | None = None, limit: int | None = None,
                  out_dir: Path | None = None, modes: Sequence[str] = MODES, assistant: Assistant | None = None,
                  progress: Progress | None = None, out_of_domain: Path | None = None
                  ) -> tuple[dict[str, Any], ReportFiles | None]:
    """Load the set, run :func:`evaluate_gold`, attach run metadata and (with ``out_dir``) write the report."""
    questions = load_questions(questions_path)
    if limit is not None:
        questions = questions[: max(limit, 0)]
    assistant = assistant or Assistant(settings)
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    result = evaluate_gold(assistant, questions, answerer=answerer, modes=modes, progress=progress)
    if out_of_domain is not None and limit is None:
        result["metrics"]["out_of_domain"] = evaluate_out_of_domain(assistant, out_of_domain, progress=progress)
    snap = assistant.index.snapshot()
    report: dict[str, Any] = {
        "kind": "gold",
        "version": REPORT_VERSION,
        "timestamp": utc_stamp(started),
        "created_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 1),
        "set": {"path": shown_path(questions_path), "sha256": file_sha256(Path(questions_path)), "limit": limit,
                "n": len(questions)},
        "config": {
            "commit": git_commit(), "answerer": answerer or settings.answerer, "top_k": settings.top_k,
            "candidates": settings.candidates, "rrf_k": settings.rrf_k, "rerank": settings.rerank,
            "min_score": settings.min_score, "min_coverage": settings.min_coverage,
            "model": snap.model_id, "collection": snap.collection_name, "generation": snap.generation,
            "passages": len(snap.passages),
            **({"llm_model": settings.llm_model, "llm_url": settings.llm_url, "llm_timeout": settings.llm_timeout}
               if (answerer or settings.answerer) == "llm" else {}),
        },
        **result,
    }
    files = write_report(report, out_dir) if out_dir is not None else None
    return report, files
