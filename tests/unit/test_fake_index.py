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
from assistant.search.retrieval import HybridSearcher
from tests.support import KNOWLEDGE, FakeEmbedder, make_settings

QUESTION = "Ban bầu cử cấp xã có bao nhiêu thành viên?"
BM25_LISTS = {"bm25", "bm25_fold"}
DENSE_LISTS = {"dense"}  # folded passage copies are off by default (KIEMNHIEM_FOLDED_VECTORS)


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
        # the one dense list counts twice: it stands for the written and the folded passage views
        expected = sum((2.0 if name == "dense" else 1.0) / (fake_settings.rrf_k + r) for name, r in h.ranks.items())
        assert h.rrf == pytest.approx(expected), h.ranks
    scores = [h.rrf for h in fused]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 2.0 / (fake_settings.rrf_k + 1), "the top hit is in more than one list"


def test_folded_passage_copies_when_switched_on(tmp_path: Path) -> None:
    """``folded_vectors=True`` stores a folded copy per passage and fuses its own dense list with weight 1;
    switching it on for an existing index embeds only the copies, switching it off embeds nothing."""
    from assistant.ingest.pipeline import KnowledgeIndex

    notes = tmp_path / "notes"
    notes.mkdir()
    shutil.copy(KNOWLEDGE / "chi-thi-45-ct-tw-2025.md", notes)
    emb = FakeEmbedder()
    off = make_settings(tmp_path / "data", tmp_path / "no-model")
    first = KnowledgeIndex(off, embedder=emb).ingest([notes])
    on = off.model_copy(update={"folded_vectors": True})
    index = KnowledgeIndex(on, embedder=emb)
    switched = index.ingest([notes])
    assert switched.embedded_vectors == first.passages and switched.vectors == first.vectors + first.passages
    col = index.client.get_collection(index.snapshot(refresh=True).collection_name, embedding_function=None)
    assert len(col.get(where={"variant": "fold"}, include=[])["ids"]) == first.passages
    res = HybridSearcher(index, on).search(QUESTION, k=8, mode="hybrid")
    assert any("dense_fold" in h.ranks for h in res.hits)
    for h in res.hits:
        assert h.rrf == pytest.approx(sum(1.0 / (on.rrf_k + r) for r in h.ranks.values()))
    back = KnowledgeIndex(off, embedder=emb).ingest([notes])
    assert back.embedded_vectors == 0 and back.vectors == first.vectors


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


def _two_notes(tmp_path: Path) -> tuple[Path, FakeEmbedder, Settings]:
    """Two notes in a folder of their own, a fresh fake embedder and a data dir for them."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("nghi-quyet-02-nq-tu-ben-tre.md", "chi-thi-45-ct-tw-2025.md"):
        shutil.copy(KNOWLEDGE / name, notes)
    return notes, FakeEmbedder(), make_settings(tmp_path / "data", tmp_path / "no-model")


def test_reingest_embeds_only_what_changed(tmp_path: Path) -> None:
    from assistant.ingest.pipeline import KnowledgeIndex

    notes, emb, settings = _two_notes(tmp_path)
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
    from assistant.ingest.pipeline import KnowledgeIndex
    from assistant.search.store import ModelMismatchError

    other = FakeEmbedder()
    other.model_id = "another-embedding-model@v0"
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        KnowledgeIndex(fake_settings, embedder=other).snapshot(refresh=True)


def test_a_reingest_with_nothing_changed_does_not_open_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last ingest's state (documents' hashes, settings, model, generation) answers a no-op re-ingest
    without Chroma; any change, a lost state file or a failed ingest takes the full path."""
    from assistant.ingest.pipeline import IngestError, KnowledgeIndex

    notes, emb, settings = _two_notes(tmp_path)
    first = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    state = settings.data_dir / "kiemnhiem.ingest-state.json"
    assert state.exists()

    def no_store(*_a: object, **_k: object) -> None:
        raise AssertionError("the store was opened")

    with monkeypatch.context() as m:
        m.setattr("assistant.search.store.make_client", no_store)
        again = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    assert (again.generation, again.passages, again.vectors, again.unchanged, again.documents) == (
        first.generation, first.passages, first.vectors, first.passages, first.documents)
    assert set(again.phases) == {"load"}

    # another setting of the vectors: full path (and a new generation)
    folded = KnowledgeIndex(settings.model_copy(update={"folded_vectors": True}), embedder=emb).ingest([notes])
    assert folded.generation == first.generation + 1 and "chunk" in folded.phases
    # the state file lost: full path, nothing re-embedded, the state written again
    state.unlink()
    full = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    assert "chunk" in full.phases and full.embedded_vectors == 0 and state.exists()
    # a changed note whose ingest fails leaves no state claiming either generation
    note = notes / "chi-thi-45-ct-tw-2025.md"
    note.write_text(note.read_text("utf-8") + "\n\nMột câu thêm vào cuối ghi chú.\n", "utf-8")
    with pytest.raises(IngestError):
        KnowledgeIndex(settings, embedder=emb).ingest([notes], _fail_after_batches=0)
    assert not state.exists()
    edited = KnowledgeIndex(settings, embedder=emb).ingest([notes])
    assert edited.updated >= 1 and state.exists()


def test_the_no_op_state_is_keyed_by_the_model_manifest(tmp_path: Path) -> None:
    """Another model (another manifest) means another key: its index never passes for ours."""
    from assistant.ingest.documents import iter_documents
    from assistant.ingest.pipeline import KnowledgeIndex

    notes, emb, settings = _two_notes(tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    (model / "kiemnhiem_manifest.json").write_text('{"model_id": "a"}')
    settings = settings.model_copy(update={"model_path": model})
    docs, _ = iter_documents([notes])
    index = KnowledgeIndex(settings, embedder=emb)
    key = index._state_key(docs)
    (model / "kiemnhiem_manifest.json").write_text('{"model_id": "b"}')
    assert index._state_key(docs) != key
    assert KnowledgeIndex(settings.model_copy(update={"folded_vectors": True}), embedder=emb)._state_key(docs) != \
        index._state_key(docs)
