"""Unit tier for ``assistant.ingest.plan.plan``: no model, no Chroma, a counting fake chunker."""

from __future__ import annotations

from dataclasses import replace

from assistant.ingest.plan import Stored, document_hash, passage_records, plan, stored_from_rows
from assistant.models import Document, Passage


def _doc(doc_id: str, body: str, **kw: object) -> Document:
    return Document(id=doc_id, title=f"Tài liệu {doc_id}", text=body, path=f"/x/{doc_id}.md", **kw)  # type: ignore[arg-type]


class FakeChunker:
    """One passage per blank-line-separated block; counts which documents it was asked to chunk."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, d: Document) -> list[Passage]:
        self.calls.append(d.id)
        out = []
        for i, block in enumerate(b for b in d.text.split("\n\n") if b.strip()):
            text = f"Mục {i + 1}\n{block.strip()}"
            out.append(Passage(id=f"{d.id}::m{i + 1}", doc_id=d.id, title=d.title, section=f"Mục {i + 1}",
                               heading=f"Mục {i + 1}", label=f"Mục {i + 1}, {d.title}", text=text, start=0,
                               end=len(block), status=d.status, ordinal=i))
        return out


DOCS = [
    _doc("a", "Cán bộ cấp xã được kiêm nhiệm chức danh khác.\n\nMức phụ cấp kiêm nhiệm bằng 50% mức lương."),
    _doc("b", "Người ứng cử không được làm thành viên Tổ bầu cử. Việc này áp dụng ở mọi đơn vị bầu cử."),
]


def _store(p: object) -> Stored:
    """What Chroma would hold after writing plan ``p`` (metadata and stored documents of every row)."""
    rows = [(r.meta, r.document) for r in p.records]  # type: ignore[attr-defined]
    return stored_from_rows([m for m, _ in rows], [d for _, d in rows])


def test_first_ingest_embeds_everything_once() -> None:
    chunk = FakeChunker()
    p = plan(DOCS, Stored(), chunk)
    assert chunk.calls == ["a", "b"]
    assert p.added == len(p.passages) == 3 and p.updated == p.removed == p.unchanged == 0 and p.changed
    assert sorted({r.variant for r in p.records}) == ["fold", "orig", "sent"]
    assert len(p.missing) == len(p.records)
    assert len(p.embed_keys) == len({r.key for r in p.records})
    assert p.embedded_passages == 3
    # passage metadata is Passage.to_metadata() plus bookkeeping: new scalar fields flow through
    orig = next(r for r in p.records if r.variant == "orig")
    assert {"passage_id", "doc_hash", "variant", "text_hash"} | set(p.passages[0].to_metadata()) == set(orig.meta)


def test_unchanged_documents_are_not_rechunked_nor_embedded() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    chunk = FakeChunker()
    again = plan(DOCS, _store(first), chunk)
    assert chunk.calls == []  # no tokenizer, no model: the stored passages are reused
    assert not again.changed and again.missing == [] and again.unchanged == 3
    assert [p.id for p in again.passages] == [p.id for p in first.passages]
    assert [p.hash for p in again.passages] == [p.hash for p in first.passages]


def test_moved_folder_is_not_a_change() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    moved = [replace(d, path=f"/elsewhere/{d.id}.md", body_line=7) for d in DOCS]
    assert not plan(moved, _store(first), FakeChunker()).changed


def test_edit_rechunks_only_that_document_and_embeds_only_new_text() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    edited = [_doc("a", DOCS[0].text.replace("50%", "40%")), DOCS[1]]
    chunk = FakeChunker()
    p = plan(edited, _store(first), chunk)
    assert chunk.calls == ["a"]
    assert p.updated == 1 and p.unchanged == 2 and p.added == p.removed == 0
    # only the edited passage's orig, fold and edited sentence are new; "Mục 1" of doc a is reused
    new = {p.records[i].record_id for i in p.missing}
    assert new == {"a::m2", "a::m2#fold", "a::m2#s0"}
    assert p.embedded_passages == 1


def test_metadata_only_change_rewrites_without_embedding() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    changed = [_doc("a", DOCS[0].text, status="het-hieu-luc"), DOCS[1]]
    p = plan(changed, _store(first), FakeChunker())
    assert p.updated == 2 and p.changed  # the status is shown with every passage of doc a
    assert p.missing == []  # texts are the same: every vector is reused


def test_removed_document_and_chunker_change() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    p = plan(DOCS[:1], _store(first), FakeChunker())
    assert p.removed == 1 and p.changed and p.missing == []
    # a new chunker (other salt) re-chunks everything, but identical passages keep their vectors
    chunk = FakeChunker()
    salted = plan(DOCS, _store(first), chunk, salt="chunker v2")
    assert chunk.calls == ["a", "b"] and salted.changed and salted.missing == []
    assert salted.added == salted.updated == salted.removed == 0


def test_rechunk_and_variants() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    chunk = FakeChunker()
    plan(DOCS, _store(first), chunk, rechunk=True)
    assert chunk.calls == ["a", "b"]
    lean = plan(DOCS, Stored(), FakeChunker(), fold_vectors=False, sentence_vectors=False)
    assert {r.variant for r in lean.records} == {"orig"} and len(lean.records) == 3


def test_index_without_document_hashes_is_upgraded() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    rows = [({k: v for k, v in r.meta.items() if k != "doc_hash"}, r.document) for r in first.records]
    old = stored_from_rows([m for m, _ in rows], [d for _, d in rows])
    chunk = FakeChunker()
    p = plan(DOCS, old, chunk)
    assert chunk.calls == ["a", "b"] and p.changed and p.missing == [] and p.unchanged == 3


def test_document_hash_covers_text_and_metadata() -> None:
    d = DOCS[0]
    assert document_hash(d) == document_hash(replace(d, path="/other"))
    assert document_hash(d) != document_hash(replace(d, text=d.text + " "))
    assert document_hash(d) != document_hash(replace(d, number="1/2020/NĐ-CP"))
    assert document_hash(d, "x") != document_hash(d, "y")


def test_shared_text_is_embedded_once() -> None:
    twin = _doc("c", DOCS[1].text)  # same body as "b": same sentence texts
    p = plan([DOCS[1], twin], Stored(), FakeChunker())
    sent_keys = [p.records[i].key for i in p.missing if p.records[i].variant == "sent"]
    assert len(sent_keys) == 2 * len(set(sent_keys))
    assert len(p.embed_keys) < len(p.missing)
    assert all(r.meta["passage_id"] for r in passage_records(p.passages[0], "h"))


def test_late_sentences_are_keyed_by_passage_and_span() -> None:
    twin = _doc("c", DOCS[1].text)
    p = plan([DOCS[1], twin], Stored(), FakeChunker(), late_sentences=True)
    sents = [r for r in p.records if r.variant == "sent"]
    assert sents and all(r.span is not None for r in sents)
    for r in sents:
        a, b = r.span  # type: ignore[misc]
        passage = next(q for q in p.passages if q.id == r.meta["passage_id"])
        assert r.embed_text == passage.text and r.document == passage.text[a:b]
    # the same sentence in two passages with the same text shares the vector; switching the mode
    # re-embeds sentences but keeps the passage vectors
    assert len({r.key for r in sents}) == len(sents) // 2
    alone = plan([DOCS[1], twin], _store(p), FakeChunker(), late_sentences=False)
    assert {alone.records[i].variant for i in alone.missing} == {"sent"} and alone.changed


def test_dropping_a_vector_kind_is_a_change_without_embedding() -> None:
    first = plan(DOCS, Stored(), FakeChunker())
    lean = plan(DOCS, _store(first), FakeChunker(), fold_vectors=False)
    assert lean.changed and lean.vectors_changed and lean.missing == [] and lean.unchanged == 3
    assert not plan(DOCS, _store(first), FakeChunker()).vectors_changed
