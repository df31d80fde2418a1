"""Real model, real Chroma: the model loads only when something needs embedding, and an
interrupted ingest resumes from the vectors it already wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

import assistant.embed.embeddings as embeddings_mod
import assistant.ingest.pipeline as index_mod
from assistant.config import Settings
from assistant.embed.embeddings import Embedder
from assistant.ingest.documents import iter_documents
from assistant.ingest.pipeline import IngestError, KnowledgeIndex
from assistant.models import Document
from tests.support import KNOWLEDGE, clone_index, make_settings


def _note(n: int = 6) -> Document:
    body = "\n\n".join(
        f"## Mục {i}. Quy định thử số {i}\n\nCán bộ thứ {i} được kiêm nhiệm chức danh thử nghiệm số {i}. "
        f"Mức phụ cấp thử nghiệm số {i} bằng {i}0% mức lương. Người kiêm nhiệm thứ {i} phải báo cáo hằng năm."
        for i in range(1, n + 1))
    return Document(id="ghi-chu-thu-nghiem", title="Ghi chú thử nghiệm", text="# Ghi chú thử nghiệm\n\n" + body)


def test_unchanged_reingest_and_reads_do_not_load_the_model(kb_settings: Settings) -> None:
    embedder = Embedder(kb_settings)  # a fresh instance: the process-wide one may be loaded already
    index = KnowledgeIndex(kb_settings, embedder=embedder)
    assert index.stats()["passages"] > 60
    snap = index.snapshot()
    assert snap.model_id == embedder.model_id and snap.passage_vectors.shape[1] == embedder.dim
    report = index.ingest([KNOWLEDGE])
    assert report.embedded == report.added == report.updated == report.removed == 0
    assert report.unchanged == len(snap.passages) and report.vectors > report.passages
    assert not embedder.loaded, "a re-ingest with nothing changed loaded the model"
    assert embedder._tokenizer is None, "unchanged documents were re-chunked"
    assert "model" not in report.phases and "embed" not in report.phases
    # the first real encode loads it
    vec = embedder.embed_queries(["Thành viên Ban bầu cử có được kiêm nhiệm không?"])
    assert embedder.loaded and vec.shape == (1, embedder.dim)


def test_interrupted_ingest_resumes_from_written_vectors(kb_settings: Settings, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = clone_index(kb_settings, tmp_path / "data")
    index = KnowledgeIndex(settings)
    before = index.snapshot()
    docs, errors = iter_documents([KNOWLEDGE])
    assert not errors
    docs.append(_note())
    monkeypatch.setattr(index_mod, "FLUSH_VECTORS", 8)
    monkeypatch.setattr(embeddings_mod, "MAX_BATCH", 4)
    # upsert 1 = the reused vectors, upserts 2-3 = the first flushes of new ones (>= 16 vectors),
    # then a "crash"
    with pytest.raises(IngestError, match="injected"):
        index.ingest([], documents=docs, _fail_after_batches=3)
    after_fail = index.snapshot(refresh=True)
    assert after_fail.generation == before.generation and len(after_fail.passages) == len(before.passages)

    resumed = index.ingest([], documents=docs)
    full = KnowledgeIndex(clone_index(kb_settings, tmp_path / "fresh")).ingest([], documents=docs)
    assert full.embedded_vectors == 24 and resumed.added == full.added == 6  # 6 passages + 18 sentences
    assert 0 < resumed.embedded_vectors <= full.embedded_vectors - 16, (resumed, full)
    snap = index.snapshot(refresh=True)
    assert snap.generation > before.generation and len(snap.passages) == len(before.passages) + 6
    assert any(p.doc_id == "ghi-chu-thu-nghiem" for p in snap.passages)


def test_late_chunked_span_vectors(model_dir: Path, tmp_path: Path) -> None:
    from assistant.embed.embeddings import get_embedder

    embedder = get_embedder(make_settings(tmp_path / "data", model_dir))
    texts = ["Điều 9. Người ứng cử không được làm thành viên Tổ bầu cử. Cán bộ xã được kiêm nhiệm chức danh khác.",
             "Mức phụ cấp kiêm nhiệm bằng 50% mức lương hiện hưởng."]
    cut = texts[0].index("Cán")
    spans = [[(0, cut - 1), (cut, len(texts[0]))], [(0, len(texts[1]))]]
    got = {i: (pv, sv) for group, pvs, svs in embedder.iter_encode_late(texts, spans)
           for i, pv, sv in zip(group, pvs, svs, strict=True)}
    alone = embedder.embed_passages(texts)
    for i in range(2):
        pv, sv = got[i]
        assert abs(float(pv @ alone[i]) - 1.0) < 1e-4  # the passage vector is the ordinary one
        assert sv.shape == (len(spans[i]), embedder.dim)
        assert abs(float((sv ** 2).sum(1).max()) - 1.0) < 1e-4
    whole = got[1][1][0]
    assert float(whole @ alone[1]) > 0.95  # pooled over (almost) all tokens ~ the passage vector
    first, second = embedder.embed_passages([texts[0][: cut - 1], texts[0][cut:]])
    own = got[0][1]
    # contextual: each span vector is near its sentence embedded alone, yet the two spans differ
    # (not always closer to their own sentence than to the neighbour: see the ablation in
    # docs/benchmarks.md, why late chunking is not the default)
    assert float(own[0] @ first) > 0.85 and float(own[1] @ second) > 0.85
    assert float(own[0] @ own[1]) < 0.999
