"""User feedback (thumbs up/down) in SQLite in the data dir, exported as CSV for source curators."""

from __future__ import annotations

import csv
import errno
import io
import json
import sqlite3
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from assistant.errors import KiemnhiemError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT ''
)
"""
# added after the first release: an existing DB gets them with ALTER TABLE (see _migrate)
EXTRA_COLUMNS = ("reason", "citations", "answered_by", "as_of", "conversation", "conversation_id", "updated_at")
COLUMNS = ("id", "created_at", "rating", "question", "answer", "comment", *EXTRA_COLUMNS)
# a cell starting with one of these runs as a formula in a spreadsheet (OWASP CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class FeedbackError(KiemnhiemError):
    """Feedback could not be stored; ``kind`` says why: ``full`` (the size cap), ``disk_full``, ``unavailable``.

    ``code`` and the messages follow from the kind; ``detail`` is the underlying error, for logs only.
    """

    _BY_KIND: ClassVar[dict[str, tuple[str, str, str]]] = {
        "full": ("feedback_full", "Kho phản hồi đã đầy; quản trị viên cần xuất và dọn dữ liệu.",
                 "The feedback store is full; an operator must export and clear it."),
        "disk_full": ("storage_full", "Ổ đĩa máy chủ đã đầy; chưa lưu được phản hồi.",
                      "The server's disk is full; the feedback was not stored."),
        "unavailable": ("feedback_unavailable", "Tạm thời không lưu được phản hồi (dữ liệu chỉ đọc).",
                        "Feedback cannot be stored right now (read-only data)."),
    }

    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail
        self.code, vi, en = self._BY_KIND.get(kind, self._BY_KIND["unavailable"])
        super().__init__(vi, en)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class FeedbackStore:
    """One connection per call: SQLite handles concurrent writers from several workers with its own lock.

    ``max_bytes`` caps the database: SQLite itself refuses to grow past it (``max_page_count``), so the
    cap holds across worker processes without counting anything in Python.
    """

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._init = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10.0)
        if not self._ready:
            with self._init:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
                _migrate(conn)
                conn.commit()
                self._ready = True
        if self.max_bytes:
            page = int(conn.execute("PRAGMA page_size").fetchone()[0])
            conn.execute(f"PRAGMA max_page_count={max(8, self.max_bytes // page)}")
        return conn

    def _failure(self, exc: Exception) -> FeedbackError:
        """Map an SQLite/OS error to why feedback cannot be stored (the API turns each into a clear 5xx/4xx)."""
        code = getattr(exc, "sqlite_errorname", "") or ""
        if code == "SQLITE_FULL" or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)):
            if self.max_bytes and self.size_bytes() >= self.max_bytes * 0.9:
                return FeedbackError("full", str(exc))
            return FeedbackError("disk_full", str(exc))
        if code in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM") or isinstance(exc, PermissionError) or (
                isinstance(exc, OSError) and exc.errno == errno.EROFS):
            return FeedbackError("unavailable", str(exc))
        return FeedbackError("unavailable", f"{type(exc).__name__}: {exc}")

    def size_bytes(self) -> int:
        """The database on disk, its write-ahead log included (pages live there until a checkpoint)."""
        total = 0
        for p in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                total += p.stat().st_size
            except OSError:
                pass
        return total

    def add(self, question: str, answer: str, rating: str, comment: str = "", *, replaces: int | None = None,
            **extra: Any) -> int:
        """Store one rating; ``extra`` holds EXTRA_COLUMNS (lists/dicts as JSON). With ``replaces`` the user
        changes their earlier rating of the same question (same row), so a changed 👍→👎 is not counted twice."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {k: _cell(extra.get(k)) for k in EXTRA_COLUMNS if k != "updated_at"}
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise self._failure(exc) from exc
        try:
            if replaces is not None:
                sets = ", ".join(f"{k} = ?" for k in values)
                cur = conn.execute(
                    f"UPDATE feedback SET answer = ?, rating = ?, comment = ?, {sets}, updated_at = ? "
                    # only the conversation that wrote the row may change it: ids are sequential, anyone can
                    # guess one, but not the browser's random conversation id (else it is a new rating)
                    "WHERE id = ? AND question = ? AND conversation_id = ? AND conversation_id != ''",
                    (answer, rating, comment, *values.values(), now, replaces, question, values["conversation_id"]),
                )
                if cur.rowcount:
                    conn.commit()
                    return replaces
            cols = ", ".join(values)
            cur = conn.execute(
                f"INSERT INTO feedback (created_at, question, answer, rating, comment, {cols}) "
                f"VALUES (?, ?, ?, ?, ?{', ?' * len(values)})",
                (now, question, answer, rating, comment, *values.values()),
            )
            conn.commit()
            return int(cur.lastrowid or 0)
        except (sqlite3.Error, OSError) as exc:
            raise self._failure(exc) from exc
        finally:
            conn.close()

    def rows(self) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            return list(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id"))
        finally:
            conn.close()

    def export_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(COLUMNS)
        for row in self.rows():
            writer.writerow([csv_cell(v) for v in row])
        return buf.getvalue()


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns a feedback DB from an older version lacks (never drops or rewrites rows)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
    for col in EXTRA_COLUMNS:
        if col not in have:
            conn.execute(f"ALTER TABLE feedback ADD COLUMN {col} TEXT NOT NULL DEFAULT ''")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


def csv_cell(value: object) -> object:
    """A value as a safe spreadsheet cell: formulas neutralised with a leading quote, empty stays empty."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a client address), in this process."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 10000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0.0 when the event is allowed (and counted), else the seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            q = self._events.get(key)
            if q is None:
                if len(self._events) >= self.max_keys:  # forget idle clients rather than grow without bound
                    for k in [k for k, v in self._events.items() if not v or v[-1] < now - self.window]:
                        del self._events[k]
                q = self._events.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.1, q[0] + self.window - now)
            q.append(now)
            return 0.0
