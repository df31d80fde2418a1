"""Offline evaluation: the gold set (answers, citations, refusals), retrieval modes side by side,
report files a maintainer reads before shipping, and the ALQAC 2023 retrieval benchmark.

The metric functions at the top are pure (no I/O, no model) and unit-tested on hand-made data.
The runners below them drive ``Assistant.ask`` / ``HybridSearcher.search`` and assemble rows;
the report writer turns a run into ``eval/reports/<UTC timestamp>.{json,md}`` plus a PNG chart.

Definitions (also written into every Markdown report):

* Ranking metrics use the ranked passages an answer was built from (``AnswerResult.passages``,
  ``top_k`` of them, 5 by default), over **answerable** questions. A passage is relevant at
  document level when its ``doc_id`` is in ``gold_ids``, at section level when additionally its
  ``section`` is in ``gold_sections``. hit@k = some relevant passage in the first k; MRR = mean of
  1/rank of the first relevant passage (0 when none in the list, so it is MRR@top_k); nDCG@5 with
  binary gains where each gold unit (document, or (document, section) pair) earns its gain only
  at its first rank, and the ideal ranking holds min(#gold units, 5) relevant units.
* Citation precision = cited passages whose document is gold / cited passages; recall = gold
  documents cited / gold documents. Both are averaged per answer over **answerable questions
  that were answered** (not refused); precision only over those with at least one citation.
* Citation validity = share of answers in which every quote is a verbatim substring of the text
  of the passage it names (looked up in the index snapshot) and every ``[n]`` marker in the
  answer resolves to a citation ``n``. Computed over answered questions plus any refusal that
  carries a marker or a citation (which would itself be a defect).
* Key-fact coverage = share of a question's key facts found in the answer text after NFC,
  whitespace collapse and case-fold (and, in the "folded" variant, removal of diacritics),
  averaged over answerable questions; a refusal covers nothing.
* Refusal accuracy = share of all questions with ``refused == not answerable``; over-refusal =
  answerable questions refused / answerable; under-refusal = unanswerable answered / unanswerable.
* Reader metrics look at what a reader sees first: the **first sentence** = the answer's first
  line up to its first ``[n]`` marker. Strings are compared as whole phrases after NFC,
  whitespace collapse and case-fold, with or without diacritics. Lead-sentence rate = answerable
  questions with ``lead`` whose first sentence carries one of the ``lead`` strings (a refusal
  does not). Verdict agreement = questions with ``verdict`` whose first sentence has that
  polarity (``polarity()``: negation in the main clause reads "no", anything else "yes"; a refusal
  agrees with nothing). Forbidden claims = total occurrences, anywhere in the answer, of the
  ``forbid`` strings of every question. Premise-refusal rate = questions with ``premise`` that were
  refused (and, "named", whose refusal also names the premise). Period accuracy = questions with
  ``as_of`` or ``period`` that carry the ``lead`` in the first sentence (or are refused when
  unanswerable) and show no ``forbid`` string; they are asked with ``as_of`` when it is given.
* Latency = ``timings_ms.total`` of ``Assistant.ask`` (one warm-up question is not counted);
  percentiles by linear interpolation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import subprocess
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from assistant.models import Document
from assistant.text import collapse_ws, fold

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid", "hybrid+rerank")
RANK_KS = (1, 3, 5)
NDCG_K = 5
_MARKER_RE = re.compile(r"\[(\d+)\]")
REPORT_VERSION = 1
Progress = Callable[[str], None]


# =============================================================================================
# pure metric functions
# =============================================================================================


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when any of the first ``k`` ranked items is relevant, else 0.0."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int | None = None) -> float:
    """1 / rank of the first relevant item (1-based) within the first ``k``; 0.0 when none."""
    for i, rel in enumerate(relevant[: k if k is not None else len(relevant)]):
        if rel:
            return 1.0 / (i + 1)
    return 0.0


def first_occurrence_gains(keys: Sequence[Hashable | None]) -> list[float]:
    """Binary gains where each relevant unit counts once, at its first rank.

    ``keys[i]`` names the gold unit the i-th ranked item belongs to (a document id, or a
    ``(doc_id, section)`` pair), or is ``None`` when the item is not relevant.
    """
    seen: set[Hashable] = set()
    gains = []
    for key in keys:
        if key is None or key in seen:
            gains.append(0.0)
        else:
            seen.add(key)
            gains.append(1.0)
    return gains


def dcg(gains: Sequence[float], k: int) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg_at_k(gains: Sequence[float], k: int, n_relevant: int) -> float:
    """nDCG@k of binary ``gains`` against an ideal ranking with ``min(n_relevant, k)`` relevant items."""
    ideal = dcg([1.0] * min(max(n_relevant, 0), k), k)
    return dcg(gains, k) / ideal if ideal > 0 else 0.0


def ranking_metrics(keys: Sequence[Hashable | None], n_relevant: int, ks: Sequence[int] = RANK_KS,
                    ndcg_k: int = NDCG_K) -> dict[str, float]:
    """hit@k for each k, MRR (over the whole list) and nDCG@ndcg_k of one ranked list."""
    rel = [k is not None for k in keys]
    out = {f"hit@{k}": hit_at_k(rel, k) for k in ks}
    out["mrr"] = reciprocal_rank(rel)
    out[f"ndcg@{ndcg_k}"] = ndcg_at_k(first_occurrence_gains(keys), ndcg_k, n_relevant)
    return out


def first_relevant_rank(keys: Sequence[Hashable | None]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    for i, key in enumerate(keys):
        if key is not None:
            return i + 1
    return None


def doc_keys(passages: Sequence[Mapping[str, Any]], gold_ids: Iterable[str]) -> list[str | None]:
    """Per ranked passage: its doc_id when that document is gold, else None."""
    gold = set(gold_ids)
    return [str(p["doc_id"]) if p.get("doc_id") in gold else None for p in passages]


def section_keys(passages: Sequence[Mapping[str, Any]], gold_ids: Iterable[str],
                 gold_sections: Iterable[str]) -> list[tuple[str, str] | None]:
    """Per ranked passage: ``(doc_id, section)`` when the doc is gold and the section is gold, else None."""
    gold, sections = set(gold_ids), set(gold_sections)
    return [(str(p["doc_id"]), str(p["section"])) if p.get("doc_id") in gold and p.get("section") in sections
            else None for p in passages]


def mean(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; None when empty."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return None
    if len(vals) == 1:
        return vals[0]
    pos = (len(vals) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def citation_precision_recall(citations: Sequence[Mapping[str, Any]],
                              gold_ids: Iterable[str]) -> tuple[float | None, float | None]:
    """``(precision, recall)`` of one answer's citations against the gold documents.

    precision = cited passages whose document is gold / cited passages (None without citations);
    recall = distinct gold documents cited / gold documents (None without gold documents).
    """
    gold = set(gold_ids)
    cited = [str(c.get("doc_id", "")) for c in citations]
    precision = sum(1 for d in cited if d in gold) / len(cited) if cited else None
    recall = len(gold & set(cited)) / len(gold) if gold else None
    return precision, recall


def citation_problems(answer: str, citations: Sequence[Mapping[str, Any]],
                      passage_text: Callable[[str], str | None] | Mapping[str, str]) -> list[str]:
    """Everything wrong with one answer's citations (empty list = valid).

    Each quote must be a non-empty verbatim substring of the text of the passage it names
    (``passage_text(passage_id)``, None when the passage is unknown), and every ``[n]`` marker in
    the answer must resolve to a citation with that ``n``.
    """
    lookup = passage_text.get if isinstance(passage_text, Mapping) else passage_text
    problems: list[str] = []
    numbers = set()
    for c in citations:
        n = c.get("n")
        numbers.add(n)
        pid = str(c.get("passage_id", ""))
        quote = c.get("quote") or ""
        text = lookup(pid)
        if text is None:
            problems.append(f"[{n}] names passage {pid!r}, which is not in the index")
        elif not quote:
            problems.append(f"[{n}] has an empty quote")
        elif quote not in text:
            problems.append(f"[{n}] quote is not verbatim in {pid}: {quote[:80]!r}")
    for m in sorted({int(x) for x in _MARKER_RE.findall(answer or "")}):
        if m not in numbers:
            problems.append(f"marker [{m}] resolves to no citation")
    return problems


def normalize_for_match(text: str, fold_diacritics: bool = False) -> str:
    """NFC, whitespace collapsed, case-folded; optionally without diacritics (``đ`` -> ``d``)."""
    t = collapse_ws(unicodedata.normalize("NFC", text)).casefold()
    return fold(t) if fold_diacritics else t


def key_fact_hits(answer: str, facts: Sequence[str], fold_diacritics: bool = False) -> list[bool]:
    """For each key fact: does it occur in the answer (after :func:`normalize_for_match`)?"""
    body = normalize_for_match(answer or "", fold_diacritics)
    return [normalize_for_match(f, fold_diacritics) in body for f in facts]


def refusal_metrics(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, Any]:
    """Refusal accuracy over all questions, over-refusal over answerable, under-refusal over unanswerable."""
    if len(refused) != len(answerable):
        raise ValueError("refused and answerable must have the same length")
    pairs = list(zip(refused, answerable, strict=True))
    ans = [r for r, a in pairs if a]
    unans = [r for r, a in pairs if not a]
    return {
        "accuracy": mean(1.0 if r == (not a) else 0.0 for r, a in pairs),
        "over_refusal": mean(1.0 if r else 0.0 for r in ans),
        "under_refusal": mean(0.0 if r else 1.0 for r in unans),
        "n": len(pairs),
        "n_answerable": len(ans),
        "n_unanswerable": len(unans),
        "over_refused": sum(1 for r in ans if r),
        "under_refused": sum(1 for r in unans if not r),
    }


def aggregate_ranking(per_question: Sequence[Mapping[str, float]]) -> dict[str, float | None]:
    """Mean of each ranking metric over questions (keys of the first row)."""
    if not per_question:
        return {f"hit@{k}": None for k in RANK_KS} | {"mrr": None, f"ndcg@{NDCG_K}": None}
    return {key: mean(r[key] for r in per_question) for key in per_question[0]}


# =============================================================================================
# the gold set
# =============================================================================================


class EvalSetError(ValueError):
    """A question file that cannot be used; the message names the file and line."""


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


# =============================================================================================
# answers a reader accepts: the first sentence, the verdict, forbidden claims, premises, periods
# =============================================================================================

_LEADING_VERDICT_RE = re.compile(r"^(không được|không phải|không|chưa|sai|được|có|đúng|vẫn)\s*[.,;:!]")
_NO_VERDICT_WORDS = ("không được", "không phải", "không", "chưa", "sai")
_PARENS_RE = re.compile(r"\([^()]*\)")
_CONDITIONAL_OPENERS = ("nếu ", "khi ", "trường hợp ", "dù ", "mặc dù ", "trừ khi ")
_CONCESSIVE_RE = re.compile(r"\s(?:dù|mặc dù|trừ)\s")
# negation that is part of a term, not of the predicate
_NEG_COMPOUNDS = ("không chuyên trách", "hay không", "không tập trung")
_NEG_WORD_RE = re.compile(r"(?<!\w)(?:không|chưa|chẳng)(?!\w)")
_NEG_PHRASE_RE = re.compile(r"(?<!\w)(?:hết hiệu lực|bãi bỏ|đã được thay bằng|cấm)(?!\w)")
_NEGATED_BAN_RE = re.compile(r"(?<!\w)(?:không|chưa)(?!\w)[^.;:]{0,40}?(?<!\w)cấm(?!\w)")


def first_sentence(answer: str) -> str:
    """What a reader sees first: the answer's first line up to its first ``[n]`` marker."""
    line = (answer or "").strip().split("\n", 1)[0]
    m = _MARKER_RE.search(line)
    return (line[: m.start()] if m else line).strip()


def _phrase_pattern(needle: str) -> re.Pattern[str]:
    """``needle`` as a whole phrase: an edge that is a letter or digit may not continue a word or
    number (``9 đến 15`` does not match inside ``9 đến 150``, ``26`` not inside ``2026``)."""
    left = r"(?<!\w)" if needle[:1].isalnum() else ""
    right = r"(?!\w)" if needle[-1:].isalnum() else ""
    return re.compile(left + re.escape(needle) + right)


def phrase_count(text: str, needle: str) -> int:
    """Occurrences of ``needle`` in ``text`` as a whole phrase after NFC, whitespace collapse and
    case-fold; the diacritic-folded count is used when it is higher (a folded answer still counts)."""
    counts = []
    for folded in (False, True):
        n = normalize_for_match(needle or "", folded)
        if n:
            counts.append(len(_phrase_pattern(n).findall(normalize_for_match(text or "", folded))))
    return max(counts, default=0)


def lead_hit(sentence: str, leads: Sequence[str]) -> bool:
    """Does the first sentence carry one of the accepted ``lead`` strings?"""
    return any(phrase_count(sentence, lead) > 0 for lead in leads)


def forbidden_hits(answer: str, forbid: Sequence[str]) -> dict[str, int]:
    """``{forbidden string: occurrences}`` for every ``forbid`` string found anywhere in the answer."""
    hits = {f: phrase_count(answer, f) for f in forbid}
    return {f: n for f, n in hits.items() if n}


def polarity(sentence: str, focus: Sequence[str] = ()) -> str | None:
    """``"yes"``/``"no"`` of a sentence's main clause; ``None`` for an empty sentence.

    Deterministic and deliberately small (the gold verdicts are chosen so that the notes' own
    sentences read right under it):

    1. A leading verdict word followed by punctuation decides: ``Không.``, ``Không được,``,
       ``Chưa.``, ``Sai.`` → no; ``Được.``, ``Có.``, ``Đúng.``, ``Vẫn.`` → yes.
    2. Otherwise one clause is read: parentheses are dropped, the sentence is cut at ``;`` and the
       clause holding a ``focus`` string (the question's ``lead``) is taken, else the first one; in
       it a leading conditional
       (``Nếu …,``, ``Khi …,``, ``Trường hợp …,``, ``Dù …,``) is skipped up to its comma, and a
       trailing concession or exception (``… dù …``, ``… trừ …``) is cut off.
    3. Negation in what remains → no: the words ``không``, ``chưa`` (covering ``không được``,
       ``không phải``, ``không có``, ``không thuộc``, ``không còn``) or ``hết hiệu lực``,
       ``bãi bỏ``, ``đã được thay bằng``, ``cấm``. Term-internal negation (``không chuyên trách``,
       ``hay không``, ``không tập trung``) is ignored, and a negated ban (``không có điều nào cấm``)
       reads as permission.
    4. Anything else → yes (``được``, ``có``, ``là``, ``vẫn``, ``khuyến khích`` …).
    """
    s = normalize_for_match(sentence or "")
    if not s:
        return None
    m = _LEADING_VERDICT_RE.match(s)
    if m:
        return "no" if m.group(1) in _NO_VERDICT_WORDS else "yes"
    prev = None
    while prev != s:
        prev, s = s, _PARENS_RE.sub(" ", s)
    clauses = [c.strip() for c in s.split(";") if c.strip()] or [s]
    s = next((c for c in clauses if any(phrase_count(c, f) for f in focus)), clauses[0])
    if s.startswith(_CONDITIONAL_OPENERS) and ", " in s:
        s = s.split(", ", 1)[1]
    s = _CONCESSIVE_RE.split(s, maxsplit=1)[0]
    for compound in _NEG_COMPOUNDS:
        s = s.replace(compound, " ")
    s = _NEGATED_BAN_RE.sub(" được ", s)
    return "no" if _NEG_WORD_RE.search(s) or _NEG_PHRASE_RE.search(s) else "yes"


def reader_checks(q: GoldQuestion, answer: str, refused: bool) -> tuple[dict[str, Any], list[str]]:
    """Per-question fields and failure codes for the reader metrics (pure).

    Returns the row fields (``first_sentence`` always; ``lead_ok``, ``verdict_got``/``verdict_ok``,
    ``forbidden``, ``premise_refused``/``premise_named``, ``period_ok`` when the question asks for
    them) and the failure codes ``lead_missing``, ``verdict_wrong``, ``forbidden_claim``,
    ``period_wrong``.
    """
    text = answer or ""
    first = first_sentence(text)
    row: dict[str, Any] = {"first_sentence": first}
    failures: list[str] = []
    if q.lead:
        row["lead"] = q.lead
        row["lead_ok"] = (not refused) and lead_hit(first, q.lead)
        if not row["lead_ok"]:
            failures.append("lead_missing")
    if q.verdict:
        got = None if refused else polarity(first, q.lead)
        row["verdict"], row["verdict_got"] = q.verdict, got
        row["verdict_ok"] = got == q.verdict
        if not row["verdict_ok"]:
            failures.append("verdict_wrong")
    if q.forbid:
        row["forbid"] = q.forbid
        row["forbidden"] = forbidden_hits(text, q.forbid)
        if row["forbidden"]:
            failures.append("forbidden_claim")
    if q.premise:
        row["premise"] = q.premise
        row["premise_refused"] = bool(refused)
        row["premise_named"] = bool(refused) and phrase_count(text, q.premise) > 0
    if q.as_of or q.period:
        row["as_of_asked"], row["period_asked"] = q.as_of, q.period
        carried = row.get("lead_ok", True) if q.answerable else bool(refused)
        row["period_ok"] = bool(carried) and not row.get("forbidden")
        if not row["period_ok"]:
            failures.append("period_wrong")
    return row, failures


def reader_metrics(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Lead-sentence rate, verdict agreement, forbidden-claim count, premise-refusal rate and
    period accuracy over the rows that carry the matching gold field (see the definitions)."""
    lead = [r for r in rows if r["answerable"] and "lead_ok" in r]
    verdict = [r for r in rows if "verdict_ok" in r]
    forbid = [r for r in rows if "forbidden" in r]
    premise = [r for r in rows if "premise_refused" in r]
    period = [r for r in rows if "period_ok" in r]
    return {
        "lead_rate": mean(1.0 if r["lead_ok"] else 0.0 for r in lead), "lead_n": len(lead),
        "verdict_agreement": mean(1.0 if r["verdict_ok"] else 0.0 for r in verdict), "verdict_n": len(verdict),
        "forbidden_claims": sum(sum(r["forbidden"].values()) for r in forbid),
        "forbidden_questions": sum(1 for r in forbid if r["forbidden"]), "forbid_n": len(forbid),
        "premise_refusal_rate": mean(1.0 if r["premise_refused"] else 0.0 for r in premise),
        "premise_named_rate": mean(1.0 if r["premise_named"] else 0.0 for r in premise), "premise_n": len(premise),
        "period_accuracy": mean(1.0 if r["period_ok"] else 0.0 for r in period), "period_n": len(period),
    }


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
        raise EvalSetError(f"{path}: không tìm thấy tệp câu hỏi / question file not found")
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
            raise EvalSetError(f"{where}: dòng không phải JSON hợp lệ / invalid JSON: {exc.msg} "
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


def _section_units(snapshot: Any, gold_ids: Sequence[str], gold_sections: Sequence[str]) -> int:
    """How many distinct (doc, section) pairs in the index are gold: the ideal for section nDCG."""
    gold, sections = set(gold_ids), set(gold_sections)
    units = {(p.doc_id, p.section) for p in snapshot.passages if p.doc_id in gold and p.section in sections}
    return max(len(units), 1)


def _passage_rows(passages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"doc_id": p.get("doc_id"), "section": p.get("section"), "label": p.get("label"),
             "score": p.get("score"), "passage_id": p.get("passage_id")} for p in passages]


def evaluate_question(q: GoldQuestion, result: Any, passage_text: Callable[[str], str | None],
                      n_section_units: int) -> dict[str, Any]:
    """One per-question row from an ``AnswerResult`` (pure apart from the lookup function)."""
    passages = list(result.passages)
    citations = list(result.citations)
    row: dict[str, Any] = {
        "id": q.id, "question": q.question, "history_turns": len(q.history), "query": getattr(result, "query", ""),
        "answerable": q.answerable, "refused": bool(result.refused),
        "refusal_ok": bool(result.refused) == (not q.answerable),
        "answer": result.answer,
        "citations": [{k: c.get(k) for k in ("n", "doc_id", "section", "passage_id", "quote")} for c in citations],
        "passages": _passage_rows(passages),
        "gold_ids": q.gold_ids, "gold_sections": q.gold_sections,
        "latency_ms": round(float(result.timings_ms.get("total", 0.0)), 1),
        "answered_by": getattr(result, "answered_by", "extractive"),
        **({"llm_draft": d["draft"], "llm_dropped": d.get("dropped", [])}
           if (d := getattr(result, "diagnostics", None) or {}).get("draft") else {}),
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
    if not result.refused or citations or _MARKER_RE.search(result.answer or ""):
        problems = citation_problems(result.answer, citations, passage_text)
        row["citation_valid"] = not problems
        row["citation_problems"] = problems
        if problems:
            failures.append("invalid_citation")
    row["failures"] = failures
    return row


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall metrics from per-question rows (see the module docstring for the definitions)."""
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
    return metrics


def evaluate_modes(searcher: Any, questions: Sequence[GoldQuestion], snapshot: Any, *, k: int = 5,
                   modes: Sequence[str] = MODES, progress: Progress | None = None
                   ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Each retrieval mode on the standalone query of every answerable question.

    Returns ``(metrics per mode, per-question {id: {mode: {doc_rank, section_rank}}})``.
    """
    from assistant.chain import condense

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


def evaluate_gold(assistant: Any, questions: Sequence[GoldQuestion], *, answerer: str | None = None,
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
            when = {"as_of": date.fromisoformat(q.as_of)} if q.as_of else {}
            result = assistant.ask(q.question, history=q.history, answerer=answerer, **when)
        except Exception as exc:  # noqa: BLE001 - one broken question must not hide the others
            from assistant.chain import AnswerResult

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


def evaluate_out_of_domain(assistant: Any, path: Path | str, alqac_path: Path | str | None = None,
                           progress: Progress | None = None) -> dict[str, Any]:
    """Refusal rate on ``eval/out_of_domain.jsonl``: held-out ALQAC questions (resolved from
    ``alqac_path`` in place; skipped when absent) and hand-written everyday questions."""
    from assistant.domain_calibrate import ALQAC_QUESTIONS, load_out_of_domain

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
        "path": str(path), "n": len(rows), "alqac_included": alqac.is_file(), "refused": sum(x["refused"] for x in rows),
        "refusal_rate": rate(rows),
        "by_form": {f: rate([x for x in rows if x["form"] == f]) for f in ("accented", "folded")},
        "by_source": {s: rate([x for x in rows if x["source"] == s]) for s in ("alqac", "handwritten")},
        "answered_by": dict(sorted(Counter(x["answered_by"] for x in rows).items())),
        "answered": [{"id": x["id"], "question": x["question"]} for x in rows if not x["refused"]],
    }


def out_of_domain_md(m: Mapping[str, Any]) -> list[str]:
    """The report section for :func:`evaluate_out_of_domain` metrics (empty when it did not run)."""
    o = m.get("out_of_domain")
    if not o:
        return []
    lines = ["", "## Ngoài phạm vi / Out-of-domain slice", "",
             f"{o['n']} questions about other fields of law (`{o.get('path', 'eval/out_of_domain.jsonl')}`"
             f"{'' if o['alqac_included'] else '; ALQAC rows skipped: ../shared absent'}): refused "
             f"{o['refused']}/{o['n']} = **{_fmt(o['refusal_rate'])}** (accented {_fmt(o['by_form']['accented'])}, "
             f"folded {_fmt(o['by_form']['folded'])}; ALQAC {_fmt(o['by_source']['alqac'])}, hand-written "
             f"{_fmt(o['by_source']['handwritten'])}). Refused by: "
             + ", ".join(f"{k} {v}" for k, v in o["answered_by"].items()) + "."]
    lines += [f"- answered: **{x['id']}** {_md_escape(x['question'], 100)}".rstrip() for x in o["answered"]]
    return lines


# =============================================================================================
# reports
# =============================================================================================


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def git_commit(repo: Path | None = None) -> str:
    """Short commit hash, with ``+dirty`` when the worktree has changes; ``unknown`` without git."""
    cwd = str(repo or Path(__file__).resolve().parents[1])
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


def _get(d: Mapping[str, Any] | None, dotted: str) -> Any:
    cur: Any = d
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


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


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


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
        lines.append(f"| {label} | {_fmt(_get(m, path), digits)} | {_fmt_delta(deltas.get(path), hib, digits)} |")
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
                    v = _fmt(mm[level].get(key))
                    d = deltas.get(f"modes.{mode}.{level}.{key}")
                    if d is not None and abs(d) >= 1e-4:
                        v += f" ({'+' if d > 0 else '−'}{abs(d):.3f})"
                    cells.append(v)
                lines.append(f"| {mode} | {level} | " + " | ".join(cells) +
                             f" | {_fmt(mm['latency_ms'].get('p50'), 1)} |")
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
             f"Lead-sentence rate {_fmt(rm.get('lead_rate'))} over {rm.get('lead_n', 0)}; verdict agreement "
             f"{_fmt(rm.get('verdict_agreement'))} over {rm.get('verdict_n', 0)}; forbidden claims "
             f"{rm.get('forbidden_claims', 0)} in {rm.get('forbidden_questions', 0)} of {rm.get('forbid_n', 0)} "
             f"answers; premise refusals {_fmt(rm.get('premise_refusal_rate'))} (named "
             f"{_fmt(rm.get('premise_named_rate'))}) over {rm.get('premise_n', 0)}; period accuracy "
             f"{_fmt(rm.get('period_accuracy'))} over {rm.get('period_n', 0)}."]
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
    doc = (__doc__ or "").split("Definitions (also written into every Markdown report):", 1)[-1]
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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


def run_gold_eval(settings: Any, questions_path: Path, *, answerer: str | None = None, limit: int | None = None,
                  out_dir: Path | None = None, modes: Sequence[str] = MODES, assistant: Any = None,
                  progress: Progress | None = None, out_of_domain: Path | None = None
                  ) -> tuple[dict[str, Any], ReportFiles | None]:
    """Load the set, run :func:`evaluate_gold`, attach run metadata and (with ``out_dir``) write the report."""
    from assistant.chain import Assistant

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
        "set": {"path": str(questions_path), "sha256": file_sha256(Path(questions_path)), "limit": limit,
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


# =============================================================================================
# ALQAC 2023 (third-party benchmark, read in place from ../shared)
# =============================================================================================

ALQAC_COLLECTION = "alqac"
ALQAC_PREFIX = "alqac-"


class AlqacError(ValueError):
    pass


def law_slug(law_id: str) -> str:
    """``Luật Phòng, chống ma túy`` -> ``alqac-luat-phong-chong-ma-tuy`` (a valid document id)."""
    s = re.sub(r"[^a-z0-9]+", "-", fold(law_id)).strip("-")
    return ALQAC_PREFIX + (s or hashlib.sha1(law_id.encode()).hexdigest()[:10])


def _structural_line_patterns() -> list[re.Pattern[str]]:
    from assistant import chunking

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
        raise AlqacError(f"{path}: không tìm thấy / {what} file not found")
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
        out.append({"id": str(q.get("question_id", i + 1)), "text": q["text"], "relevant": rel,
                    "type": q.get("question_type", "")})
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


def evaluate_alqac(settings: Any, laws_path: Path | str, questions_path: Path | str, ks: Sequence[int] = (1, 5, 10),
                   *, limit: int | None = None, modes: Sequence[str] = MODES, collection: str = ALQAC_COLLECTION,
                   progress: Progress | None = None) -> AlqacResult:
    """Index the laws (incrementally) into their own collection and score every retrieval mode."""
    from assistant.index import KnowledgeIndex
    from assistant.retrieval import HybridSearcher

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
        row: dict[str, Any] = {"id": q["id"], "relevant": [list(a) for a in q["relevant"]]}
        for mode in modes:
            # ask for a few more than kmax: dedupe by article can only shrink the list
            res = searcher.search(q["text"], k=kmax + 5, mode=mode)
            ranked = dedupe_articles(key_of.get(h.passage.id) for h in res.hits)[:kmax]
            m = alqac_rank_metrics(ranked, q["relevant"], ks)
            per_mode[mode].append(m)
            row[mode] = {"top": [list(a) for a in ranked[:3]], **m}
        per_question.append(row)
        if i % 25 == 0 or i == len(questions):
            say(f"alqac: questions {i}/{len(questions)}")
    timings["search"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    modes_out = {
        mode: {**{key: mean(r[key] for r in rows) for key in
                  [*(f"recall@{k}" for k in ks), f"mrr@{kmax}"]}, "n": len(rows)}
        for mode, rows in per_mode.items()
    }
    return AlqacResult(modes_out, len(laws.articles), len(indexed), len(snap.passages), len(questions), unmapped,
                       missing_gold, laws.defused_lines, len(laws.title_only), report.to_json(),
                       {k: round(v, 2) for k, v in timings.items()}, per_question)


def run_alqac(settings: Any, laws_path: Path | str, questions_path: Path | str,
              ks: Sequence[int] = (1, 5, 10), **kwargs: Any) -> dict[str, dict[str, Any]]:
    """ALQAC article-level retrieval: ``{mode: {"recall@1", "recall@5", "recall@10", "mrr@10", "n"}}``."""
    return evaluate_alqac(settings, laws_path, questions_path, ks, **kwargs).modes
