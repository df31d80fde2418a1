"""A generation's passage folder (issue #27): passage texts, metadata and the diacritic restorer's counts,
written by the ingest before the pointer flips, so a serving worker never pages passages out of the embedded
Chroma (whose segments then stay in its memory) and never rebuilds the counts from every passage at start.
Real Chroma and the real ingest; the fake embedder, as the whole unit tier."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from assistant.ingest.pipeline import KnowledgeIndex
from assistant.search.passage_file import load_restorer, open_passage_file, pointer_stamp, save_restorer
from assistant.search.retrieval import HybridSearcher
from assistant.text import DiacriticRestorer
from tests.support import KNOWLEDGE, FakeEmbedder, make_settings

QUERIES = ("thanh vien ban bau cu", "bi thu kiem chu tich", "phu cap kiem nhiem la bao nhieu",
           "nguoi ung cu dai bieu hoi dong nhan dan", "to bau cu co may nguoi", "Trưởng thôn kiem nhiem duoc khong")


@pytest.fixture(scope="module")
def compact(tmp_path_factory: pytest.TempPathFactory, fake_embedder: FakeEmbedder) -> KnowledgeIndex:
    """knowledge/ in a data dir of its own, past the compact size (a copy of the sources, so a test may edit
    one: ``<data_dir>/../knowledge``). Each test leaves it serving a complete generation."""
    tmp_path = tmp_path_factory.mktemp("passage-file")
    src = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, src)
    settings = make_settings(tmp_path / "data", tmp_path / "no-model", compact_from_vectors=100)
    index = KnowledgeIndex(settings, embedder=fake_embedder)
    report = index.ingest([src])
    assert report.documents == 15 and not report.errors, report
    return index


def _fresh(index: KnowledgeIndex) -> KnowledgeIndex:
    """What a newly started worker opens: the same data dir, nothing cached."""
    return KnowledgeIndex(index.settings, embedder=index.embedder)


def _no_chroma_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a worker paged passage rows out of Chroma")

    monkeypatch.setattr(KnowledgeIndex, "_passage_rows", refuse)
    monkeypatch.setattr(KnowledgeIndex, "_get_all", refuse)


def test_the_ingest_writes_the_folder_and_a_worker_reads_only_it(
        compact: KnowledgeIndex, fake_index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pointer = compact._pointer()
    gen = int(pointer["generation"])
    folder = compact.passages_path(gen)
    assert {"passages.jsonl", "restorer.json", "manifest.json"} <= {f.name for f in folder.iterdir()}
    assert pointer.get("stamp"), "the ingest stamps the pointer the folder belongs to"
    worker = _fresh(compact)
    with monkeypatch.context() as m:
        _no_chroma_rows(m)
        snap = worker.snapshot()
    assert snap.dense_mode == "compact" and snap.passages_from == "file"
    assert worker.search_info()["passages_from"] == "file"  # /health → search.passages_from
    # the same passages, every field, as the path that reads Chroma (the exact, small index)
    want = fake_index.snapshot(refresh=True).passages
    assert [asdict(p) for p in snap.passages] == [asdict(p) for p in want]


def test_old_generations_open_from_chroma_and_get_their_folder_once(
        compact: KnowledgeIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    pointer = compact._pointer()
    gen = int(pointer["generation"])
    want = [asdict(p) for p in _fresh(compact).snapshot().passages]
    # a generation written before the folder existed: no folder, and a pointer without a stamp
    shutil.rmtree(compact.passages_path(gen))
    old = {k: v for k, v in pointer.items() if k != "stamp"}
    compact._set_pointer(old)
    first = _fresh(compact).snapshot()
    assert first.passages_from == "chroma" and [asdict(p) for p in first.passages] == want
    assert open_passage_file(compact.passages_path(gen), gen, str(pointer["model"]), pointer_stamp(old)) is not None
    with monkeypatch.context() as m:
        _no_chroma_rows(m)
        second = _fresh(compact).snapshot()
    assert second.passages_from == "file" and [asdict(p) for p in second.passages] == want


def test_a_folder_of_another_index_is_never_served(compact: KnowledgeIndex) -> None:
    """Same generation number, another stamp (the Chroma store was replaced, the folder stayed): not used."""
    pointer = compact._pointer()
    gen, model = int(pointer["generation"]), str(pointer["model"])
    folder = compact.passages_path(gen)
    assert open_passage_file(folder, gen, model, pointer_stamp(pointer)) is not None
    assert open_passage_file(folder, gen, model, "another-stamp") is None
    assert open_passage_file(folder, gen + 1, model, pointer_stamp(pointer)) is None
    assert open_passage_file(folder, gen, "other-model", pointer_stamp(pointer)) is None
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert open_passage_file(folder, gen, model, pointer_stamp(pointer), manifest["passages"] + 1) is None
    lines = (folder / "passages.jsonl").read_text("utf-8").splitlines()
    (folder / "passages.jsonl").write_text("\n".join(lines[:-1]) + "\n", "utf-8")  # truncated: not used
    assert open_passage_file(folder, gen, model, pointer_stamp(pointer)) is None
    snap = _fresh(compact).snapshot()
    assert snap.passages_from == "chroma" and len(snap.passages) == manifest["passages"]


def test_a_failed_ingest_leaves_the_old_generation_and_its_folder(
        compact: KnowledgeIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    src = compact.settings.data_dir.parent / "knowledge"
    before = compact._pointer()
    gen = int(before["generation"])
    want = [asdict(p) for p in _fresh(compact).snapshot().passages]
    note = next(src.rglob("*.md"))
    note.write_text(note.read_text("utf-8") + "\n\nMột câu thêm vào cuối để tạo thế hệ mới.\n", "utf-8")

    def disk_fails(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:  # the passage folder of the new generation cannot be written
        m.setattr("assistant.search.store.write_passage_file", disk_fails)
        with pytest.raises(Exception):  # noqa: B017 - storage_full or the OSError itself: either way, no switch
            KnowledgeIndex(compact.settings, embedder=compact.embedder).ingest([src])
    assert compact._pointer() == before, "the pointer did not move"
    assert not compact.passages_path(gen + 1).exists()
    with monkeypatch.context() as m:
        _no_chroma_rows(m)
        snap = _fresh(compact).snapshot()
    assert snap.generation == gen and snap.passages_from == "file" and [asdict(p) for p in snap.passages] == want
    # the next ingest that works switches, with its own folder; the old one is kept for readers mid-query
    report = KnowledgeIndex(compact.settings, embedder=compact.embedder).ingest([src])
    assert report.generation > gen and compact.passages_path(report.generation).exists()
    assert _fresh(compact).snapshot().passages_from == "file"


def test_persisted_restorer_counts_restore_as_the_rebuilt_ones(
        compact: KnowledgeIndex, tmp_path: Path) -> None:
    snap = _fresh(compact).snapshot()
    rebuilt = DiacriticRestorer.from_texts([p.text for p in snap.passages])
    persisted = snap.restorer()
    assert persisted is not rebuilt
    # the same counts in the same order (ties between forms go to the one counted first)
    assert json.dumps(persisted.unigrams, ensure_ascii=False) == json.dumps(rebuilt.unigrams, ensure_ascii=False)
    assert persisted.bigrams == rebuilt.bigrams
    for q in QUERIES:
        assert persisted.restore(q) == rebuilt.restore(q), q
    searcher = HybridSearcher(compact, compact.settings)
    assert searcher.restorer(snap) is persisted
    save_restorer(rebuilt, tmp_path / "r.json")
    again = load_restorer(tmp_path / "r.json")
    assert again is not None and [again.restore(q) for q in QUERIES] == [rebuilt.restore(q) for q in QUERIES]
    (tmp_path / "r.json").write_text("{", "utf-8")
    assert load_restorer(tmp_path / "r.json") is None, "unreadable counts: the caller rebuilds"


def test_the_small_exact_path_uses_the_persisted_counts_too(fake_index: Any) -> None:
    snap = fake_index.snapshot(refresh=True)
    assert snap.dense_mode == "exact" and snap.passage_file is not None
    rebuilt = DiacriticRestorer.from_texts([p.text for p in snap.passages])
    assert [snap.restorer().restore(q) for q in QUERIES] == [rebuilt.restore(q) for q in QUERIES]


def test_document_numbers_are_persisted_and_the_same_as_computed(compact: KnowledgeIndex) -> None:
    from assistant.text import corpus_numbers

    snap = _fresh(compact).snapshot()
    computed = corpus_numbers((str(d.get("number", "")) for d in snap.documents.values()),
                              ((p.text, p.amended_by) for p in snap.passages))
    assert computed and snap.passage_file is not None and snap.passage_file.numbers() == computed
    assert snap.corpus_numbers() == computed
    # a folder written before the numbers were: the first worker computes them and adds them to it
    numbers = compact.passages_path(snap.generation) / "numbers.json"
    numbers.unlink()
    again = _fresh(compact).snapshot()
    assert again.corpus_numbers() == computed and numbers.exists()
    assert _fresh(compact).snapshot().passage_file.numbers() == computed  # type: ignore[union-attr]
