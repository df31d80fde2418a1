"""The domain gate (issue 16) without the model: its features and model on hand-made hits and the
eval slice file. The CI gate on the real index is in ``tests/integration/test_domain_gate.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import domain_calibrate as dc
from assistant.answering.domain import (
    FEATURES,
    NEUTRAL_PHRASE,
    DomainFeatures,
    DomainGate,
    DomainModel,
    domain_features,
    suggest,
)
from assistant.answering.domain_params import PARAMS
from assistant.answering.messages import EXAMPLE_QUESTIONS, refusal_out_of_domain
from assistant.config import Settings
from assistant.evaluation import out_of_domain as ood
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage
from assistant.text import has_diacritics
from tests.support import REPO

GATE_OOD_REFUSAL = 0.97


def hit(text: str, score: float, dense: float | None) -> ScoredPassage:
    p = Passage(id=f"d::{abs(hash(text))}", doc_id="d", title="T", section="Điều 1", heading="Điều 1", label="Điều 1, T",
                text=text, start=0, end=len(text))
    return ScoredPassage(p, score, dense=dense)


# --------------------------------------------------------------------------------------------
# features, model, verdict (no model, no index)
# --------------------------------------------------------------------------------------------


def test_features_read_the_evidence() -> None:
    hits = [hit("Thành viên Ban bầu cử không được kiêm nhiệm.", 0.9, 0.88), hit("Tổ bầu cử có từ 11 người.", 0.8, None),
            hit("Ly hôn là chấm dứt quan hệ vợ chồng.", 0.7, 0.95)]
    f = domain_features("thanh vien ban bau cu", hits, top_k=2)
    assert f.top_score == pytest.approx(0.9)
    assert f.dense_max == pytest.approx(0.88)  # only the top_k hits count; None is skipped
    assert f.phrase == 1.0  # "thanh vien", "vien ban", "ban bau", "bau cu" all adjacent in the evidence
    # every syllable occurs somewhere, but not one two-word phrase of the question does
    f2 = domain_features("thu tuc ly hon", [hit("Gồm thủ trưởng, tục lệ, lý lịch và hơn nữa.", 0.9, 0.9)], top_k=5)
    assert f2.phrase == 0.0
    # a single informative word has no phrase to judge by: neutral, not evidence against
    f3 = domain_features("Ai được kiêm?", hits, top_k=5)
    assert f3.phrase is None and f3.values()["phrase"] == NEUTRAL_PHRASE
    assert domain_features("x", [], top_k=5) == DomainFeatures(0.0, None, 0.0)


def test_params_are_a_loadable_calibrated_model() -> None:
    model = DomainModel.default()
    assert list(PARAMS["features"]) == list(FEATURES)
    assert 0.0 < model.threshold <= 0.5
    # more evidence never lowers P(in field)
    base = DomainFeatures(0.8, 0.5, 0.86)
    for name in FEATURES:
        vals = base.values()
        vals[name] += 0.05
        assert model.probability(DomainFeatures(vals["top_score"], vals["phrase"], vals["dense_max"])) > \
            model.probability(base), name
    cal = PARAMS["calibration"]
    assert cal["over_refusal"] <= dc.MAX_OVER_REFUSAL and cal["negative_refusal"] >= GATE_OOD_REFUSAL
    assert not set(cal["alqac_calibration_ids"]) & set(cal["alqac_held_out_ids"])
    with pytest.raises(ValueError):
        DomainModel.from_params({**PARAMS, "weights": {"top_score": 1.0}})


def test_gate_verdicts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, top_k=5)
    model = DomainModel({"top_score": 10.0, "phrase": 2.0, "dense_max": 10.0}, -17.0, 0.5)
    gate = DomainGate(settings, model)
    good = gate.check("thanh vien ban bau cu", [hit("Thành viên Ban bầu cử không được kiêm nhiệm.", 0.9, 0.9)])
    assert good.in_domain and good.score > 0.5 and not good.suggestions and "in field" in good.reason
    bad = gate.check("tuyen dung cong chuc xa", [hit("Công chức cấp xã kiêm nhiệm được phụ cấp.", 0.8, 0.8)])
    assert not bad.in_domain and bad.score < 0.5 and "outside" in bad.reason
    assert len(bad.suggestions) == 2 and bad.features is not None
    assert gate.check("gì cũng được", []).in_domain  # no evidence: the ordinary refusal handles it


def test_suggestions_and_refusal_text() -> None:
    tips = suggest("tuyen dung cong chuc xa can dieu kien gi")
    assert tips[0].startswith("Cán bộ, công chức cấp xã")
    assert suggest("cách nấu phở") == list(EXAMPLE_QUESTIONS[:2])  # nothing shared: the first two
    text = refusal_out_of_domain(tips)
    assert "ngoài phạm vi" in text and "kiêm nhiệm" in text and "bầu cử" in text
    assert all(t in text for t in tips)


def test_fit_logistic_and_threshold() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal([0.9, 0.8], 0.05, (60, 2)), rng.normal([0.7, 0.2], 0.05, (30, 2))])
    y = np.asarray([1.0] * 60 + [0.0] * 30)
    w, b = dc.fit_logistic(x, y)
    assert (w > 0).all()
    assert ((x @ w + b > 0) == (y == 1)).mean() == 1.0
    assert dc.choose_threshold(np.asarray([0.9] * 99 + [0.1])) == 0.5
    assert dc.choose_threshold(np.asarray([0.3] * 10 + [0.9] * 90)) == pytest.approx(0.3)


def test_alqac_negatives_and_split(tmp_path: Path) -> None:
    src = tmp_path / "train.json"
    src.write_text(json.dumps([
        {"question_id": "A-1", "text": "Ly hôn thuận tình?", "relevant_articles": [{"law_id": "Luật Hôn nhân"}]},
        {"question_id": "A-2", "text": "Thành viên Tổ bầu cử?", "relevant_articles": [{"law_id": "Luật Bầu cử"}]},
        {"question_id": "A-3", "text": "Ai được kiêm nhiệm?", "relevant_articles": [{"law_id": "Luật X"}]},
        {"question_id": "A-4", "text": "Phạt vượt đèn đỏ?", "relevant_articles": []},
    ], ensure_ascii=False), "utf-8")
    assert set(ood.alqac_negatives(src)) == {"A-1", "A-4"}
    ids = [f"Q-{i}" for i in range(10)]
    cal, held = dc.split_ids(ids)
    assert len(cal) == len(held) == 5 and not set(cal) & set(held)
    assert dc.split_ids(list(reversed(ids))) == (cal, held)


def test_out_of_domain_slice_file() -> None:
    rows = [json.loads(x) for x in (REPO / "eval" / "out_of_domain.jsonl").read_text("utf-8").splitlines() if x.strip()]
    assert len(rows) >= 60 and len({r["id"] for r in rows}) == len(rows)
    hand = [r for r in rows if r["source"] == "handwritten"]
    assert len(hand) == 20 and sum(not has_diacritics(r["question"]) for r in hand) == 10
    assert all((r["form"] == "folded") == (not has_diacritics(r["question"])) for r in hand)
    alqac = [r for r in rows if r["source"] == "alqac"]
    assert all("question" not in r for r in alqac)  # third-party text is never copied, only referenced
    assert {r["question_id"] for r in alqac} == set(PARAMS["calibration"]["alqac_held_out_ids"])
    assert {r["form"] for r in alqac} == {"accented", "folded"} and len(alqac) == 100


def test_slice_loader_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ood.jsonl"
    bad.write_text('{"id": "x", "source": "handwritten", "question": "a", "form": "accented"}\n{oops\n', "utf-8")
    with pytest.raises(ood.OutOfDomainSetError, match="ood.jsonl:2"):
        ood.load_out_of_domain(bad, None)
    bad.write_text('{"id": "x", "source": "alqac", "question_id": "DS-1", "form": "plain"}\n', "utf-8")
    with pytest.raises(ood.OutOfDomainSetError, match="ood.jsonl:1"):
        ood.load_out_of_domain(bad, None)
