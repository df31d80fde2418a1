"""Retrieval over a real Chroma index built with the fake embedder: RRF fusion, retrieval modes,
named documents, filters, incremental ingest and the model-mismatch guard, all without the model.

The fake's dense ranks are lexical, not semantic, so these tests check how lists are built and
fused, never which passage the real model would rank first (that is tests/integration's job).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import Settings
from assistant.retrieval import HybridSearcher
from tests.support import KNOWLEDGE, FakeEmbedder, make_settings

QUESTION = "Ban bầu cử cấp xã có bao nhiêu thành viên?"
BM25_LISTS = {"bm25", "bm25_fold"}
DENSE_LISTS = {"dense", "dense_fold"}


def test_fake_embedder_vectors() -> None:
    emb = FakeEmbedder()
    v = emb.embed_passages(["Ban bầu cử cấp xã", "Ban bầu cử cấp xã", "phụ cấp kiêm nhiệm", ""])
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(v[0], v[1]), "same text, same vector"
    assert np.array_equal(v[0], FakeEmbedder().embed_queries(["Ban bầu cử cấp xã"])[0]), "across instances too"
    near = float(v[0] @ emb.embed_queries(["Ban bầu cử cấp tỉnh"])[0])
    assert near > float(v[0] @ v[2]), "texts sharing words are closer than unrelated ones"
    with pytest.raises(TypeError):
        emb.embed_passages("one string")  # type: ignore[arg-type]


def test_rrf_sums_reciprocal_ranks_over_every_list(fake_index: Any, fake_settings: Settings) -> None:
    res = HybridSearcher(fake_index, fake_settings).search(QUESTION, k=8, mode="hybrid")
    assert res.hits
    fused = [h for h in res.hits if h.ranks]
    assert fused and any(set(h.ranks) >= BM25_LISTS | DENSE_LISTS for h in fused)
    for h in fused:
        expected = sum(1.0 / (fake_settings.rrf_k + r) for r in h.ranks.values())
        assert h.rrf == pytest.approx(expected), h.ranks
    scores = [h.rrf for h in fused]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 1.0 / (fake_settings.rrf_k + 1), "the top hit is in more than one list"


@pytest.mark.parametrize("mode, allowed", [("bm25", BM25_LISTS | {"docref"}), ("dense", DENSE_LISTS)])
def test_modes_fuse_only_their_lists(fake_index: Any, fake_settings: Settings, mode: str, allowed: set[str]) -> None:
    res = HybridSearcher(fake_index, fake_settings).search(QUESTION, k=8, mode=mode)
    assert res.hits and res.mode == mode
    for h in res.hits:
        assert set(h.ranks) <= allowed, (mode, h.ranks)
        assert 0.0 <= h.score <= 1.0


def test_unknown_mode_is_refused(fake_index: Any, fake_settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        HybridSearcher(fake_index, fake_settings).search(QUESTION, mode="semantic")


def test_a_named_document_is_its_own_ranked_list(fake_index: Any, fake_settings: Settings) -> None:
    res = HybridSearcher(fake_index, fake_settings).search("Nghị định 92/2009 quy định gì về phụ cấp?", k=5,
                                                          mode="hybrid")
    named = [h for h in res.hits if "docref" in h.ranks]
    assert named and all(h.passage.doc_id == "nghi-dinh-92-2009-nd-cp" for h in named)
    assert res.hits[0].passage.doc_id == "nghi-dinh-92-2009-nd-cp"


def test_filters_restrict_every_list(fake_index: Any, fake_settings: Settings) -> None:
    doc = "luat-bau-cu-85-2015-qh13"
    res = HybridSearcher(fake_index, fake_settings).search(QUESTION, k=5, filters={"doc_id": doc})
    assert res.hits and {h.passage.doc_id for h in res.hits} == {doc}


def test_reingest_embeds_only_what_changed(tmp_path: Path) -> None:
    from assistant.index import KnowledgeIndex

    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("nghi-quyet-02-nq-tu-ben-tre.md", "chi-thi-45-ct-tw-2025.md"):
        shutil.copy(KNOWLEDGE / name, notes)
    emb = FakeEmbedder()
    settings = make_settings(tmp_path / "data", tmp_path / "no-model")
    first = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    assert first.documents == 2 and first.embedded > 0 and not first.errors
    calls = emb.calls
    again = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    assert again.embedded == 0 and emb.calls == calls, "an unchanged note is not embedded again"
    note = notes / "chi-thi-45-ct-tw-2025.md"
    note.write_text(note.read_text("utf-8") + "\n\nMột câu thêm vào cuối ghi chú.\n", "utf-8")
    edited = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    assert edited.updated >= 1 and 0 < edited.embedded < first.embedded, edited
    assert edited.generation > again.generation


def test_an_index_from_another_model_is_refused(fake_index: Any, fake_settings: Settings) -> None:
    from assistant.index import KnowledgeIndex, ModelMismatchError

    other = FakeEmbedder()
    other.model_id = "another-embedding-model@v0"
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        KnowledgeIndex(fake_settings, embedder=other).snapshot(refresh=True)
