"""Uploaded documents on disk (``<uploads>/<doc id>/``), changed only together with the index, crash-safe.

An upload, a replacement or a deletion moves folders, then ingests; both sides must end up agreeing even when
the process is killed half-way, and nothing a later ingest could pick up may exist before the change holds the
ingest lock (a change refused as busy leaves nothing behind). So each change

1. runs while holding the ingest lock (``KnowledgeIndex.writing``), the file already staged in a hidden
   folder of the uploads root (hidden folders are never ingested);
2. writes a journal ``.pending-<id>.json`` before it moves anything, keeps the previous folder as
   ``.old-<id>`` (replace) or ``.deleted-<id>`` (delete), then ingests;
3. removes the journal once the index has switched: that is the commit; the old folder goes after.

Whoever takes the ingest lock next (an upload, ``/admin/reindex``, ``kiemnhiem ingest``, the server starting)
first calls :func:`recover`: a journal still there means a change was interrupted and never acknowledged, so
its folders are put back as they were and the ingest that follows makes the index agree with them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.errors import KiemnhiemError

log = logging.getLogger(__name__)

JOURNAL_PREFIX = ".pending-"
_SPARE_PREFIXES = (".old-", ".deleted-")  # previous versions: hidden, never ingested
STAGING_PREFIX = ".upload-"
STALE_STAGING_SECONDS = 24 * 3600  # a staging folder this old belongs to no upload still running


class UploadNotFoundError(KiemnhiemError):
    code = "upload_not_found"


class NoPassagesError(KiemnhiemError):
    code = "no_passages"


def _journal(root: Path, doc_id: str) -> Path:
    return root / f"{JOURNAL_PREFIX}{doc_id}.json"


def _write_journal(root: Path, doc_id: str, action: str) -> None:
    """Written whole (temporary file, fsync, rename) before any folder moves: a half-written one is never read."""
    path = _journal(root, doc_id)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"id": doc_id, "action": action, "started": datetime.now(UTC).isoformat(timespec="seconds")}, f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _sync_dir(root)


def _sync_dir(path: Path) -> None:
    """Make the renames in ``path`` durable (a crash after it cannot bring back the old names)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pending(root: Path) -> list[str]:
    """Ids of changes that were interrupted (their journal is still there)."""
    if not root.is_dir():
        return []
    return sorted(p.name[len(JOURNAL_PREFIX):-len(".json")] for p in root.glob(f"{JOURNAL_PREFIX}*.json"))


def _roll_back(root: Path, doc_id: str, action: str) -> None:
    target, old, deleted = root / doc_id, root / f".old-{doc_id}", root / f".deleted-{doc_id}"
    if action == "delete":
        if deleted.exists():
            shutil.rmtree(target, ignore_errors=True)
            deleted.rename(target)
    elif old.exists():  # replace: the previous version comes back
        shutil.rmtree(target, ignore_errors=True)
        old.rename(target)
    elif action == "add":  # a new document: it was never acknowledged
        shutil.rmtree(target, ignore_errors=True)


def recover(root: Path) -> list[str]:
    """Put back the folders of every interrupted change and remove stray backup folders (and staging folders
    a day old); returns the ids put back. Call it holding the ingest lock, before documents are read."""
    restored = []
    for doc_id in pending(root):
        path = _journal(root, doc_id)
        try:
            action = str(json.loads(path.read_text("utf-8")).get("action", "add"))
        except (OSError, ValueError):
            action = "add"
        _roll_back(root, doc_id, action)
        path.unlink(missing_ok=True)
        restored.append(doc_id)
        log.warning("upload change of '%s' (%s) was interrupted: its folder was put back as it was", doc_id, action)
    if root.is_dir():
        now = datetime.now(UTC).timestamp()
        for spare in root.iterdir():
            stale = spare.name.startswith(STAGING_PREFIX) and now - spare.stat().st_mtime > STALE_STAGING_SECONDS
            if spare.is_dir() and (spare.name.startswith(_SPARE_PREFIXES) or stale):
                shutil.rmtree(spare, ignore_errors=True)
        for tmp in root.glob(f"{JOURNAL_PREFIX}*.tmp"):
            tmp.unlink(missing_ok=True)
        _sync_dir(root)
    return restored


def staging_dir(root: Path) -> Path:
    """A new hidden folder in the uploads root to stage a file in (same disk: moving it in is a rename)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{STAGING_PREFIX}{os.getpid()}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
    path.mkdir()
    return path


def put(index: Any, staging: Path, doc_id: str, lock_timeout: float = 5.0) -> dict[str, Any]:
    """Move ``staging`` in as ``<uploads>/<doc_id>`` (replacing what is there) and ingest; all or nothing.

    Raises ``IngestBusyError`` (nothing moved), :class:`NoPassagesError` (put back), or what ingest raised (put
    back, and the index follows the folder back)."""
    settings = index.settings
    root: Path = settings.uploads_path
    with index.writing(lock_timeout):
        target = root / doc_id
        action = "replace" if target.exists() else "add"
        _write_journal(root, doc_id, action)
        if target.exists():
            target.rename(root / f".old-{doc_id}")
        staging.rename(target)
        _sync_dir(root)
        ingested = False
        try:
            report = index.ingest(settings.ingest_paths(), lock_timeout=lock_timeout).to_json()
            ingested = True
            if doc_id not in index.snapshot(refresh=True).documents:  # loaded, but nothing indexed: not added
                raise NoPassagesError(
                    "Tài liệu không có đoạn văn nào lập chỉ mục được (chỉ có tiêu đề hoặc quá ngắn?); chưa thêm gì.",
                    "The document yields no passage to index (only a title, or too short?); nothing was added.")
        except BaseException:
            _roll_back(root, doc_id, action)
            if ingested:
                index.ingest(settings.ingest_paths(), lock_timeout=lock_timeout)  # the index follows the folder
            _journal(root, doc_id).unlink(missing_ok=True)
            raise
        _commit(root, doc_id)
        index.snapshot(refresh=True)
        return report


def remove(index: Any, doc_id: str, lock_timeout: float = 5.0) -> dict[str, Any]:
    """Delete ``<uploads>/<doc_id>`` and ingest; all or nothing. An upload still in the index whose folder is
    gone (left by an older version's race or crash) is removed from the index too."""
    settings = index.settings
    root: Path = settings.uploads_path
    with index.writing(lock_timeout):
        target = root / doc_id
        if not target.is_dir():
            known = _indexed(index, doc_id)
            report = index.ingest(settings.ingest_paths(), lock_timeout=lock_timeout).to_json() if known else {}
            if not known or _indexed(index, doc_id):  # not an upload (or not there at all)
                raise UploadNotFoundError(f"Không có tài liệu tải lên mã '{doc_id}'.",
                                          f"No uploaded document '{doc_id}'.")
            return report
        _write_journal(root, doc_id, "delete")
        target.rename(root / f".deleted-{doc_id}")
        _sync_dir(root)
        try:
            report = index.ingest(settings.ingest_paths(), lock_timeout=lock_timeout).to_json()
        except BaseException:
            _roll_back(root, doc_id, "delete")
            _journal(root, doc_id).unlink(missing_ok=True)
            raise
        _commit(root, doc_id)
        index.snapshot(refresh=True)
        return report


def reindex(index: Any, lock_timeout: float = 0.5) -> dict[str, Any]:
    """``/admin/reindex``: every default source again (interrupted upload changes put back first)."""
    with index.writing(lock_timeout):
        report: dict[str, Any] = index.ingest(index.settings.ingest_paths(), lock_timeout=lock_timeout).to_json()
    index.snapshot(refresh=True)
    return report


def _indexed(index: Any, doc_id: str) -> bool:
    try:
        return doc_id in index.snapshot(refresh=True).documents
    except KiemnhiemError:  # no index yet
        return False


def _commit(root: Path, doc_id: str) -> None:
    """The index has switched: the journal goes first (the commit), then the previous version."""
    _journal(root, doc_id).unlink(missing_ok=True)
    _sync_dir(root)
    for spare in (root / f".old-{doc_id}", root / f".deleted-{doc_id}"):
        shutil.rmtree(spare, ignore_errors=True)
