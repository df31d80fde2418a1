"""User feedback (thumbs up/down) in SQLite in the data dir, exported as CSV for source curators."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


class FeedbackStore:
    """One connection per call: SQLite handles concurrent writers from several workers with its own lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
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
        return conn

    def add(self, question: str, answer: str, rating: str, comment: str = "", *, replaces: int | None = None,
            **extra: Any) -> int:
        """Store one rating; ``extra`` holds EXTRA_COLUMNS (lists/dicts as JSON). With ``replaces`` the user
        changes their earlier rating of the same question (same row), so a changed 👍→👎 is not counted twice."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {k: _cell(extra.get(k)) for k in EXTRA_COLUMNS if k != "updated_at"}
        conn = self._connect()
        try:
            if replaces is not None:
                sets = ", ".join(f"{k} = ?" for k in values)
                cur = conn.execute(
                    f"UPDATE feedback SET answer = ?, rating = ?, comment = ?, {sets}, updated_at = ? "
                    "WHERE id = ? AND question = ?",
                    (answer, rating, comment, *values.values(), now, replaces, question),
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
        finally:
            conn.close()

    def rows(self) -> list[tuple]:
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
            # a cell starting with = + - @ would run as a formula in a spreadsheet: neutralise it
            writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] and v[:1] in "=+-@" else v for v in row])
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
