"""User feedback (thumbs up/down) in SQLite in the data dir, exported as CSV for source curators."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

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
COLUMNS = ("id", "created_at", "rating", "question", "answer", "comment")


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
                conn.commit()
                self._ready = True
        return conn

    def add(self, question: str, answer: str, rating: str, comment: str = "") -> int:
        conn = self._connect()
        try:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, question, answer, rating, comment) VALUES (?, ?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(timespec="seconds"), question, answer, rating, comment),
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
            writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
        return buf.getvalue()
