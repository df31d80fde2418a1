"""Scoring as named features with a weight table kept as data (``assistant/answering/weights.yaml``)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from assistant.answering.candidates import candidates
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.scoring import adjustment, features
from assistant.answering.turn import build_turn
from assistant.answering.weights import WEIGHTS, WeightsError, parse
from assistant.config import Settings
from assistant.tools.fit_weights import GOLD, fit, is_dev
from tests.unit.test_compose import hit

TODAY = date(2026, 11, 30)
VERDICT = hit("hd::tra-loi", "Trả lời", "Ban bầu cử được thành lập chậm nhất 70 ngày trước ngày bầu cử. "
              "Luật không có điều khoản nào cấm một người đồng thời là thành viên của Ban bầu cử và Tổ bầu cử.",
              kind="hoi-dap", status="tham-khao", scores={0: 0.86, 1: 0.84})
QUESTIONS = (
    "Thành viên Ban bầu cử có được làm thành viên Tổ bầu cử không?",  # short
    "Năm ngoái ở xã Tân Lập, Phú Thọ, chị Hoa là thành viên Ban bầu cử; nay chị có được làm thêm thành viên "
    "Tổ bầu cử không?",  # long, with a place, a year and a name that do not matter
    "thanh vien ban bau cu co duoc lam thanh vien to bau cu khong",  # without diacritics
)


def lead(question: str, weights=WEIGHTS) -> str:  # noqa: ANN001
    turn = build_turn(question, as_of=TODAY, today=TODAY)
    return ExtractiveAnswerer(Settings(), weights).answer(turn, [VERDICT]).text.splitlines()[0]


def test_every_feature_has_a_weight_and_the_adjustment_is_their_weighted_sum() -> None:
    turn = build_turn(QUESTIONS[0], as_of=TODAY, today=TODAY)
    for c in candidates(turn, [VERDICT]):
        feats = features(c, turn)
        assert set(feats) <= set(WEIGHTS.features)
        assert adjustment(c, turn) == pytest.approx(sum(WEIGHTS.features[k] * v for k, v in feats.items()))
    assert "yesno_verdict" in features(candidates(turn, [VERDICT])[0], turn)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_verdict_feature_is_what_puts_the_verdict_first(question: str) -> None:
    """A yes/no question leads with the sentence that states the outcome because ``yesno_verdict`` weighs
    it up; with that weight at zero the better-retrieved sentence about deadlines leads."""
    assert lead(question).startswith("Được. Luật không có điều khoản nào cấm")
    assert lead(question, WEIGHTS.with_features(yesno_verdict=0.0)).startswith("Ban bầu cử được thành lập")


def test_a_malformed_table_is_refused() -> None:
    data = WEIGHTS.to_yaml_data()
    assert parse(data) == WEIGHTS
    with pytest.raises(WeightsError, match="clause"):
        parse({**data, "clause": "small"})
    with pytest.raises(WeightsError, match="features"):
        parse({**data, "features": {"x": "big"}})
    with pytest.raises(KeyError):
        WEIGHTS.with_features(no_such_feature=1.0)


def test_the_fit_keeps_a_change_only_when_the_dev_count_drops() -> None:
    def score(w) -> int:  # noqa: ANN001 - a stand-in objective: fewer failures the lower "meta" weighs
        return 10 + round(100 * w.features["meta"])

    best, n = fit(score, WEIGHTS, progress=lambda _: None)
    assert best.features["meta"] == WEIGHTS.features["meta"] * 2 and n == score(best) < score(WEIGHTS)
    assert all(best.features[k] == v for k, v in WEIGHTS.features.items() if k != "meta")
    ids = [json.loads(line)["id"] for line in GOLD.read_text("utf-8").splitlines() if line.strip()]
    assert 0.4 < sum(map(is_dev, ids)) / len(ids) < 0.6  # about half, by id alone
