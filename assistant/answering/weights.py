"""The weights of the scoring features, read once from ``weights.yaml`` beside this module.

A weight table is data: ``python -m assistant.tools.fit_weights`` fits it on the dev half of the gold
set and writes it back only when the fit beats it there. :data:`WEIGHTS` is what the answer uses; a
writer can be given other :class:`Weights` (the fit does) without touching module state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

_SCALARS = ("retrieval", "other_period", "in_force_margin", "clause", "via_question", "entity_heading")


class WeightsError(ValueError):
    """``weights.yaml`` is malformed (raised at import, naming the key)."""


@dataclass(frozen=True)
class Weights:
    retrieval: float
    other_period: float
    in_force_margin: float
    clause: float
    via_question: float
    entity_heading: float
    features: dict[str, float]

    def with_features(self, **changes: float) -> Weights:
        unknown = set(changes) - set(self.features)
        if unknown:
            raise KeyError(f"unknown features {sorted(unknown)}")
        return dataclasses.replace(self, features={**self.features, **changes})

    def to_yaml_data(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in _SCALARS}, "features": dict(self.features)}


def parse(data: Any) -> Weights:
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise WeightsError("weights.yaml: expected scalars and a 'features' mapping")
    for key in _SCALARS:
        if not isinstance(data.get(key), int | float):
            raise WeightsError(f"weights.yaml: '{key}' must be a number")
    feats = data["features"]
    bad = [k for k, v in feats.items() if not isinstance(k, str) or not isinstance(v, int | float)]
    if bad:
        raise WeightsError(f"weights.yaml: features {bad} must map names to numbers")
    return Weights(**{k: float(data[k]) for k in _SCALARS}, features={str(k): float(v) for k, v in feats.items()})


def load() -> Weights:
    return parse(yaml.safe_load(resources.files(__package__).joinpath("weights.yaml").read_text("utf-8")))


WEIGHTS = load()
