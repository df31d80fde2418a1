"""Syllable BM25 vs Vietnamese word-segmented BM25 (issue #12, item 8): a measurement, not a feature.

``python -m assistant.tools.bench_bm25seg --index DATA_DIR`` scores the same retrieval code with three
BM25 tokenisations, swapped in memory on one index: the product's syllables (today), syllables
plus the compound words ``pyvi`` finds (``cán_bộ``, ``kiêm_nhiệm``), and compound words alone.
Gold set: ``evaluate_modes`` (bm25, hybrid, hybrid+rerank) on an existing knowledge/ index;
ALQAC 2023 (``--alqac``, read in place): the laws chunked like ``kiemnhiem eval alqac`` and BM25
alone (no vectors needed), article-level recall@k and MRR@10. pyvi is not a dependency: install it
(with ``sklearn-crfsuite``) where this runs, e.g. ``pip install --target DIR`` plus ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from assistant.config import Settings, configure_threads
from assistant.embed.embeddings import Embedder
from assistant.evaluation import (
    alqac_rank_metrics,
    article_of,
    dedupe_articles,
    evaluate_modes,
    load_alqac_questions,
    load_questions,
    parse_alqac_laws,
)
from assistant.ingest.chunking import chunk_document
from assistant.ingest.pipeline import MAX_TOKENS, KnowledgeIndex
from assistant.search import bm25 as bm25_module
from assistant.search.retrieval import HybridSearcher
from assistant.search.store import Snapshot
from assistant.text import nfc, tokenize, tokenize_folded

REPO = Path(__file__).resolve().parents[2]
VARIANTS = ("syllables", "syllables+words", "words")


@lru_cache(maxsize=200_000)
def _segment(text: str) -> str:
    from pyvi import ViTokenizer  # noqa: PLC0415 - pyvi is optional, not a dependency (the segmenter measured and dropped)

    return str(ViTokenizer.tokenize(nfc(text)))


def segmented_tokenizers(variant: str) -> tuple[Callable[[str], list[str]], Callable[[str], list[str]]]:
    """(accented, folded) tokenisers for ``variant``; compound words joined by ``_`` as pyvi writes them."""
    if variant == "syllables":
        return tokenize, tokenize_folded

    def words(text: str, folded: bool) -> list[str]:
        out: list[str] = []
        for piece in _segment(text).split():
            if "_" not in piece:
                out += tokenize_folded(piece) if folded else tokenize(piece)
                continue
            parts = [p for p in piece.split("_") if p]
            syl = [t for p in parts for t in (tokenize_folded(p) if folded else tokenize(p))]
            if variant == "syllables+words":
                out += syl
            out.append("_".join(syl))
        return out

    return (lambda t: words(t, False)), (lambda t: words(t, True))


@contextlib.contextmanager
def bm25_tokenizers(variant: str) -> Iterator[None]:
    """Swap the tokenisers ``assistant.search.bm25`` indexes and scores with (nothing else changes)."""
    acc, fol = segmented_tokenizers(variant)
    saved = {name: getattr(bm25_module, name) for name in ("tokenize", "tokenize_folded")}
    setattr(bm25_module, "tokenize", acc)  # noqa: B010 - a measurement swaps the module's tokenisers
    setattr(bm25_module, "tokenize_folded", fol)  # noqa: B010
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(bm25_module, name, fn)


class _Frozen:
    """A stand-in for KnowledgeIndex: a fixed snapshot, the real dense search and embedder."""

    def __init__(self, snap: Any, index: Any = None) -> None:
        self._snap, self._index = snap, index
        self.fold_vectors = getattr(index, "fold_vectors", False)

    def snapshot(self, refresh: bool = False) -> Any:
        return self._snap

    @property
    def embedder(self) -> Any:
        return self._index.embedder

    def dense_search(self, *a: Any, **k: Any) -> Any:
        return self._index.dense_search(*a, **k)


def with_bm25(snap: Any, variant: str) -> Any:
    texts = [p.text for p in snap.passages]
    with bm25_tokenizers(variant):
        bm = bm25_module.BM25Index.build([p.id for p in snap.passages], texts, f"{snap.generation}-{variant}")
    return dataclasses.replace(snap, bm25=bm)


def gold(settings: Any, questions: Path, modes: Sequence[str]) -> dict[str, Any]:
    index = KnowledgeIndex(settings)
    base = index.snapshot(refresh=True)
    qs = load_questions(questions)
    out = {}
    for variant in VARIANTS:
        snap = with_bm25(base, variant)
        searcher = HybridSearcher(_Frozen(snap, index), settings)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        with bm25_tokenizers(variant):
            metrics, _ = evaluate_modes(searcher, qs, snap, modes=modes)
        out[variant] = {"modes": metrics, "seconds": time.perf_counter() - t0}
        sys.stderr.write(f"[bm25seg] gold {variant}: " + json.dumps(
            {m: {lv: v[lv] for lv in ("document", "section")} for m, v in metrics.items()}) + "\n")
    return out


def alqac(settings: Any, alqac_dir: Path, limit: int | None) -> dict[str, Any]:
    """BM25 alone on the ALQAC laws (chunked like ``kiemnhiem eval alqac``), article level."""
    laws = parse_alqac_laws(alqac_dir / "law.json")
    questions = load_alqac_questions(alqac_dir / "train.json")[:limit]
    emb = Embedder(settings)  # tokenizer only: nothing is encoded
    passages = [p for d in laws.documents for p in chunk_document(d, max_tokens=MAX_TOKENS, count_tokens=emb.token_count)]
    key_of = {}
    for p in passages:
        law, art = laws.law_of.get(p.doc_id), article_of(p.section)
        key_of[p.id] = (law, art) if law is not None and art is not None and (law, art) in laws.articles else None
    empty = np.zeros((0,), dtype=np.int64)
    base = Snapshot(0, "alqac-bm25", "", passages, {p.id: p for p in passages}, None,  # type: ignore[arg-type]
                    {}, np.zeros((len(passages), 1), np.float32), empty, np.zeros((0, 2), np.int64),
                    np.zeros((0, 1), np.float32))
    ks = (1, 5, 10)
    out = {}
    for variant in VARIANTS:
        t0 = time.perf_counter()
        snap = with_bm25(base, variant)
        searcher = HybridSearcher(_Frozen(snap), settings)  # type: ignore[arg-type]
        rows = []
        with bm25_tokenizers(variant):
            for q in questions:
                res = searcher.search(q["text"], k=max(ks) + 5, mode="bm25")
                ranked = dedupe_articles(key_of.get(h.passage.id) for h in res.hits)[: max(ks)]
                rows.append(alqac_rank_metrics(ranked, q["relevant"], ks))
        out[variant] = {k: mean(r[k] for r in rows) for k in rows[0]} | {
            "n": len(rows), "passages": len(passages), "seconds": time.perf_counter() - t0}
        sys.stderr.write(f"[bm25seg] alqac {variant}: {json.dumps(out[variant])}\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.tools.bench_bm25seg", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="Data dir of an existing knowledge/ index (gold set)")
    ap.add_argument("--alqac", type=Path, default=None, help="ALQAC 2023 folder (law.json, train.json)")
    ap.add_argument("--alqac-limit", type=int, default=None)
    ap.add_argument("--modes", default="bm25,hybrid,hybrid+rerank")
    ap.add_argument("--questions", type=Path, default=REPO / "eval" / "questions.jsonl")
    args = ap.parse_args(argv)
    settings = Settings()
    configure_threads(settings)
    res: dict[str, Any] = {}
    if args.index:
        res["gold"] = gold(settings.model_copy(update={"data_dir": args.index}), args.questions,
                           [m for m in args.modes.split(",") if m])
    if args.alqac:
        res["alqac"] = alqac(settings, args.alqac, args.alqac_limit)
    sys.stdout.write(json.dumps(res, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
