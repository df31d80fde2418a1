"""Fit the scoring weights on the dev half of the gold set: ``python -m assistant.tools.fit_weights``.

Like the domain gate's calibration (``assistant/domain_calibrate.py``), nothing is tuned by hand: each
question of the dev half (``sha1(id)``'s first byte even; the held-out half is only reported) is analysed
and retrieved once, then answered again for every weight table tried. The objective counts what a reader
would see go wrong (``assistant.evaluation.reader_checks``: lead sentence, verdict, forbidden claim,
period; plus missing key facts and wrong refusals). A coordinate search scales one feature weight at a
time (× 0, ½, 1½, 2) and keeps a change only when the dev count drops. ``weights.yaml`` is rewritten only
with ``--write``, when the fit beats the shipped weights on dev and does no worse on the held-out half
(which only vetoes, it never steers the search); otherwise the shipped table stays.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from assistant.answering.chain import Assistant
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.trace import Trace
from assistant.answering.weights import WEIGHTS, Weights
from assistant.config import Settings, configure_threads
from assistant.evaluation import GoldQuestion, key_fact_hits, load_questions, reader_checks
from assistant.evaluation.split import split_of

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "eval" / "questions.jsonl"
WEIGHTS_FILE = REPO / "assistant" / "answering" / "weights.yaml"
STEPS = (0.0, 0.5, 1.5, 2.0)


def is_dev(item_id: str) -> bool:
    """The dev half, as every set splits (``assistant.evaluation.split``); the rest is held out."""
    return split_of(item_id) == "dev"


@dataclass(frozen=True)
class Case:
    question: GoldQuestion
    trace: Trace  # analysed, retrieved and decided once


def prepare(assistant: Assistant, questions: Sequence[GoldQuestion]) -> list[Case]:
    """Each question through the chain's first steps (analyse, retrieve, decide): the part weights do not touch."""
    cases = []
    for q in questions:
        as_of = date.fromisoformat(q.as_of) if q.as_of else None
        trace = assistant._analyse({"question": q.question, "history": q.history, "as_of": as_of})
        cases.append(Case(q, assistant._decide(assistant._retrieve(trace))))
    return cases


def failures(assistant: Assistant, cases: Sequence[Case], weights: Weights) -> int:
    """What a reader would see go wrong over ``cases`` when the writer uses ``weights``."""
    assistant.extractive = ExtractiveAnswerer(assistant.settings, weights)
    assistant.llm.extractive = assistant.extractive
    count = 0
    for case in cases:
        t = case.trace
        t = assistant._refuse(t) if t.decision else assistant._answer(t)
        ans = assistant._verify(t).answer
        assert ans is not None
        q = case.question
        _, failed = reader_checks(q, ans.text, ans.refused)
        count += len(failed) + (ans.refused == q.answerable)
        if q.answerable and not ans.refused and q.key_facts:
            count += sum(1 for hit in key_fact_hits(ans.text, q.key_facts) if not hit)
    return count


def fit(score: Callable[[Weights], int], start: Weights, progress: Callable[[str], None] = print) -> tuple[Weights, int]:
    """Coordinate search from ``start``: one feature at a time, keep a scaled weight only when ``score`` drops."""
    best, best_score = start, score(start)
    progress(f"shipped weights: {best_score} failures on dev")
    for name in start.features:
        for step in STEPS:
            trial = best.with_features(**{name: round(start.features[name] * step, 6) + 0.0})  # no -0.0
            s = score(trial)
            if s < best_score:
                best, best_score = trial, s
                progress(f"  {name} × {step}: {s}")
    return best, best_score


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=Path, default=GOLD)
    ap.add_argument("--write", action="store_true", help="rewrite weights.yaml when the fit beats it on dev")
    args = ap.parse_args(argv)
    settings = Settings()
    configure_threads(settings)
    assistant = Assistant(settings)
    questions = load_questions(args.questions)
    dev = prepare(assistant, [q for q in questions if is_dev(q.id)])
    held = prepare(assistant, [q for q in questions if not is_dev(q.id)])
    fitted, fitted_dev = fit(lambda w: failures(assistant, dev, w), WEIGHTS)
    shipped_dev = failures(assistant, dev, WEIGHTS)
    shipped_held, fitted_held = failures(assistant, held, WEIGHTS), failures(assistant, held, fitted)
    print(f"dev ({len(dev)} questions): shipped {shipped_dev}, fitted {fitted_dev} failures; held-out "
          f"({len(held)}): shipped {shipped_held}, fitted {fitted_held}")
    if fitted_dev >= shipped_dev:
        print("the fit does not beat the shipped weights on dev: weights.yaml unchanged")
        return 0
    if fitted_held > shipped_held:
        # the held-out half only vetoes: a table fitted to the dev half's questions is not shipped
        print("the fit beats the shipped weights on dev but does worse on held-out (fitted to dev): weights.yaml "
              "unchanged")
        return 0
    changed = {k: (WEIGHTS.features[k], v) for k, v in fitted.features.items() if v != WEIGHTS.features[k]}
    print("fitted changes:", changed)
    if args.write:
        text = WEIGHTS_FILE.read_text("utf-8")
        head = text[: text.index("retrieval:")]
        WEIGHTS_FILE.write_text(head + yaml.safe_dump(fitted.to_yaml_data(), sort_keys=False,
                                                      allow_unicode=True), "utf-8")
        print(f"wrote {WEIGHTS_FILE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
