"""Whole answers kept per worker, keyed by everything that decides them (issue #27).

Why: a public service is asked the same questions again and again ("Trưởng thôn có được kiêm nhiệm
không?"), and an extractive answer is a pure function of the question, the conversation before it, the
request's options, the day it speaks for, today's date and the index generation, with the worker's
settings fixed. Answering one again cost ~27 ms of CPU even with the query vector cached (the rerank, the
candidate spans and the scoring run again); returning the kept answer costs a copy. The kept answer is the
very object the chain returned (deep-copied in and out, so no caller can change it), so the JSON is the
same bytes as answering again, except ``timings_ms``, which says what this request took.

Bounded (least recently used out first, ``Settings.answer_cache`` entries, 0 = off) and emptied when the
generation changes, so an ingest is seen by the next question. Only the extractive answerer is kept: a
language model's answer is streamed as it is written and is not a function of its inputs.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

T = TypeVar("T")


def answer_key(question: str, history: Sequence[dict[str, str]] | None, top_k: int | None,
               filters: dict[str, object] | None, answerer: str, as_of: date | None, today: date) -> str:
    """Everything of a request that can change its answer, as one string (dict keys sorted)."""
    return json.dumps([question, list(history or []), top_k, filters, answerer,
                       as_of.isoformat() if as_of else None, today.isoformat()],
                      ensure_ascii=False, sort_keys=True, default=str)


class AnswerCache:
    """A thread-safe LRU of answers for one index generation at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._generation: int | None = None
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, generation: int, key: str) -> Any | None:
        """A copy of the kept answer, or None (counted as a miss)."""
        with self._lock:
            if self._generation != generation:
                self._items.clear()
                self._generation = generation
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return copy.deepcopy(found)

    def put(self, generation: int, key: str, value: T) -> None:
        kept = copy.deepcopy(value)
        with self._lock:
            if self._generation != generation:
                return  # the index moved on while this answer was made: it is not kept
            self._items[key] = kept
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"size": self.size, "entries": len(self._items), "hits": self.hits, "misses": self.misses}
