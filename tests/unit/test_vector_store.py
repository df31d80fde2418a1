"""Dense search as the library grows (assistant/search/vector_store.py): the compact int8 scan with exact re-score
against exact search on synthetic e5-like matrices, the on-disk memory-mapped store, the choice by size,
and a real Chroma index of knowledge/ (fake embedder) searched both ways, with the mode in ``/health``.
No timing here: speed targets live in ``kiemnhiem dev bench --only scale``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.answering.chain import Assistant
from assistant.config import Settings
from assistant.search.vector_store import (
    ARGSORT_MAX,
    CompactDense,
    ExactDense,
    StoreWriter,
    choose_mode,
    open_store,
    quantize,
    top_indices,
)
from tests.support import KNOWLEDGE, FakeEmbedder, make_settings

DIM = 384


def e5_like(n: int, seed: int = 0, clusters: int = 200) -> np.ndarray:
    """Unit vectors sharing one large common direction (e5 cosines sit around 0.8) in tight clusters:
    near-duplicates are where an approximate scan loses neighbours."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(DIM).astype(np.float32)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    x = 3.0 * common + centres[rng.integers(0, clusters, n)] + 0.3 * rng.standard_normal((n, DIM)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at(exact: ExactDense, approx: Any, queries: np.ndarray, k: int,
              keep: np.ndarray | None = None) -> float:
    got = []
    for q in queries:
        want = set(exact.search(q, k, keep)[0].tolist())
        have = set(approx.search(q, k, keep)[0].tolist())
        got.append(len(want & have) / max(len(want), 1))
    return float(np.mean(got))


@pytest.fixture(scope="module")
def matrix() -> np.ndarray:
    return e5_like(40_000)


@pytest.fixture(scope="module")
def queries(matrix: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    q = matrix[rng.integers(0, len(matrix), 40)] + 0.05 * rng.standard_normal((40, DIM)).astype(np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def compact_of(matrix: np.ndarray, use_torch: bool) -> CompactDense:
    center = matrix.mean(axis=0).astype(np.float32)
    codes, scales = quantize(matrix, center)
    return CompactDense(codes, scales, center, matrix, use_torch=use_torch)


@pytest.mark.parametrize("use_torch", [True, False], ids=["torch-int8", "numpy-int8"])
def test_compact_recall_at_10_against_exact(matrix: np.ndarray, queries: np.ndarray, use_torch: bool) -> None:
    exact, compact = ExactDense(matrix), compact_of(matrix, use_torch)
    assert recall_at(exact, compact, queries, 10) >= 0.99
    assert recall_at(exact, compact, queries, 30) >= 0.99
    rows, sims = compact.search(queries[0], 10)
    want_rows, want_sims = exact.search(queries[0], 10)
    assert np.allclose(sims, matrix[rows] @ queries[0], atol=1e-6), "returned scores are exact re-scores"
    assert np.allclose(sims, want_sims, atol=1e-6)


def test_compact_without_rescore_would_not_be_exact(matrix: np.ndarray, queries: np.ndarray) -> None:
    """The int8 scores alone reorder near-duplicates: the exact re-score is what makes the ranking exact."""
    compact = compact_of(matrix, use_torch=False)
    swapped = 0
    for q in queries:
        approx = compact._approx(q)
        swapped += set(np.argsort(-approx)[:10].tolist()) != set(np.argsort(-(matrix @ q))[:10].tolist())
    assert swapped > 0


def test_compact_honours_the_mask(matrix: np.ndarray, queries: np.ndarray) -> None:
    keep = np.zeros(len(matrix), dtype=bool)
    keep[::7] = True
    exact, compact = ExactDense(matrix), compact_of(matrix, use_torch=True)
    assert recall_at(exact, compact, queries, 10, keep) >= 0.99
    rows, _ = compact.search(queries[0], 50, keep)
    assert len(rows) == 50 and keep[rows].all()
    few = np.zeros(len(matrix), dtype=bool)
    few[[3, 5]] = True
    rows, _ = compact.search(queries[0], 10, few)
    assert sorted(rows.tolist()) == [3, 5], "masked rows never come back, even when fewer than k remain"


def test_top_indices_is_a_stable_argsort_at_every_size() -> None:
    rng = np.random.default_rng(2)
    for n in (50, ARGSORT_MAX + 5_000):
        scores = np.round(rng.random(n), 3).astype(np.float32)  # many ties
        scores[::11] = -np.inf
        for k in (1, 10, 300):
            full = np.argsort(-scores, kind="stable")[:k]
            assert top_indices(scores, k).tolist() == [i for i in full.tolist() if np.isfinite(scores[i])]


def test_choice_by_size() -> None:
    assert choose_mode(1_649, "auto", 200_000) == "exact"
    assert choose_mode(200_000, "auto", 200_000) == "compact"
    assert choose_mode(5_000_000, "exact", 200_000) == "exact"
    assert choose_mode(10, "compact", 200_000) == "compact"
    default = Settings.model_fields["compact_from_vectors"].default
    assert choose_mode(1_649, "auto", default) == "exact", "today's index keeps the exact path"
    assert choose_mode(1_000_000, "auto", default) == "compact"


def test_store_round_trip_sorts_sentences_and_memory_maps(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ids = [f"p{i}" for i in range(5)]
    pv = e5_like(5, seed=4)
    sents = [(f"p{i}", (s, s + 3)) for i in range(5) for s in (20, 0, 10)[: i % 3 + 1]]
    order = rng.permutation(len(sents))
    sv = e5_like(len(sents), seed=5)
    w = StoreWriter(tmp_path / "g0003", ids, DIM, 3, "fake-model", sentences=len(sents) + 4)
    w.add_passages(ids[::-1], pv[::-1])
    half = len(order) // 2
    for part in (order[:half], order[half:]):
        w.add_sentences([sents[j][0] for j in part], [sents[j][1] for j in part], sv[part])
    w.add_sentences(["gone"], [(0, 1)], e5_like(1, seed=6))  # a sentence of no stored passage is dropped
    store = w.commit()
    assert isinstance(store.passage_vectors, np.memmap) and isinstance(store.sentence_vectors, np.memmap)
    assert store.ids == ids and np.array_equal(store.passage_vectors, pv)
    assert store.sentence_offsets.tolist() == [0, 1, 3, 6, 7, 9]
    for r, (start, _end) in enumerate(store.sentence_spans.tolist()):
        i = int(np.searchsorted(store.sentence_offsets, r, side="right")) - 1
        j = next(j for j, (pid, sp) in enumerate(sents) if pid == ids[i] and sp[0] == start)
        assert np.array_equal(store.sentence_vectors[r], sv[j])
    spans_p2 = store.sentence_spans[3:6, 0].tolist()
    assert spans_p2 == sorted(spans_p2) == [0, 10, 20]
    assert open_store(tmp_path / "g0003", 4, "fake-model") is None, "another generation's store is not used"
    assert open_store(tmp_path / "g0003", 3, "other-model") is None
    assert not list(tmp_path.glob(".vectors-*")), "no temp folder left behind"


# ------------------------------------------------------------------------ a real index, both ways


@pytest.fixture(scope="module")
def compact_index(tmp_path_factory: pytest.TempPathFactory, fake_embedder: FakeEmbedder) -> Any:
    from assistant.ingest.pipeline import KnowledgeIndex

    data = tmp_path_factory.mktemp("compact-kb")
    settings = make_settings(data, data / "no-model", compact_from_vectors=100)  # auto, and past the size
    index = KnowledgeIndex(settings, embedder=fake_embedder)
    report = index.ingest([KNOWLEDGE])
    assert report.documents == 15 and not report.errors, report
    return index


def test_a_large_index_switches_to_the_compact_store(compact_index: Any, fake_index: Any) -> None:
    snap = compact_index.snapshot(refresh=True)
    assert snap.dense_mode == "compact" and snap.vectors > 100
    assert isinstance(snap.sentence_vectors, np.memmap), "sentence vectors are mapped, not loaded"
    assert compact_index.vectors_path(snap.generation).joinpath("codes.npy").exists()
    small = fake_index.snapshot(refresh=True)
    assert small.dense_mode == "exact" and not isinstance(small.sentence_vectors, np.memmap)
    assert [p.id for p in snap.passages] == [p.id for p in small.passages]
    assert np.array_equal(snap.sentence_offsets, small.sentence_offsets)
    assert np.array_equal(np.asarray(snap.sentence_vectors), small.sentence_vectors)
    emb = FakeEmbedder()
    for q in ("Ban bầu cử cấp xã có bao nhiêu thành viên?", "phụ cấp kiêm nhiệm", "bi thu kiem chu tich"):
        v = emb.embed_queries([q])[0]
        got = compact_index.dense_search(v, 10)
        want = fake_index.dense_search(v, 10)
        assert [pid for pid, _ in got] == [pid for pid, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        flt = {"doc_id": ["luat-bau-cu-85-2015-qh13"]}
        assert [pid for pid, _ in compact_index.dense_search(v, 5, where=flt)] == [
            pid for pid, _ in fake_index.dense_search(v, 5, where=flt)]


def test_hybrid_answers_are_the_same_both_ways(compact_index: Any, fake_index: Any, fake_settings: Settings) -> None:
    from assistant.search.retrieval import HybridSearcher

    for q in ("Ban bầu cử cấp xã có bao nhiêu thành viên?", "phu cap kiem nhiem la bao nhieu"):
        a = HybridSearcher(compact_index, compact_index.settings).search(q, k=5)
        b = HybridSearcher(fake_index, fake_settings).search(q, k=5)
        assert [h.passage.id for h in a.hits] == [h.passage.id for h in b.hits]
        assert [[(s.start, s.end) for s in h.sentences] for h in a.hits] == [
            [(s.start, s.end) for s in h.sentences] for h in b.hits]


def test_a_lost_store_is_written_again_from_chroma(compact_index: Any) -> None:
    import shutil

    snap = compact_index.snapshot(refresh=True)
    shutil.rmtree(compact_index.vectors_path(snap.generation))
    compact_index._snapshot = None
    again = compact_index.snapshot(refresh=True)
    assert again.dense_mode == "compact" and compact_index.vectors_path(snap.generation).exists()


def test_health_reports_the_search_mode(compact_index: Any, fake_index: Any, fake_settings: Settings) -> None:
    for index, settings, mode in ((fake_index, fake_settings, "exact"),
                                  (compact_index, compact_index.settings, "compact")):
        app = create_app(settings)
        app.state.assistant = Assistant(settings, index=index)
        body = TestClient(app).get("/health").json()  # no lifespan: it would load the real model
        assert body["search"]["dense"] == mode, body
        assert body["search"]["vectors"] == body["index"]["vectors"] > 0
        assert body["search"]["compact_from_vectors"] == settings.compact_from_vectors


def test_the_snapshot_reads_chroma_in_pages(fake_index: Any) -> None:
    """One ``get`` of every sentence row fails inside Chroma at 100,000 stored vectors ("too many SQL
    variables"): rows are read in pages, and the pages together are every row once."""
    col = fake_index._collection(fake_index._pointer()["active"])
    whole = col.get(where={"variant": "sent"}, include=["metadatas"])
    paged = fake_index._get_all(col, {"variant": "sent"}, ["metadatas"], page=7)
    assert len(paged["ids"]) == len(whole["ids"]) > 7 and sorted(paged["ids"]) == sorted(whole["ids"])
    assert len(paged["metadatas"]) == len(paged["ids"])
