"""Calibrate the domain gate on data: ``python -m assistant.domain_calibrate`` (after ``kiemnhiem ingest``).

Negatives: the ALQAC 2023 questions (real questions about other laws; third-party, read in place
from ``../shared``, never copied), minus any about concurrent posts or the election law, split
deterministically by question id: half for calibration, half held out for the out-of-domain eval
slice (``eval/out_of_domain.jsonl`` names them by id). Positives: the gold set's answerable
questions. Every question is used as written and diacritic-free (``assistant.text.fold``).

The features are computed exactly as the chain computes them (override phrases stripped, follow-ups
condensed, the same search), a class-balanced logistic regression is fitted with numpy (IRLS, L2 on
standardised features) and written with its provenance into ``assistant/answering/domain_params.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pprint
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.chain import Assistant
from assistant.answering.domain import FEATURES, DomainFeatures, DomainModel, domain_features
from assistant.answering.followup import condense
from assistant.answering.safety import strip_override
from assistant.config import Settings, configure_threads
from assistant.evaluation import load_questions
from assistant.evaluation.out_of_domain import (
    ALQAC_QUESTIONS,
    FORMS,
    alqac_negatives,
    in_form,
)
from assistant.text import nfc

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "eval" / "questions.jsonl"
PARAMS_FILE = REPO / "assistant" / "answering" / "domain_params.py"
L2 = 1.0  # inverse of scikit-learn's C=1 on standardised features
MAX_OVER_REFUSAL = 0.02  # the threshold never refuses more than this share of calibration positives


def split_ids(ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(calibration, held out)``: ids ordered by SHA-256, first half calibrates. Stable across runs."""
    ordered = sorted(ids, key=lambda i: hashlib.sha256(i.encode("utf-8")).hexdigest())
    half = len(ordered) // 2
    return sorted(ordered[:half]), sorted(ordered[half:])


def gate_features(assistant: Assistant, question: str, history: Sequence[dict[str, str]] | None = None) -> DomainFeatures:
    """The gate's features for a question, computed the way ``Assistant.ask`` computes them."""
    cleaned, _ = strip_override(nfc(question))
    query, focus = condense(cleaned, history)
    res = assistant.searcher.search(query, k=assistant.settings.top_k, focus=focus)
    return domain_features(res.query, res.hits, assistant.settings.top_k)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, iters: int = 50) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression by IRLS; returns weights and intercept on the raw features."""
    mu, sd = x.mean(0), x.std(0)
    sd[sd == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    cw = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    beta = np.zeros(z.shape[1])
    penalty = np.diag([0.0] + [l2] * x.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ beta))
        grad = z.T @ (cw * (p - y)) + penalty @ beta
        hess = (z * (cw * p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    w = beta[1:] / sd
    return w, float(beta[0] - (beta[1:] * mu / sd).sum())


def choose_threshold(p_pos: np.ndarray, max_over: float = MAX_OVER_REFUSAL) -> float:
    """0.5 (the balanced model's decision boundary), lowered if it would refuse more than ``max_over`` of positives."""
    allowed = int(math.floor(max_over * len(p_pos)))
    ordered = np.sort(p_pos)
    return float(min(0.5, ordered[allowed])) if len(ordered) else 0.5


def calibrate(assistant: Assistant, alqac_path: Path | str = ALQAC_QUESTIONS, gold_path: Path | str = GOLD,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute the features, fit the model, pick the threshold; returns the params dict with provenance."""
    negatives = alqac_negatives(alqac_path)
    calib_ids, held_ids = split_ids(list(negatives))
    pos_items = [(g.id, in_form(g.question, form), [{**h, "content": in_form(h["content"], form)} for h in g.history]
                  if g.history else None, form) for g in load_questions(gold_path) if g.answerable for form in FORMS]
    neg_items = [(qid, in_form(negatives[qid], form), None, form) for qid in calib_ids for form in FORMS]
    feats: list[list[float]] = []
    for i, (_, text, hist, _) in enumerate([*pos_items, *neg_items], start=1):
        feats.append(list(gate_features(assistant, text, hist).values().values()))
        if progress and i % 50 == 0:
            progress(f"features: {i}/{len(pos_items) + len(neg_items)}")
    x = np.asarray(feats, dtype=float)
    y = np.asarray([1.0] * len(pos_items) + [0.0] * len(neg_items))
    w, b = fit_logistic(x, y)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    threshold = choose_threshold(p[y == 1])
    refused_pos = [f"{it[0]}:{it[3]}" for it, pp in zip(pos_items, p[: len(pos_items)], strict=True) if pp < threshold]
    snap = assistant.index.snapshot()
    return {
        "features": list(FEATURES),
        "weights": {name: round(float(v), 6) for name, v in zip(FEATURES, w, strict=True)},
        "intercept": round(b, 6),
        "threshold": round(threshold, 6),
        "calibration": {
            "model": snap.model_id, "passages": len(snap.passages), "l2": L2,
            "positives": len(pos_items), "negatives": len(neg_items),
            "alqac_calibration_ids": calib_ids, "alqac_held_out_ids": held_ids,
            "over_refusal": round(float(np.mean(p[y == 1] < threshold)), 4),
            "negative_refusal": round(float(np.mean(p[y == 0] < threshold)), 4),
            "positives_refused": refused_pos,
        },
    }


def write_params(params: dict[str, Any], path: Path = PARAMS_FILE) -> Path:
    body = pprint.pformat(params, width=110, sort_dicts=False, compact=True)
    path.write_text(
        '"""Domain-gate parameters: GENERATED by ``python -m assistant.domain_calibrate``; do not edit by hand.\n\n'
        "Logistic regression P(in field) = sigmoid(intercept + Σ weights·features) over the features of\n"
        "``assistant.answering.domain``; in field when P >= threshold. ``calibration`` records the data it was fitted on.\n"
        '"""\n\nfrom typing import Any\n\n'
        f"PARAMS: dict[str, Any] = {body}\n", "utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.domain_calibrate", description=__doc__.split("\n")[0])
    ap.add_argument("--alqac", type=Path, default=ALQAC_QUESTIONS, help="ALQAC train.json (read in place)")
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument("--out", type=Path, default=PARAMS_FILE)
    args = ap.parse_args(argv)
    if not args.alqac.is_file():
        print(f"không tìm thấy / not found: {args.alqac}", file=sys.stderr)
        return 2

    settings = Settings()
    configure_threads(settings)
    assistant = Assistant(settings)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    params = calibrate(assistant, args.alqac, args.gold, progress=log)
    DomainModel.from_params(params)  # refuse to write something the gate cannot load
    log(f"wrote {write_params(params, args.out)}")
    print(json.dumps({k: v for k, v in params.items() if k != "calibration"}
                     | {"calibration": {k: v for k, v in params["calibration"].items() if not k.startswith("alqac")}},
                     ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
