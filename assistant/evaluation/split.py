"""The dev / held-out split: one owner for which half an evaluation item belongs to.

Why: rules and weights tuned while looking at every graded question end up fitted to the
grader (issue #22). Every set the project grades itself on (the gold set, ALQAC training
questions, the real-question set) is cut in two by a hash of the item's id, so the cut is
stable, needs no stored list, and cannot be chosen by looking at the questions. Tuning reads
the ``dev`` half only; reports show both halves and the gap between them, and a gap that grows
is the sign of fitting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

Split = Literal["dev", "heldout"]
SPLITS: tuple[Split, Split] = ("dev", "heldout")
T = TypeVar("T")

# The gate metrics compared across halves: (label, dotted path in a gold ``metrics`` dict, higher is better).
GATE_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("document hit@5", "retrieval.document.hit@5", True),
    ("refusal accuracy", "refusal.accuracy", True),
    ("over-refusal", "refusal.over_refusal", False),
    ("citation validity", "citations.validity", True),
    ("lead-sentence rate", "reader.lead_rate", True),
    ("verdict agreement", "reader.verdict_agreement", True),
    ("forbidden claims", "reader.forbidden_claims", False),
    ("period accuracy", "reader.period_accuracy", True),
    ("key-fact coverage", "key_facts.coverage", True),
)


def split_of(item_id: str) -> Split:
    """``"dev"`` when the first byte of sha1(id) is even, else ``"heldout"``.

    The id is NFC text as written in the set (``q001``, ``r017``, an ALQAC ``question_id``);
    surrounding whitespace is ignored so a reformatted file keeps its split.
    """
    digest = hashlib.sha1(str(item_id).strip().encode("utf-8")).digest()
    return "dev" if digest[0] % 2 == 0 else "heldout"


def partition(items: Iterable[T], key: Callable[[T], str]) -> dict[Split, list[T]]:
    """``{"dev": [...], "heldout": [...]}`` in the items' original order."""
    out: dict[Split, list[T]] = {"dev": [], "heldout": []}
    for item in items:
        out[split_of(key(item))].append(item)
    return out


def dotted(d: Mapping[str, Any] | None, path: str) -> Any:
    """``d["a"]["b"]`` for ``"a.b"``; None when any step is missing."""
    cur: Any = d
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def split_gap(dev: Mapping[str, Any], heldout: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per gate metric: both values and ``gap`` = held-out minus dev (None when either is missing).

    A negative gap on a higher-is-better metric (positive on a lower-is-better one) means the
    held-out half does worse than the half rules were tuned on.
    """
    out: dict[str, dict[str, Any]] = {}
    for label, path, higher in GATE_METRICS:
        a, b = dotted(dev, path), dotted(heldout, path)
        gap = (b - a) if isinstance(a, int | float) and isinstance(b, int | float) else None
        out[path] = {"label": label, "dev": a, "heldout": b, "gap": gap, "higher_is_better": higher}
    return out
