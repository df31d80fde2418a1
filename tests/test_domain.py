"""The domain gate (issue 16): its features and model on hand-made hits, the eval slice file, and the
CI gate on the real index — out-of-domain refusal >= 0.97 while answerable gold questions keep their
answers (over-refusal <= 0.05), plus the ten everyday questions of the issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ALQAC, REPO, require_shared

from assistant import domain_calibrate as dc
from assistant import evaluation as ev
from assistant.answer import refusal_out_of_domain
from assistant.config import Settings
from assistant.domain import (
    EXAMPLE_QUESTIONS,
    FEATURES,
    NEUTRAL_PHRASE,
    DomainFeatures,
    DomainGate,
    DomainModel,
    domain_features,
    suggest,
)
from assistant.domain_params import PARAMS
from assistant.models import Passage
from assistant.retrieval import ScoredPassage
from assistant.text import has_diacritics

GATE_OOD_REFUSAL = 0.97
GATE_OVER_REFUSAL = 0.05
# issue 16: answered with unrelated quotes before the gate ...
ISSUE_ANSWERED = ["thu tuc ly hon thuan tinh", "thu tuc cap so do lan dau", "dang ky ket hon o dau",
                  "tuyen dung cong chuc xa can dieu kien gi"]
# ... and refused already (they must stay refused)
ISSUE_REFUSED = ["Thủ tục ly hôn thuận tình", "Mức phạt vượt đèn đỏ xe máy là bao nhiêu?", "muc phat vuot den do xe may",
                 "cach tinh thue thu nhap ca nhan", "le phi truoc ba o to bao nhieu", "che do thai san cho nam"]


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
    assert set(dc.alqac_negatives(src)) == {"A-1", "A-4"}
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
    with pytest.raises(dc.OutOfDomainSetError, match="ood.jsonl:2"):
        dc.load_out_of_domain(bad, None)
    bad.write_text('{"id": "x", "source": "alqac", "question_id": "DS-1", "form": "plain"}\n', "utf-8")
    with pytest.raises(dc.OutOfDomainSetError, match="ood.jsonl:1"):
        dc.load_out_of_domain(bad, None)


# --------------------------------------------------------------------------------------------
# the real index
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ISSUE_ANSWERED + ISSUE_REFUSED)
def test_issue_questions_are_refused(assistant, question: str) -> None:  # noqa: ANN001
    r = assistant.ask(question)
    assert r.refused and not r.citations, (question, r.answer)
    if question in ISSUE_ANSWERED:  # the gate, not a lucky threshold, refuses them
        assert r.answered_by == "out-of-domain" and len(r.suggestions) == 2
        assert all(s in r.answer for s in r.suggestions)
        assert r.to_json()["suggestions"] == r.suggestions


def test_example_questions_are_answered_and_small_talk_is_not_gated(assistant) -> None:  # noqa: ANN001
    for q in EXAMPLE_QUESTIONS:
        r = assistant.ask(q)
        assert not r.refused and r.citations, (q, r.answer)
    assert assistant.ask("xin chào").answered_by == "small-talk"


def test_gold_answerable_keep_their_answers(assistant) -> None:  # noqa: ANN001
    qs = [q for q in ev.load_questions(REPO / "eval" / "questions.jsonl") if q.answerable]
    refused = [(q.id, r.answered_by) for q in qs if (r := assistant.ask(q.question, history=q.history)).refused]
    assert len(refused) / len(qs) <= GATE_OVER_REFUSAL, refused


def test_out_of_domain_slice_is_refused(assistant) -> None:  # noqa: ANN001
    require_shared(ALQAC)
    m = ev.evaluate_out_of_domain(assistant, REPO / "eval" / "out_of_domain.jsonl", ALQAC / "train.json")
    assert m["alqac_included"] and m["n"] == 120
    assert m["refusal_rate"] >= GATE_OOD_REFUSAL, m["answered"]
    assert m["by_form"]["folded"] >= GATE_OOD_REFUSAL - 0.05, m["answered"]  # without diacritics too
    assert all(x["question"] == "" for x in m["answered"] if x["id"].startswith("ood-alqac-"))  # ids only
    md = "\n".join(ev.out_of_domain_md({"out_of_domain": m}))
    assert "Out-of-domain slice" in md and f"{m['refused']}/{m['n']}" in md
