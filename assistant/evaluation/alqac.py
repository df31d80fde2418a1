"""ALQAC 2023 (a third-party benchmark, read in place from ``../shared``; never copied): its laws
as :class:`Document` objects, indexed into their own collection, and article-level recall/MRR
of every retrieval mode. Reports keep question ids only, never the dataset's text.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import KiemnhiemError
from assistant.evaluation.metrics import Progress, mean, reciprocal_rank
from assistant.evaluation.split import partition
from assistant.ingest import chunking
from assistant.ingest.pipeline import KnowledgeIndex
from assistant.models import MODES, Document
from assistant.search.choices import with_choices
from assistant.search.retrieval import HybridSearcher
from assistant.text import collapse_ws, fold

ALQAC_COLLECTION = "alqac"
ALQAC_PREFIX = "alqac-"


class AlqacError(KiemnhiemError, ValueError):
    """An ALQAC file that cannot be used; the message names the file (developer-facing: English)."""

    code = "invalid_alqac"


def law_slug(law_id: str) -> str:
    """``Luật Phòng, chống ma túy`` -> ``alqac-luat-phong-chong-ma-tuy`` (a valid document id)."""
    s = re.sub(r"[^a-z0-9]+", "-", fold(law_id)).strip("-")
    return ALQAC_PREFIX + (s or hashlib.sha1(law_id.encode()).hexdigest()[:10])


def _structural_line_patterns() -> list[re.Pattern[str]]:
    return [chunking.ARTICLE_RE, chunking.CHAPTER_RE, chunking.MUC_RE, chunking.MD_SECTION_RE,
            chunking.MD_TITLE_RE, chunking._FENCE_RE]


def _neutralize_line(line: str, patterns: Sequence[re.Pattern[str]]) -> tuple[str, bool]:
    """Body lines the chunker would read as headings (``Điều 5. …``, ``Chương II``, ``## …``) are
    defused by lower-casing their first letter / dropping the Markdown marks: the words stay."""
    if not any(p.match(line) for p in patterns):
        return line, False
    stripped = line.lstrip()
    if stripped.startswith(("#", "```", "~~~")):
        fixed = stripped.lstrip("#`~ \t")
    else:
        fixed = stripped[:1].lower() + stripped[1:]
    return fixed, True


@dataclass
class AlqacLaws:
    documents: list[Document]
    law_of: dict[str, str]  # doc_id -> law id
    articles: set[tuple[str, str]]  # (law id, article id) present in the file
    defused_lines: int = 0
    title_only: list[tuple[str, str]] = field(default_factory=list)


def _load_json(path: Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise AlqacError(f"{path}: không tìm thấy tệp", f"{path}: {what} file not found")
    try:
        return json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise AlqacError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AlqacError(f"{path}: cannot read: {exc}") from exc


def parse_alqac_laws(path: Path | str) -> AlqacLaws:
    """ALQAC ``law.json`` -> one :class:`Document` per law, articles as plain ``Điều N. Title`` lines.

    The first line of an article's text is its title, so it becomes the heading line; the chunker
    then makes one passage per article (or khoản-aligned parts of a long one, which share the
    section ``Điều N``). Body lines that would look like headings are defused; an article whose
    text is only a title repeats it as its body so that it still becomes a passage.
    """
    data = _load_json(Path(path), "law")
    if not isinstance(data, list):
        raise AlqacError(f"{path}: expected a list of laws")
    patterns = _structural_line_patterns()
    docs: list[Document] = []
    law_of: dict[str, str] = {}
    present: set[tuple[str, str]] = set()
    defused = 0
    title_only: list[tuple[str, str]] = []
    for i, law in enumerate(data):
        if not isinstance(law, dict) or not isinstance(law.get("id"), str) or not isinstance(law.get("articles"), list):
            raise AlqacError(f"{path}: law #{i + 1}: expected {{id: str, articles: [...]}}")
        law_id = law["id"]
        slug = law_slug(law_id)
        if slug in law_of and law_of[slug] != law_id:
            slug = f"{slug}-{hashlib.sha1(law_id.encode()).hexdigest()[:6]}"
        law_of[slug] = law_id
        parts: list[str] = []
        for a in law["articles"]:
            aid = str(a.get("id", "")).strip()
            text = str(a.get("text", "")).replace("\r\n", "\n").strip()
            if not aid or not text:
                continue
            present.add((law_id, aid))
            lines = [ln for ln in text.split("\n")]
            title = collapse_ws(lines[0]) or "(không tên)"
            body_lines = []
            for ln in lines[1:]:
                fixed, changed = _neutralize_line(ln, patterns)
                defused += changed
                body_lines.append(fixed)
            body = "\n".join(body_lines).strip()
            if not body:
                body = title
                title_only.append((law_id, aid))
            parts.append(f"Điều {aid}. {title}\n{body}")
        docs.append(Document(id=slug, title=law_id, text="\n\n".join(parts) + "\n", path=f"{path}#{law_id}",
                             kind="luat", status="con-hieu-luc", text_form="nguyen-van", short_title=law_id))
    return AlqacLaws(docs, law_of, present, defused, title_only)


def load_alqac_laws(path: Path | str) -> list[Document]:
    """One :class:`Document` per law of an ALQAC ``law.json`` (see :func:`parse_alqac_laws`)."""
    return parse_alqac_laws(path).documents


def article_of(section: str) -> str | None:
    """``Điều 27`` -> ``27``; anything else (intro text) -> None."""
    m = re.fullmatch(r"Điều (\S+)", section or "")
    return m.group(1) if m else None


def load_alqac_questions(path: Path | str) -> list[dict[str, Any]]:
    """Questions with their gold articles; ``query`` is what is searched: the text, and for a
    multiple-choice question its options too (:func:`with_choices`), since they are part of the ask."""
    data = _load_json(Path(path), "questions")
    if not isinstance(data, list):
        raise AlqacError(f"{path}: expected a list of questions")
    out = []
    for i, q in enumerate(data):
        if (not isinstance(q, dict) or not isinstance(q.get("text"), str)
                or not isinstance(q.get("relevant_articles"), list)):
            raise AlqacError(f"{path}: question #{i + 1}: expected {{question_id, text, relevant_articles}}")
        rel = []
        for r in q["relevant_articles"]:
            if not isinstance(r, dict) or "law_id" not in r or "article_id" not in r:
                raise AlqacError(f"{path}: question #{i + 1}: relevant_articles need law_id and article_id")
            rel.append((str(r["law_id"]), str(r["article_id"])))
        choices = q.get("choices")
        choices = {str(k): str(v) for k, v in choices.items()} if isinstance(choices, dict) else None
        out.append({"id": str(q.get("question_id", i + 1)), "text": q["text"], "relevant": rel,
                    "type": q.get("question_type", ""), "query": with_choices(q["text"], choices)})
    return out


@dataclass
class AlqacResult:
    modes: dict[str, dict[str, Any]]
    articles_present: int
    articles_indexed: int
    passages: int
    questions: int
    unmapped_passages: int
    missing_gold: int
    defused_lines: int
    title_only: int
    ingest: dict[str, Any]
    timings_s: dict[str, float]
    per_question: list[dict[str, Any]] = field(default_factory=list)
    # the same metrics on the dev and held-out halves (split_of(question_id)); tune on dev only
    splits: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # {half: {question type: {mode: metrics}}}: statement (Đúng/Sai) and multiple-choice questions
    # are the hardest unseen kind, so each half is also shown by type
    by_type: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "articles_present": self.articles_present, "articles_indexed": self.articles_indexed,
            "passages": self.passages, "questions": self.questions, "unmapped_passages": self.unmapped_passages,
            "gold_articles_not_indexed": self.missing_gold, "defused_heading_lines": self.defused_lines,
            "title_only_articles": self.title_only, "ingest": self.ingest, "timings_s": self.timings_s,
        }


def alqac_rank_metrics(ranked: Sequence[tuple[str, str]], relevant: Iterable[tuple[str, str]],
                       ks: Sequence[int]) -> dict[str, float]:
    """recall@k (share of relevant articles in the first k) and MRR@max(ks) for one question.

    ``ranked`` must already be de-duplicated by article.
    """
    rel = set(relevant)
    out = {f"recall@{k}": (len(rel & set(ranked[:k])) / len(rel) if rel else 0.0) for k in ks}
    kmax = max(ks)
    out[f"mrr@{kmax}"] = reciprocal_rank([a in rel for a in ranked], kmax)
    return out


def dedupe_articles(keys: Iterable[tuple[str, str] | None]) -> list[tuple[str, str]]:
    """Ranked (law, article) keys with repeats (parts of one article) and unmapped items dropped."""
    seen: set[tuple[str, str]] = set()
    out = []
    for k in keys:
        if k is None or k in seen:
            continue
        seen.add(k)
        out.append(k)
    return out


def evaluate_alqac(settings: Settings, laws_path: Path | str, questions_path: Path | str, ks: Sequence[int] = (1, 5, 10),
                   *, limit: int | None = None, modes: Sequence[str] = MODES, collection: str = ALQAC_COLLECTION,
                   progress: Progress | None = None) -> AlqacResult:
    """Index the laws (incrementally) into their own collection and score every retrieval mode."""
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    laws = parse_alqac_laws(laws_path)
    questions = load_alqac_questions(questions_path)
    if limit is not None:
        questions = questions[: max(limit, 0)]
    timings["load"] = time.perf_counter() - t0

    index = KnowledgeIndex(settings, collection=collection, fold_vectors=False)
    t1 = time.perf_counter()
    _ = index.embedder  # model load is not ingest time
    timings["model_load"] = time.perf_counter() - t1
    say(f"alqac: indexing {len(laws.documents)} laws, {len(laws.articles)} articles into collection "
        f"'{collection}' under {settings.data_dir} (incremental)")
    last = {"t": 0.0}

    def on_progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last["t"] > 15 or done == total:
            last["t"] = now
            say(f"alqac: {stage} {done}/{total}")

    t2 = time.perf_counter()
    report = index.ingest([], documents=laws.documents, progress=on_progress)
    timings["ingest"] = time.perf_counter() - t2
    snap = index.snapshot(refresh=True)

    key_of: dict[str, tuple[str, str] | None] = {}
    unmapped = 0
    for p in snap.passages:
        law = laws.law_of.get(p.doc_id)
        art = article_of(p.section)
        key = (law, art) if law is not None and art is not None and (law, art) in laws.articles else None
        unmapped += key is None
        key_of[p.id] = key
    indexed = {k for k in key_of.values() if k is not None}
    gold = {a for q in questions for a in q["relevant"]}
    missing_gold = len(gold - indexed)
    say(f"alqac: {len(indexed)} of {len(laws.articles)} articles indexed as {len(snap.passages)} passages "
        f"({unmapped} passages unmapped; {laws.defused_lines} heading-like body lines defused; "
        f"{len(laws.title_only)} title-only articles); ingest {timings['ingest']:.1f} s "
        f"(embedded {report.embedded} passages)")
    if missing_gold:
        say(f"alqac: warning: {missing_gold} gold articles of the questions are not in the index")

    searcher = HybridSearcher(index, settings)
    kmax = max(ks)
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    per_question: list[dict[str, Any]] = []
    t3 = time.perf_counter()
    for i, q in enumerate(questions, start=1):
        row: dict[str, Any] = {"id": q["id"], "type": q["type"], "relevant": [list(a) for a in q["relevant"]]}
        for mode in modes:
            # ask for a few more than kmax: dedupe by article can only shrink the list
            res = searcher.search(q["query"], k=kmax + 5, mode=mode)
            ranked = dedupe_articles(key_of.get(h.passage.id) for h in res.hits)[:kmax]
            m = alqac_rank_metrics(ranked, q["relevant"], ks)
            per_mode[mode].append(m)
            row[mode] = {"top": [list(a) for a in ranked[:3]], **m}
        per_question.append(row)
        if i % 25 == 0 or i == len(questions):
            say(f"alqac: questions {i}/{len(questions)}")
    timings["search"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    keys = [*(f"recall@{k}" for k in ks), f"mrr@{kmax}"]

    def aggregate(rows: Sequence[Mapping[str, float]]) -> dict[str, Any]:
        return {**{key: mean(r[key] for r in rows) for key in keys}, "n": len(rows)}

    modes_out = {mode: aggregate(rows) for mode, rows in per_mode.items()}
    halves = partition(range(len(per_question)), lambda i: per_question[i]["id"])
    splits: dict[str, dict[str, dict[str, Any]]] = {name: {mode: aggregate([per_mode[mode][i] for i in idx]) for mode in modes}
              for name, idx in halves.items()}
    by_type: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
        name: {t: {mode: aggregate([per_mode[mode][i] for i in idx if per_question[i]["type"] == t]) for mode in modes}
               for t in sorted({per_question[i]["type"] for i in idx})}
        for name, idx in halves.items()}
    return AlqacResult(modes_out, len(laws.articles), len(indexed), len(snap.passages), len(questions), unmapped,
                       missing_gold, laws.defused_lines, len(laws.title_only), report.to_json(),
                       {k: round(v, 2) for k, v in timings.items()}, per_question, splits, by_type)


def run_alqac(settings: Settings, laws_path: Path | str, questions_path: Path | str,
              ks: Sequence[int] = (1, 5, 10), **kwargs: Any) -> dict[str, dict[str, Any]]:
    """ALQAC article-level retrieval: ``{mode: {"recall@1", "recall@5", "recall@10", "mrr@10", "n"}}``."""
    return evaluate_alqac(settings, laws_path, questions_path, ks, **kwargs).modes
