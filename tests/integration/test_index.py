"""Incremental indexing against a real embedded Chroma store and the real materialised model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.ingest.pipeline import KnowledgeIndex
from assistant.search.bm25 import BM25Index
from assistant.search.store import ModelMismatchError
from tests.support import KNOWLEDGE, OFFICIAL, REPO, make_settings, require_shared, server_env


@pytest.fixture()
def kb_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, dst)
    for p in dst.glob("*.md"):
        p.chmod(0o644)
    return dst


def _records(index: KnowledgeIndex) -> dict[str, str]:
    """passage id -> hash as stored in the active Chroma generation."""
    snap = index.snapshot(refresh=True)
    col = index.client.get_collection(snap.collection_name, embedding_function=None)
    got = col.get(where={"variant": "orig"}, include=["metadatas"])
    return {m["passage_id"]: m["hash"] for m in got["metadatas"]}


def test_ingest_is_incremental(tmp_path: Path, model_dir: Path, kb_copy: Path) -> None:
    settings = make_settings(tmp_path / "data", model_dir)
    index = KnowledgeIndex(settings)
    first = index.ingest([kb_copy])
    assert first.documents == 15 and first.added == first.passages > 60 and first.embedded == first.passages

    second = index.ingest([kb_copy])
    assert second.embedded == 0 and second.unchanged == first.passages
    assert second.added == second.updated == second.removed == 0

    # edit one section of one note: only that note's changed passage is re-embedded
    note = kb_copy / "thong-tu-78-2005-tt-bnv.md"
    text = note.read_text("utf-8")
    assert "## Mức phụ cấp kiêm nhiệm" in text
    note.write_text(text.replace("## Mức phụ cấp kiêm nhiệm\n", "## Mức phụ cấp kiêm nhiệm\n\nCâu thêm để kiểm thử.\n", 1),
                    "utf-8")
    third = index.ingest([kb_copy])
    assert third.updated == 1 and third.embedded == 1 and third.added == third.removed == 0
    stored = _records(index)
    changed = [pid for pid in stored if pid.startswith("thong-tu-78-2005-tt-bnv::")]
    assert changed and len(stored) == first.passages

    # delete a note: its passages leave Chroma and BM25
    (kb_copy / "nghi-quyet-02-nq-tu-ben-tre.md").unlink()
    fourth = index.ingest([kb_copy])
    assert fourth.removed > 0 and fourth.embedded == 0 and fourth.documents == 14
    stored = _records(index)
    assert not any(pid.startswith("nghi-quyet-02-nq-tu-ben-tre::") for pid in stored)
    snap = index.snapshot(refresh=True)
    bm25 = BM25Index.load(index.bm25_path(snap.generation))
    assert bm25 is not None and sorted(bm25.ids) == sorted(stored)
    assert not any(pid.startswith("nghi-quyet-02-nq-tu-ben-tre::") for pid in bm25.ids)
    # only the active generation and its predecessor are kept
    names = [c.name if hasattr(c, "name") else c for c in index.client.list_collections()]
    assert len([n for n in names if "__g" in n]) <= 2


def test_passage_metadata_and_offsets(kb_settings) -> None:  # noqa: ANN001
    snap = KnowledgeIndex(kb_settings).snapshot()
    p = snap.by_id["luat-bau-cu-85-2015-qh13::dieu-27"]
    assert p.section == "Điều 27" and p.label == "Điều 27, Luật Bầu cử 85/2015/QH13"
    assert p.status == "con-hieu-luc" and p.amended_by == "83/2025/QH15" and p.number == "85/2015/QH13"
    assert p.issued == "2015-06-25" and len(p.hash) == 64
    source = (KNOWLEDGE / "luat-bau-cu-85-2015-qh13.md").read_text("utf-8")
    body = source.split("\n---\n", 1)[1].lstrip("\n") if source.startswith("---") else source
    assert p.text.split("\n", 1)[1].strip() in source
    assert snap.documents["luat-bau-cu-85-2015-qh13"]["passages"] >= 10
    assert len(snap.sentence_vectors) > len(snap.passages)
    assert body  # the front matter is not part of any passage
    assert all("id: " not in q.text.split("\n", 1)[0] for q in snap.passages)


def test_model_mismatch_is_refused(tmp_path: Path, model_dir: Path, kb_copy: Path) -> None:
    settings = make_settings(tmp_path / "data", model_dir)
    index = KnowledgeIndex(settings)
    index.ingest([kb_copy])
    meta_col = index.client.get_collection(index.meta_name, embedding_function=None)
    meta = dict(meta_col.metadata)
    meta_col.modify(metadata={**meta, "model": "some-other-model@1"})
    # as if another model had built it: that ingest's state (keyed by its model's manifest) is not ours
    (settings.data_dir / "kiemnhiem.ingest-state.json").unlink()
    fresh = KnowledgeIndex(settings)
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        fresh.snapshot()
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        fresh.ingest([kb_copy])
    report = fresh.ingest([kb_copy], rebuild=True)
    assert report.embedded == report.passages
    assert fresh.snapshot(refresh=True).model_id == fresh.embedder.model_id


def test_cli_ingest_json_and_sources(tmp_path: Path, kb_settings, kb_copy: Path) -> None:  # noqa: ANN001
    settings = make_settings(tmp_path / "data", kb_settings.model_dir)
    env = server_env(settings)
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(kb_copy), "--replace", "--json"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = [ln for ln in run.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert {"documents", "passages", "added", "updated", "removed", "unchanged", "embedded", "seconds", "vectors",
            "embedded_vectors", "phases"} <= set(report)
    assert report["vectors"] > report["passages"] and report["embedded_vectors"] == report["vectors"]
    assert {"load", "chunk", "embed", "store", "bm25", "swap"} <= set(report["phases"])
    assert report["documents"] == 15
    src = subprocess.run([sys.executable, "-m", "assistant.cli", "sources", "--json"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert src.returncode == 0, src.stderr
    docs = json.loads(src.stdout)
    assert len(docs) == 15
    assert set(docs[0]) == {"id", "title", "number", "kind", "status", "issued", "passages"}
    assert {d["id"] for d in docs} == {p.stem for p in KNOWLEDGE.glob("*.md") if p.name != "README.md"}


def test_malformed_note_names_file_and_keeps_others(tmp_path: Path, kb_settings, kb_copy: Path) -> None:  # noqa: ANN001
    bad = kb_copy / "hong.md"
    bad.write_text("---\nid: hong\ntitle: [chưa đóng\nstatus: tham-khao\n---\n# Hỏng\n\n## Mục 1. A\nNội dung.\n", "utf-8")
    settings = make_settings(tmp_path / "data", kb_settings.model_dir)
    env = server_env(settings)
    run = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--replace", str(kb_copy), "--json"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 3, run.stderr
    report = json.loads(run.stdout)
    assert report["documents"] == 15
    # YAML notices the unclosed "[" on line 4 and names line 3 where it opened: both lines are reported
    assert any("hong.md:4" in e and "line 3" in e for e in report["errors"]), report["errors"]
    strict = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--replace", str(kb_copy), "--strict"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert strict.returncode == 1 and "hong.md" in strict.stderr


def test_official_law_ranks_article_27_first(tmp_path: Path, model_dir: Path) -> None:
    require_shared(OFFICIAL)
    from assistant.answering.chain import Assistant

    settings = make_settings(tmp_path / "data", model_dir)
    index = KnowledgeIndex(settings)
    report = index.ingest([KNOWLEDGE, OFFICIAL.parent])
    assert report.documents == 16 and not report.errors
    snap = index.snapshot()
    law = [p for p in snap.passages if p.doc_id == "phap-dien-35-1-luat-bau-cu"]
    assert len({p.section for p in law if p.section.startswith("Điều ") and ".NQ." not in p.section}) == 98
    result = Assistant(settings, index).searcher.search(
        "Người ứng cử có được làm thành viên Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử không?")
    top = result.hits[0].passage
    assert top.section == "Điều 27", [h.passage.label for h in result.hits]


def test_chroma_collection_records_embedding_model(kb_settings) -> None:  # noqa: ANN001
    index = KnowledgeIndex(kb_settings)
    snap = index.snapshot()
    col = index.client.get_collection(snap.collection_name, embedding_function=None)
    assert col.metadata["embedding_model"] == index.embedder.model_id


def test_dense_search_in_the_snapshot_matches_chroma(kb_settings) -> None:  # noqa: ANN001
    """The exact search over the snapshot's passage vectors returns what Chroma's own query returns
    for the written passages (same ids, same order, same similarities), filters included."""
    import numpy as np

    index = KnowledgeIndex(kb_settings)
    snap = index.snapshot()
    col = index.client.get_collection(snap.collection_name, embedding_function=None)
    queries = index.embedder.embed_queries(["Thành viên Ban bầu cử có được kiêm nhiệm không?",
                                            "phu cap kiem nhiem bao nhieu", "Bến Tre"])
    doc = snap.passages[0].doc_id
    for vec in queries:
        for where in (None, {"doc_id": doc}, {"doc_id": [doc, snap.passages[-1].doc_id]}):
            got = index.dense_search(vec, 8, where=where)
            clauses = [{"variant": "orig"}] + [
                {k: {"$in": list(v)} if isinstance(v, list) else v} for k, v in (where or {}).items()]
            res = col.query(query_embeddings=[vec.tolist()], n_results=8, include=["distances", "metadatas"],
                            where=clauses[0] if len(clauses) == 1 else {"$and": clauses})
            want = [(m["passage_id"], 1.0 - d) for m, d in zip(res["metadatas"][0], res["distances"][0], strict=True)]
            assert [pid for pid, _ in got] == [pid for pid, _ in want], where
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-4)
            if where:
                allowed = set(where["doc_id"]) if isinstance(where["doc_id"], list) else {where["doc_id"]}
                assert {snap.by_id[pid].doc_id for pid, _ in got} <= allowed
