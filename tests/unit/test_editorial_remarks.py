"""A curator's to-do ("bản OCR ghi 0,40, cần đối chiếu") is editorial: it never reaches a reader.

Such remarks live in ``> Ghi chú biên soạn:`` blocks, which the loader keeps out of the text that is
indexed, quoted and shown in the citation panel; a legal fact (even a disputed figure) stays in the text.
"""

from __future__ import annotations

import re

import pytest

from assistant.ingest.documents import iter_documents
from assistant.models import Document
from assistant.text import fold
from tests.support import KNOWLEDGE

# what a curator writes for curators: checks still to do, mismatches with a scan, own-copy notes
CURATOR_TODO = re.compile(r"\b(can doi chieu|chua doi chieu nguyen van|can kiem tra lai)\b")


def _documents() -> list[Document]:
    docs, errors = iter_documents([KNOWLEDGE])
    assert not errors
    return docs


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: d.id)
def test_no_curator_todo_in_what_readers_see(doc: Document) -> None:
    hits = [m.group(0) for m in CURATOR_TODO.finditer(fold(doc.text))]
    assert hits == [], f"{doc.path}: move {hits} into a '> Ghi chú biên soạn:' block"


def test_the_moved_remarks_are_kept_for_curators() -> None:
    editorial = " ".join(n for d in _documents() for n in d.editorial)
    assert "0,40" in editorial and "2,34" in editorial
    ocr = next(d for d in _documents() if d.id == "nghi-dinh-204-2004-nd-cp")
    assert "0,40" in ocr.text  # the scan's differing figure is a fact about the sources: it stays for readers
