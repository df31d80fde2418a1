"""Errors as data: every library error carries ``code``, ``message_vi`` and ``message_en`` (no model needed)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from assistant.errors import KiemnhiemError
from assistant.evaluation import EvalSetError, fmt, load_questions
from assistant.feedback import FeedbackError
from assistant.ingest.documents import LoadError, load_document
from assistant.ingest.pipeline import IngestError
from assistant.search.store import ModelMismatchError, StoreUnavailableError


def test_load_error_keeps_both_messages_and_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "x.md"
    bad.write_text("---\nid: x\nkind: nope\n---\n# X\n", "utf-8")
    with pytest.raises(LoadError) as info:
        load_document(bad)
    err = info.value
    assert isinstance(err, KiemnhiemError) and err.code == "invalid_document" and err.line == 3
    assert "không hợp lệ" in err.message_vi and " / " not in err.message_vi
    assert "invalid" in err.message_en and "không" not in err.message_en
    assert err.text_vi() == f"{bad}:3: {err.message_vi}"
    assert str(err) == f"{bad}:3: {err.message_vi} / {err.message_en}"  # the historical form, for logs
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.line, again.message_vi, again.message_en, str(again)) == (
        err.path, err.line, err.message_vi, err.message_en, str(err))


def test_index_and_feedback_errors_are_data() -> None:
    inner = LoadError("a.md", "trống", 2, en="empty")
    err = IngestError("1 tệp lỗi", "1 file failed", [inner])
    assert err.to_json() == {"code": "ingest_failed", "message": "1 tệp lỗi", "message_en": "1 file failed"}
    assert pickle.loads(pickle.dumps(err)).errors[0].text_en() == "a.md:2: empty"
    assert ModelMismatchError("vi").code == "index_model_mismatch"
    assert StoreUnavailableError("vi", "en").message_en == "en"
    codes = {kind: FeedbackError(kind, "detail").code for kind in ("full", "disk_full", "unavailable", "other")}
    assert codes == {"full": "feedback_full", "disk_full": "storage_full", "unavailable": "feedback_unavailable",
                     "other": "feedback_unavailable"}
    full = FeedbackError("full", "database or disk is full")
    assert full.message_vi.startswith("Kho phản hồi") and full.message_en.startswith("The feedback store")


def test_question_set_error_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "a", "question": "x", "answerable": false}\n{oops\n', "utf-8")
    with pytest.raises(EvalSetError) as info:
        load_questions(bad)
    assert info.value.code == "invalid_question_set"
    assert info.value.message_vi.startswith(f"{bad}:2: dòng không phải JSON hợp lệ")
    assert info.value.message_en.startswith(f"{bad}:2: invalid JSON")


def test_one_number_formatter() -> None:
    assert fmt(None) == "–" and fmt(0.12345) == "0.123" and fmt(3) == "3"
    assert fmt(1234.5, 1, thousands=True) == "1,234.5" and fmt(1234.5, 1) == "1234.5"
