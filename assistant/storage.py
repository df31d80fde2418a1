"""The disk under the data dir: is there room for a new index generation, and was a failure a full disk?

A generation is a complete copy of the store (see ``assistant/search/store.py``), so an ingest that starts on a
nearly full disk fails half-way inside Chroma — and on the embedded store a write that hit ENOSPC leaves
its SQLite/segment files in a state the next write, once space is back, can stall on. Checking the free
space *before* anything is written keeps the store untouched, and a failure that still comes from a full
disk is named as such (``storage_full``, 507 over HTTP) instead of a generic 500 or a traceback.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from assistant.errors import KiemnhiemError

# room an ingest keeps free beyond the new generation itself (SQLite journal, BM25 file, state file)
MIN_FREE_BYTES = 32 * 1024 * 1024
_DISK_FULL_TEXT = ("no space left", "disk is full", "database or disk is full", "disk quota", "enospc")


class StorageFullError(KiemnhiemError):
    code = "storage_full"


def tree_bytes(path: Path) -> int:
    """Bytes of every file under ``path`` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_room(path: Path, needed: int) -> None:
    """Raise :class:`StorageFullError` unless the disk holding ``path`` has ``needed`` bytes free."""
    free = shutil.disk_usage(existing_parent(path)).free
    if free < needed:
        raise StorageFullError(
            f"Ổ đĩa chứa {path} chỉ còn {free / 2**20:.0f} MiB trống, cần {needed / 2**20:.0f} MiB để lập chỉ mục "
            "mới; chỉ mục hiện tại không thay đổi. Hãy giải phóng dung lượng rồi nạp lại.",
            f"The disk holding {path} has {free / 2**20:.0f} MiB free, {needed / 2**20:.0f} MiB are needed for a "
            "new index generation; the current index is unchanged. Free some space and reindex.")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk or quota: ENOSPC/EDQUOT, or SQLite/Chroma's text."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(t in str(cur).lower() for t in _DISK_FULL_TEXT):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def disk_full_error(where: Path, exc: BaseException) -> StorageFullError:
    return StorageFullError(f"Ổ đĩa chứa {where} đã đầy ({type(exc).__name__}); chỉ mục hiện tại không thay đổi. "
                            "Hãy giải phóng dung lượng rồi nạp lại.",
                            f"The disk holding {where} is full ({type(exc).__name__}); the current index is "
                            "unchanged. Free some space and reindex.")
