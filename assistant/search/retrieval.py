"""Hybrid retrieval: BM25 and dense search, each as written and diacritic-folded, fused by RRF,
then a sentence-level rerank built from what we have (no reranker model can be downloaded).

The rerank scores a candidate passage by how well its best sentences match the question
(embedding similarity of precomputed sentence vectors) plus how much of the question's
informative vocabulary it contains (IDF-weighted overlap). The same sentence scores feed the
extractive answerer, so what is ranked first is also what gets quoted.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.config import Settings
from assistant.lexicon import LEXICON
from assistant.models import MODES, Passage
from assistant.search.statements import is_statement_check
from assistant.search.store import IndexStore, Snapshot
from assistant.search.vector_store import top_indices
from assistant.text import (
    DiacriticRestorer,
    fold,
    has_diacritics,
    normalize_query,
    token_set,
    tokenize,
    tokenize_folded,
)

# "Nghị định 33/2023", "KL 137", "Chỉ thị số 45", "34-KL/TW": users name documents by kind + number
_KIND_WORDS = LEXICON.kind_words  # lexicon.yaml: document_words
_DOCREF_RE = re.compile(
    r"\b(" + "|".join(sorted(_KIND_WORDS, key=len, reverse=True)) + r")\s*(?:so\s*)?(\d+(?:/\d{4})?)\b"
    r"|\b(\d+(?:/\d{4})?)[-/](?:kl|nq|ct|qd|nd|tt|qh|tu)\b"
)
DOCREF_BONUS = 0.04
QUESTION_SECTION = "Câu hỏi"
ANSWER_SECTION = "Trả lời"

# Function words that carry no topic: ignored when measuring how much of a question a passage covers.
STOPWORDS = set(LEXICON.stopwords)  # lexicon.yaml
STOPWORDS_FOLDED = {fold(w) for w in STOPWORDS}


@dataclass
class SentenceHit:
    start: int
    end: int
    score: float
    dense: float
    lexical: float


@dataclass
class ScoredPassage:
    passage: Passage
    score: float
    rrf: float = 0.0
    dense: float | None = None
    bm25: float | None = None
    coverage: float = 0.0
    sentences: list[SentenceHit] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)
    via_question: bool = False  # a Q&A answer ranked because its question matched


@dataclass
class SearchResult:
    query: str
    hits: list[ScoredPassage]
    timings_ms: dict[str, float]
    mode: str

    @property
    def top_score(self) -> float:
        return self.hits[0].score if self.hits else 0.0


@dataclass
class QueryInfo:
    text: str  # normalised, abbreviations expanded
    folded_input: bool  # typed without diacritics
    tokens: list[str]
    tokens_folded: list[str]
    content: list[str]  # informative tokens in the view that will be matched
    vector: np.ndarray | None = None
    vector_folded: np.ndarray | None = None
    # (snapshot, [(word, IDF)], their sum): filled by HybridSearcher.coverage, once per question
    weights: tuple[Snapshot, list[tuple[str, float]], float] | None = field(default=None, repr=False, compare=False)


def referenced_documents(question: str, documents: dict[str, dict[str, Any]]) -> set[str]:
    """Ids of documents the question names by kind and number (``NĐ 33/2023`` -> nghi-dinh-33-2023-nd-cp)."""
    q = fold(question)
    refs: list[tuple[str, tuple[str, ...] | None]] = []
    for m in _DOCREF_RE.finditer(q):
        if m.group(2):
            refs.append((m.group(2), _KIND_WORDS[m.group(1)]))
        else:
            refs.append((m.group(3), None))
    if not refs:
        return set()
    found = set()
    for doc_id, d in documents.items():
        number = fold(str(d.get("number", "")))
        for num, kinds in refs:
            if (number == num or number.startswith(num + "-") or number.startswith(num + "/")) and (
                kinds is None or d.get("kind") in kinds
            ):
                found.add(doc_id)
    return found


# A passage's rerank score: best two sentences' dense similarity, the passage's, the question words it
# covers, and its fused rank. Fusion weighs more since the folded passage copies went (0.35/0.35/0.2/0.1
# before): ALQAC recall@5 0.97 -> 0.98, MRR@10 0.892 -> 0.907, and no gold-set metric worse
# (docs/benchmarks.md). The refusal threshold ``min_score`` reads this scale: re-check it when these move.
RERANK_WEIGHTS = (0.32, 0.30, 0.16, 0.22)


_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def restore_folded_runs(text: str, restorer: DiacriticRestorer, min_words: int = 3) -> str:
    """Restore the diacritics of every run of ``min_words`` or more words typed without them inside a
    text that has some: a follow-up read with its question ("thanh vien ban bau cu co duoc kiem to bau
    cu khong Vậy người ứng cử thì sao?") is mixed, and without folded passage vectors the undiacritised
    half would match nothing but the folded BM25 view."""
    words = list(_WORD_RE.finditer(text))
    out, pos, i = [], 0, 0
    while i < len(words):
        j = i
        while j < len(words) and not has_diacritics(words[j].group(0)):
            j += 1
        if j - i >= min_words:
            a, b = words[i].start(), words[j - 1].end()
            out += [text[pos:a], restorer.restore(text[a:b])]
            pos = b
        i = max(j, i + 1)
    return "".join(out) + text[pos:]


class HybridSearcher:
    """Stateless over a snapshot: safe to share between threads of one worker."""

    def __init__(self, index: IndexStore, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        # IDF per (token, folded) of one snapshot: the rerank asks for the same few words ~2,000 times
        # per question. Replaced whole when the snapshot changes, so readers never see a mixed cache.
        self._idf: tuple[Snapshot | None, dict[tuple[str, bool], float]] = (None, {})

    def restorer(self, snap: Snapshot) -> DiacriticRestorer:
        """The snapshot's restorer: persisted with its generation, or built once from its passages."""
        return snap.restorer()

    # --- query preparation --------------------------------------------------------------------
    def prepare(self, question: str, need_vectors: bool = True, snap: Snapshot | None = None) -> QueryInfo:
        folded_input = not has_diacritics(question)
        if folded_input and snap is not None:
            question = self.restorer(snap).restore(question)
        elif snap is not None:
            question = restore_folded_runs(question, self.restorer(snap))
        text = normalize_query(question)
        tokens = tokenize(text)
        tokens_folded = tokenize_folded(text)
        if folded_input:
            content = [t for t in tokens_folded if t not in STOPWORDS_FOLDED]
        else:
            content = [t for t in tokens if t not in STOPWORDS]
        info = QueryInfo(text, folded_input, tokens, tokens_folded, content)
        if need_vectors:
            emb = self.index.embedder
            # the folded query vector also scores sentences for a question typed without diacritics
            if self.index.fold_vectors or folded_input:
                vecs = emb.embed_queries([text, fold(text)])
                info.vector, info.vector_folded = vecs[0], vecs[1]
            else:
                info.vector = emb.embed_queries([text])[0]
        return info

    # --- candidate generation -----------------------------------------------------------------
    @staticmethod
    def _mask(snap: Snapshot, filters: dict[str, Any] | None) -> np.ndarray | None:
        if not filters:
            return None
        mask = np.ones(len(snap.passages), dtype=bool)
        for key, value in filters.items():
            allowed = set(value) if isinstance(value, list | tuple | set) else {value}
            if key == "doc_id" and all(isinstance(v, str) for v in allowed):
                mask &= snap.row_mask(key, allowed)  # the document's rows, not a scan of every passage
            else:
                mask &= np.asarray([str(getattr(p, key, "")) in allowed for p in snap.passages], dtype=bool)
        return mask

    def _bm25_lists(self, snap: Snapshot, q: QueryInfo, mask: np.ndarray | None, n: int) -> dict[str, list[int]]:
        lists: dict[str, list[int]] = {}
        for name, folded in (("bm25", False), ("bm25_fold", True)):
            scores = snap.bm25.scores(q.text, folded=folded)
            if mask is not None:
                scores = np.where(mask, scores, 0.0)
            order = top_indices(scores, n)
            lists[name] = [int(i) for i in order if scores[i] > 0]
        return lists

    def _dense_lists(self, snap: Snapshot, q: QueryInfo, filters: dict[str, Any] | None,
                     n: int) -> tuple[dict[str, list[int]], dict[int, float]]:
        pos = snap.positions
        lists: dict[str, list[int]] = {}
        sims: dict[int, float] = {}
        assert q.vector is not None, "prepare(need_vectors=True) embeds the query for every dense mode"
        views = [("dense", q.vector, False)]
        if q.vector_folded is not None and self.index.fold_vectors:
            views.append(("dense_fold", q.vector_folded, True))
        for name, vec, folded in views:
            hits = self.index.dense_search(vec, n, where=filters, folded=folded)
            lists[name] = [pos[pid] for pid, _ in hits if pid in pos]
            if name == "dense":
                sims.update({pos[pid]: s for pid, s in hits if pid in pos})
        return lists, sims

    # --- main entry ---------------------------------------------------------------------------
    def search(self, question: str, k: int | None = None, filters: dict[str, Any] | None = None,
               mode: str = "hybrid+rerank", focus: str | None = None) -> SearchResult:
        """Ranked, section-de-duplicated passages for ``question``.

        ``focus`` is the user's literal latest message when ``question`` was expanded from a
        conversation: sentence scores favour its words, so a follow-up quotes what it asked about.
        """
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; expected one of {MODES}")
        t0 = time.perf_counter()
        k = k or self.settings.top_k
        filters = {key: v for key, v in (filters or {}).items() if v not in (None, "", [])}
        snap = self.index.snapshot()
        q = self.prepare(question, need_vectors=mode != "bm25", snap=snap)
        n = self.settings.candidates
        mask = self._mask(snap, filters)
        lists: dict[str, list[int]] = {}
        dense_sims: dict[int, float] = {}
        if mode != "dense":
            lists.update(self._bm25_lists(snap, q, mask, n))
        if mode != "bm25":
            dl, dense_sims = self._dense_lists(snap, q, filters, n)
            lists.update(dl)
        t_cand = time.perf_counter()

        refs = referenced_documents(question, snap.documents)
        if refs and mode != "dense":
            # a named document is a strong signal: its passages form one more ranked list
            named = [int(i) for i in snap.doc_rows(refs) if mask is None or mask[i]]
            if "bm25" in lists:
                order_in = {i: r for r, i in enumerate(lists["bm25"])}
                named.sort(key=lambda i: order_in.get(i, len(order_in)))
            lists["docref"] = named[:n]
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        # without folded passage vectors the one dense list counts twice: fusion keeps the dense/lexical
        # balance of two dense and two BM25 views, which the rerank was tuned on (docs/benchmarks.md)
        weight = {"dense": 1.0 if "dense_fold" in lists else 2.0}
        for name, idxs in lists.items():
            for r, i in enumerate(idxs):
                fused[i] = fused.get(i, 0.0) + weight.get(name, 1.0) / (self.settings.rrf_k + r + 1)
                ranks.setdefault(i, {})[name] = r + 1
        order = sorted(fused, key=lambda i: -fused[i])
        hits = [ScoredPassage(snap.passages[i], fused[i], rrf=fused[i], dense=dense_sims.get(i), ranks=ranks[i])
                for i in order]
        idx_of = {id(h): i for h, i in zip(hits, order, strict=True)}
        if q.vector is not None:
            for h in hits:
                i = idx_of[id(h)]
                h.dense = float(snap.passage_vectors[i] @ q.vector)
        for h in hits:
            h.coverage = self.coverage(snap, q, h.passage)
        if mode == "hybrid+rerank" and hits:
            pool = hits[: max(3 * k, 20)]
            self._rerank(snap, q, pool, idx_of, focus)
            for h in pool:
                if h.passage.doc_id in refs:
                    h.score += DOCREF_BONUS
            pool.sort(key=lambda h: -h.score)
            hits = pool + hits[len(pool):]
        elif hits:
            top = hits[0].rrf
            for h in hits:  # a comparable 0..1 score for modes without rerank
                h.score = h.rrf / top if top else 0.0
        hits = self._answers_for_questions(snap, self._dedupe(hits))[: max(k, 1)]
        t_end = time.perf_counter()
        return SearchResult(q.text, hits, {"candidates": (t_cand - t0) * 1000, "retrieve": (t_end - t0) * 1000},
                            mode)

    @staticmethod
    def _answers_for_questions(snap: Snapshot, hits: list[ScoredPassage]) -> list[ScoredPassage]:
        """In a Q&A document a match on the question is a match on its answer: rank the answer there.

        The ``Câu hỏi`` passage restates what was asked; the user needs the ``Trả lời`` below it.
        """
        out: list[ScoredPassage] = []
        placed: set[str] = set()
        by_id = {h.passage.id: h for h in hits}
        for h in hits:
            if h.passage.section == QUESTION_SECTION:
                answer = next((p for p in snap.doc_passages(h.passage.doc_id) if p.section == ANSWER_SECTION), None)
                if answer is not None and answer.id not in placed:
                    moved = by_id.get(answer.id) or ScoredPassage(answer, h.score)
                    if moved.score <= h.score:
                        moved.score = h.score
                        moved.via_question = True
                    out.append(moved)
                    placed.add(answer.id)
            if h.passage.id not in placed:
                out.append(h)
                placed.add(h.passage.id)
        return out

    @staticmethod
    def _dedupe(hits: list[ScoredPassage]) -> list[ScoredPassage]:
        """One hit per section: the parts of a split article count as one section."""
        seen: set[tuple[str, str, str]] = set()
        out = []
        for h in hits:
            key = (h.passage.doc_id, h.passage.section, h.passage.heading)
            if key in seen:
                continue
            seen.add(key)
            out.append(h)
        return out

    # --- rerank -------------------------------------------------------------------------------
    def idf(self, snap: Snapshot, token: str, folded: bool) -> float:
        owner, cache = self._idf
        if owner is not snap:
            cache = {}
            self._idf = (snap, cache)
        value = cache.get((token, folded))
        if value is None:
            value = cache[(token, folded)] = self._idf_of(snap, token, folded)
        return value

    @staticmethod
    def _idf_of(snap: Snapshot, token: str, folded: bool) -> float:
        model = snap.bm25.folded if folded else snap.bm25.raw
        n_docs = max(len(snap.passages), 1)
        tid = model.vocab_dict.get(token) if snap.passages else None
        if tid is None:
            return math.log(1 + n_docs)  # unseen words are the most informative: they lower coverage
        df = _doc_freq(model, tid)
        return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))

    def coverage(self, snap: Snapshot, q: QueryInfo, passage: Passage, text: str | None = None) -> float:
        """IDF-weighted share of the question's informative words that occur in the text."""
        if not q.content:
            return 0.0
        body = text if text is not None else passage.text
        have = token_set(body, q.folded_input)
        weights, total = self._word_weights(snap, q)
        got = 0.0
        for w, weight in weights:  # summed in the order of the words' set, as the total is
            if w in have:
                got += weight
        return got / total if total else 0.0

    def _word_weights(self, snap: Snapshot, q: QueryInfo) -> tuple[list[tuple[str, float]], float]:
        """The question's distinct informative words with their IDF, and their sum: the same for every
        passage and sentence a question's rerank scores (~350 per question), so computed once per question."""
        cached = q.weights
        if cached is None or cached[0] is not snap:
            weights = [(w, self.idf(snap, w, q.folded_input)) for w in set(q.content)]
            total = 0.0
            for _, weight in weights:
                total += weight
            cached = (snap, weights, total)
            q.weights = cached
        return cached[1], cached[2]

    def _rerank(self, snap: Snapshot, q: QueryInfo, pool: list[ScoredPassage], idx_of: dict[int, int],
                focus: str | None) -> None:
        qv = q.vector if not q.folded_input or q.vector_folded is None else q.vector_folded
        statement = is_statement_check(q.text)
        focus_q = self.prepare(focus, need_vectors=False) if focus else None
        top_rrf = max(h.rrf for h in pool) or 1.0
        for h in pool:
            i = idx_of[id(h)]
            span = snap.sentence_rows(i)  # contiguous rows: no scan of every sentence per candidate
            rows = range(span.start, span.stop)
            sent_hits: list[SentenceHit] = []
            if len(rows):
                S: np.ndarray = np.array(snap.sentence_vectors[span], dtype=np.float32)  # a copy, off a memory map too
                sims = S @ q.vector
                if q.folded_input and q.vector_folded is not None:
                    sims = np.maximum(sims, S @ qv)
                # a sentence is read in its article's context: "Mức phụ cấp bằng 50%…" under
                # "Điều 10, Nghị định 92/2009" answers a question that names Nghị định 92/2009
                context = f"{h.passage.label} {h.passage.text.split(chr(10), 1)[0]} "
                for r, sim in zip(rows, sims, strict=True):
                    a, b = (int(x) for x in snap.sentence_spans[r])
                    sent_text = context + h.passage.text[a:b]
                    lex = self.coverage(snap, q, h.passage, sent_text)
                    if focus_q is not None and focus_q.content:
                        lex = 0.5 * lex + 0.5 * self.coverage(snap, focus_q, h.passage, h.passage.text[a:b])
                    sent_hits.append(SentenceHit(a, b, float(0.6 * sim + 0.4 * lex), float(sim), lex))
            sent_hits.sort(key=lambda s: -s.score)
            h.sentences = sent_hits
            best = [s.dense for s in sorted(sent_hits, key=lambda s: -s.dense)[:2]]
            best_sent = float(np.mean(best)) if best else (h.dense or 0.0)
            # a statement is checked against the sentence that states it, not the whole article's words
            # (assistant/search/statements.py); h.coverage stays passage-wide for the refusal gate
            cov = max((s.lexical for s in sent_hits), default=h.coverage) if statement else h.coverage
            h.score = (RERANK_WEIGHTS[0] * best_sent + RERANK_WEIGHTS[1] * (h.dense or 0.0)
                       + RERANK_WEIGHTS[2] * cov + RERANK_WEIGHTS[3] * (h.rrf / top_rrf))

    def sentence_hits(self, question: str, passage: Passage, focus: str | None = None) -> list[SentenceHit]:
        """Score the sentences of one passage for a question (used when no rerank ran)."""
        res = self.search(question, k=self.settings.top_k, filters={"doc_id": passage.doc_id}, focus=focus)
        for h in res.hits:
            if h.passage.id == passage.id:
                return h.sentences
        return []


def _doc_freq(model: Any, tid: int) -> int:
    """Document frequency of a token id in a bm25s index (sparse column length)."""
    cache = getattr(model, "_kn_df", None)
    if cache is None:
        indptr = np.asarray(model.scores["indptr"])
        cache = np.diff(indptr)
        model._kn_df = cache
    return int(cache[tid]) if tid < len(cache) else 0


class KiemNhiemRetriever(BaseRetriever):
    """LangChain view of the hybrid searcher: ``invoke(question) -> list[Document]``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Any
    k: int = 5
    mode: str = "hybrid+rerank"
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        result: SearchResult = self.searcher.search(query, k=self.k, filters=self.filters, mode=self.mode)
        return [to_lc_document(h) for h in result.hits]


def to_lc_document(hit: ScoredPassage) -> LCDocument:
    p = hit.passage
    meta = p.to_metadata()
    meta.update({"passage_id": p.id, "score": hit.score, "dense": hit.dense, "coverage": hit.coverage})
    return LCDocument(page_content=p.text, metadata=meta, id=p.id)


def passages_payload(hits: Sequence[ScoredPassage]) -> list[dict[str, Any]]:
    return [{"doc_id": h.passage.doc_id, "section": h.passage.section, "label": h.passage.label,
             "score": round(float(h.score), 4), "passage_id": h.passage.id} for h in hits]
