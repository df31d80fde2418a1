"""Pure evaluation metrics: ranking, citations, key facts, refusals and what a reader sees first.

No I/O and no model: every function here is unit-tested on hand-made data, and the gold-set
runner (``gold.py``) and the report (``report.py``) only assemble their results.

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

import math
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assistant.text import collapse_ws, fold

if TYPE_CHECKING:
    from assistant.evaluation.gold import GoldQuestion

RANK_KS = (1, 3, 5)
NDCG_K = 5
MARKER_RE = re.compile(r"\[(\d+)\]")
Progress = Callable[[str], None]  # the runners report "questions: 10/120" lines through this


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
    for m in sorted({int(x) for x in MARKER_RE.findall(answer or "")}):
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
        empty: dict[str, float | None] = {f"hit@{k}": None for k in RANK_KS}
        return empty | {"mrr": None, f"ndcg@{NDCG_K}": None}
    return {key: mean(r[key] for r in per_question) for key in per_question[0]}



_LEADING_VERDICT_RE = re.compile(r"^(không được|không phải|không|chưa|sai|được|có|đúng|vẫn|còn)\s*[.,;:!]")
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
    m = MARKER_RE.search(line)
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
       ``Chưa.``, ``Sai.`` → no; ``Được.``, ``Có.``, ``Đúng.``, ``Vẫn.``, ``Còn.`` → yes.
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

