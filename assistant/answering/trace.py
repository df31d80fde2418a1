"""The pipeline's state: one typed object that each step of the chain takes and returns, filled in.

The analysed question (:class:`~assistant.answering.turn.Turn`) is read once and never changes; what
retrieval, the decision and the writers add travels here, so that a step's inputs and outputs are
visible in its signature (the way llama_index's query bundle travels) and evals can read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.answering.answer import Answer
from assistant.answering.turn import Turn
from assistant.search.retrieval import ScoredPassage

# "" = answer; else why not (each has its own fixed reply in :mod:`assistant.answering.messages`)
Decision = Literal["", "small-talk", "injection", "out-of-domain", "below-threshold", "missing"]
Filters = dict[str, object]  # metadata field -> allowed value or values (``HybridSearcher.search``)


@dataclass(frozen=True)
class Trace:
    """One request on its way through the chain: the question as read, the caller's knobs, and each step's part.

    Frozen: a step returns ``dataclasses.replace(trace, …)`` with its part filled in (type-checked fields).
    """

    turn: Turn
    # knobs a caller sets per request
    top_k: int | None = None
    filters: Filters | None = None
    answerer: str | None = None
    # what the steps add
    hits: tuple[ScoredPassage, ...] = ()  # best first
    pool: tuple[ScoredPassage, ...] = ()  # the deeper ranked list the hits were cut from (the time line chooses in it)
    search_query: str = ""  # the query as the searcher read it (abbreviations expanded, diacritics restored)
    decision: Decision = ""
    missing: tuple[str, ...] = ()  # named things the sources lack
    suggestions: tuple[str, ...] = ()  # in-field questions offered when the question is out of the field
    reply: str | None = None  # a fixed reply (small talk) instead of an answer
    answer: Answer | None = None
    t0: float = 0.0
    t_retrieved: float = 0.0

    @property
    def query(self) -> str:
        """What was searched, as the searcher read it (falls back to the standalone question)."""
        return self.search_query or self.turn.standalone
