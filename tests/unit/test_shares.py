"""Shared answers (``assistant.shares``): only the server's own answers, bounded, expiring, unguessable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.shares import ID_RE, ShareStore

ANSWER = {"question": "Ban bầu cử cấp xã có bao nhiêu thành viên?", "query": "", "refused": False, "as_of": "2026-12-07",
          "answer": "Ban bầu cử cấp xã có từ 9 đến 15 thành viên. [1]",
          "citations": [{"n": 1, "passage_id": "luat::d24", "quote": "từ 9 đến 15 thành viên", "label": "Điều 24"}]}


def store(tmp_path: Path, **kw: int) -> ShareStore:
    return ShareStore(tmp_path / "shares.sqlite3", tmp_path / "share.key", ttl_days=kw.get("ttl", 90),
                      max_count=kw.get("max_count", 100))


def test_only_the_signed_answer_unchanged_verifies(tmp_path: Path) -> None:
    s = store(tmp_path)
    token = s.sign(ANSWER)
    assert s.verify(ANSWER, token)
    assert store(tmp_path).verify(ANSWER, token)  # another worker, same data dir, same key
    assert not s.verify({**ANSWER, "answer": ANSWER["answer"].replace("15", "25")}, token)
    cites = [{**ANSWER["citations"][0], "quote": "từ 9 đến 25 thành viên"}]
    assert not s.verify({**ANSWER, "citations": cites}, token)
    assert not s.verify(ANSWER, "0" * 64)
    assert not s.verify({**ANSWER, "answer": "\ud800"}, token)  # a lone surrogate: refused, not a 500
    assert not ShareStore(tmp_path / "other.sqlite3", tmp_path / "other.key", ttl_days=1, max_count=10).verify(ANSWER, token)


def test_snapshots_expire_are_bounded_and_have_random_ids(tmp_path: Path) -> None:
    s = store(tmp_path, ttl=1, max_count=3)
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    ids = [s.add(ANSWER, now=t0 + timedelta(minutes=i))[0] for i in range(5)]
    assert len(set(ids)) == 5 and all(ID_RE.match(i) for i in ids)
    assert s.count() == 3  # the oldest two went first
    assert s.get(ids[0], now=t0) is None and s.get(ids[4], now=t0)["answer"] == ANSWER["answer"]
    assert s.get(ids[4], now=t0 + timedelta(days=2)) is None  # expired
    assert s.get("../../etc/passwd", now=t0) is None and s.get("", now=t0) is None
