"""Shared answers: a snapshot of one answer (question, answer, citations with their quotes, date) that a
link shows exactly as it was, however the index changes later.

Why a snapshot and not the question: re-asking later answers from whatever index exists then, and a
follow-up asked alone means something else. Why signed: anyone can POST, so the server only stores what
it answered itself (``sign`` is returned with every answer; ``verify`` checks it), never a forged "answer"
under this site's name. Bounded three ways: each snapshot's size, the number kept (oldest first out) and
an expiry; ids are 128-bit random, so a link cannot be guessed from another, and a snapshot holds only
the one exchange that was shared, nothing else of its conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.errors import KiemnhiemError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    body TEXT NOT NULL
)
"""
ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16)
# what the signature covers: everything a reader takes as the server's words
SIGNED = ("question", "query", "answer", "refused", "as_of")
SIGNED_CITATION = ("n", "passage_id", "quote", "label")


class ShareError(KiemnhiemError):
    """A snapshot could not be stored (the data dir is read-only or the disk is full)."""

    code = "share_unavailable"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__("Tạm thời không tạo được liên kết chia sẻ.", "Sharing is unavailable right now.")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The signed part of an answer, in one byte form (key order and spacing fixed)."""
    cites = [{k: c.get(k) for k in SIGNED_CITATION} for c in fields.get("citations") or []]
    body = {**{k: fields.get(k) for k in SIGNED}, "citations": cites}
    # ASCII escapes: a lone surrogate in what a client sends is just another string, never an encoding error
    return json.dumps(body, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode("ascii")


class ShareStore:
    """SQLite in the data dir (one connection per call, like the feedback store) plus the signing key."""

    def __init__(self, path: Path, key_path: Path, *, ttl_days: int, max_count: int) -> None:
        self.path = path
        self.key_path = key_path
        self.ttl = timedelta(days=ttl_days)
        self.max_count = max_count
        self._lock = threading.Lock()
        self._key: bytes | None = None

    # --- signing -------------------------------------------------------------------------------
    def _secret(self) -> bytes:
        """A random key created once per data dir (shared by every worker), never sent anywhere."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._load_or_create_key()
        return self._key

    def _load_or_create_key(self) -> bytes:
        try:
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = self.key_path.read_bytes()
            if len(key) >= 32:
                return key
            raise ShareError(f"{self.key_path}: damaged key") from None
        except OSError:
            # read-only data dir: answers carry no token, and sharing answers 503
            return b""
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key

    def sign(self, fields: Mapping[str, Any]) -> str:
        """The token that proves an answer came from this server ("" when sharing is unavailable)."""
        key = self._secret()
        return hmac.new(key, canonical(fields), hashlib.sha256).hexdigest() if key else ""

    def verify(self, fields: Mapping[str, Any], token: str) -> bool:
        expected = self.sign(fields)
        # compared as bytes: compare_digest refuses str with non-ASCII characters (a 500 on a forged token)
        return bool(expected) and hmac.compare_digest(expected.encode("ascii"),
                                                      token.encode("utf-8", "surrogatepass"))

    # --- storage -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(_SCHEMA)
        return conn

    def add(self, snapshot: Mapping[str, Any], now: datetime | None = None) -> tuple[str, datetime]:
        """Store ``snapshot``; returns its id and expiry. Expired snapshots go first, then the oldest."""
        now = now or datetime.now(UTC)
        sid = secrets.token_urlsafe(16)
        expires = now + self.ttl
        body = json.dumps(dict(snapshot), ensure_ascii=True)
        try:
            with self._lock, closing(self._connect()) as conn, conn:
                conn.execute("DELETE FROM shares WHERE expires_at <= ?", (now.isoformat(),))
                (count,) = conn.execute("SELECT COUNT(*) FROM shares").fetchone()
                if count >= self.max_count:
                    conn.execute("DELETE FROM shares WHERE id IN (SELECT id FROM shares ORDER BY created_at "
                                 "LIMIT ?)", (count - self.max_count + 1,))
                conn.execute("INSERT INTO shares (id, created_at, expires_at, body) VALUES (?, ?, ?, ?)",
                             (sid, now.isoformat(), expires.isoformat(), body))
        except sqlite3.Error as exc:
            raise ShareError(str(exc)) from exc
        return sid, expires

    def get(self, sid: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The snapshot with its dates, or None when the id is unknown, malformed or expired."""
        if not ID_RE.match(sid) or not self.path.exists():
            return None
        now = now or datetime.now(UTC)
        try:
            with closing(self._connect()) as conn:
                row = conn.execute("SELECT created_at, expires_at, body FROM shares WHERE id = ?", (sid,)).fetchone()
        except sqlite3.Error as exc:
            raise ShareError(str(exc)) from exc
        if row is None or row[1] <= now.isoformat():
            return None
        data: dict[str, Any] = json.loads(row[2])
        return {**data, "created": row[0], "expires": row[1]}

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with closing(self._connect()) as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM shares").fetchone()
        return int(n)
