"""``assistant.ingest.uploads.recover``: the folders of an upload change that was interrupted (kill -9, power
loss) are put back as they were before it, whatever step it had reached; the e2e test kills a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ingest.uploads import pending, recover


def folder(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / f"{path.name.removeprefix('.old-').removeprefix('.deleted-')}.md").write_text(text, "utf-8")
    return path


def journal(root: Path, doc_id: str, action: str) -> None:
    (root / f".pending-{doc_id}.json").write_text(json.dumps({"id": doc_id, "action": action}), "utf-8")


def texts(root: Path) -> dict[str, str]:
    return {p.name: next(p.iterdir()).read_text("utf-8") for p in sorted(root.iterdir()) if p.is_dir()}


@pytest.mark.parametrize("step", ["journal written", "old moved aside", "new moved in"])
def test_an_interrupted_replace_puts_the_previous_version_back(tmp_path: Path, step: str) -> None:
    root = tmp_path / "uploads"
    folder(root / "ghi-chu", "cũ")
    journal(root, "ghi-chu", "replace")
    if step != "journal written":
        (root / "ghi-chu").rename(root / ".old-ghi-chu")
    if step == "new moved in":
        folder(root / "ghi-chu", "mới")
    assert pending(root) == ["ghi-chu"]
    assert recover(root) == ["ghi-chu"]
    assert texts(root) == {"ghi-chu": "cũ"} and not pending(root)


def test_an_interrupted_add_leaves_nothing_and_a_delete_comes_back(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    folder(root / "moi", "mới")
    journal(root, "moi", "add")
    folder(root / ".deleted-xoa", "giữ")
    journal(root, "xoa", "delete")
    folder(root / "khac", "không liên quan")
    assert recover(root) == ["moi", "xoa"]
    assert texts(root) == {"khac": "không liên quan", "xoa": "giữ"}


def test_a_committed_change_only_loses_its_leftover_backup(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    folder(root / "ghi-chu", "mới")
    folder(root / ".old-ghi-chu", "cũ")  # killed after the commit (journal gone), before the backup was removed
    folder(root / ".upload-123-456", "đang tải")  # another upload's staging folder: not ours to remove
    assert recover(root) == []
    assert texts(root) == {".upload-123-456": "đang tải", "ghi-chu": "mới"}
