"""Whole answers kept per worker (``KIEMNHIEM_ANSWER_CACHE``, issue #27): exact, bounded, per generation."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from assistant.answering.cache import AnswerCache, answer_key
from assistant.answering.chain import Assistant
from assistant.config import Settings
from assistant.tools.loadtest import gold_requests


def _body(result: Any) -> str:
    out = result.to_json()
    out.pop("timings_ms")
    return json.dumps(out, ensure_ascii=False)


def test_kept_answers_are_the_same_bytes_as_answering_again(fake_settings: Settings, fake_index: Any) -> None:
    """The gold set's first 60 requests (with their history): answered by a worker without the cache, and by
    one with it twice (the second time from the cache): the same JSON, ``timings_ms`` aside."""
    plain = Assistant(fake_settings.model_copy(update={"answer_cache": 0}), index=fake_index)
    cached = Assistant(fake_settings, index=fake_index)
    requests = gold_requests()[:60]
    want = [_body(plain.ask(r["question"], history=r["history"])) for r in requests]
    first = [_body(cached.ask(r["question"], history=r["history"])) for r in requests]
    hits = cached.answers.hits
    again = [cached.ask(r["question"], history=r["history"]) for r in requests]
    assert cached.answers.hits - hits == len(requests), "the second pass is answered from the cache"
    assert first == want and [_body(a) for a in again] == want
    # what a caller does to its answer does not change the kept one
    again[0].citations.clear()
    again[0].passages.clear()
    assert _body(cached.ask(requests[0]["question"], history=requests[0]["history"])) == want[0]
    assert plain.answers.stats()["entries"] == 0, "0 turns the cache off"


def test_everything_that_decides_the_answer_is_in_the_key() -> None:
    base = answer_key("Trưởng thôn có được kiêm nhiệm không?", [], None, None, "extractive", None, date(2026, 12, 7))
    others = [
        answer_key("Trưởng thôn có được kiêm nhiệm không ?", [], None, None, "extractive", None, date(2026, 12, 7)),
        answer_key("Trưởng thôn có được kiêm nhiệm không?", [{"role": "user", "content": "x"}], None, None,
                   "extractive", None, date(2026, 12, 7)),
        answer_key("Trưởng thôn có được kiêm nhiệm không?", [], 3, None, "extractive", None, date(2026, 12, 7)),
        answer_key("Trưởng thôn có được kiêm nhiệm không?", [], None, {"doc_id": ["a"]}, "extractive", None,
                   date(2026, 12, 7)),
        answer_key("Trưởng thôn có được kiêm nhiệm không?", [], None, None, "extractive", date(2020, 1, 1),
                   date(2026, 12, 7)),
        answer_key("Trưởng thôn có được kiêm nhiệm không?", [], None, None, "extractive", None, date(2026, 12, 8)),
    ]
    assert len({base, *others}) == len(others) + 1
    assert answer_key("q", [], None, {"a": 1, "b": 2}, "extractive", None, date(2026, 1, 1)) == \
        answer_key("q", [], None, {"b": 2, "a": 1}, "extractive", None, date(2026, 1, 1))


def test_the_cache_is_bounded_and_emptied_by_a_new_generation() -> None:
    cache = AnswerCache(2)
    for k in ("a", "b", "c"):
        assert cache.get(1, k) is None
        cache.put(1, k, {"k": k})
    assert cache.stats()["entries"] == 2 and cache.get(1, "a") is None, "least recently used out first"
    assert cache.get(1, "c") == {"k": "c"}
    assert cache.get(2, "c") is None and cache.stats()["entries"] == 0, "a new generation starts empty"
    cache.put(1, "late", {"k": "late"})  # made on the old generation after the swap: not kept
    assert cache.stats()["entries"] == 0


def test_a_new_generation_is_answered_afresh(fake_settings: Settings, fake_index: Any) -> None:
    cached = Assistant(fake_settings, index=fake_index)
    q = "Ban bầu cử cấp xã có bao nhiêu thành viên?"
    cached.ask(q)
    gen = fake_index.snapshot().generation
    assert cached.answers.get(gen, answer_key(q, [], None, None, "extractive", None, date.today())) is not None
    assert cached.answers.get(gen + 1, answer_key(q, [], None, None, "extractive", None, date.today())) is None
    assert cached.answers.stats()["entries"] == 0
