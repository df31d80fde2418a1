"""The domain gate (issue 16) as a CI gate on the real index: out-of-domain refusal >= 0.97 while
answerable gold questions keep their answers (over-refusal <= 0.05), plus the ten everyday questions
of the issue. Its features and model on hand-made hits are in ``tests/unit/test_domain.py``."""

from __future__ import annotations

import pytest

from assistant import evaluation as ev
from assistant.answering.messages import EXAMPLE_QUESTIONS
from tests.support import ALQAC, REPO, require_shared
from tests.unit.test_domain import GATE_OOD_REFUSAL

GATE_OVER_REFUSAL = 0.05
# issue 16: answered with unrelated quotes before the gate ...
ISSUE_ANSWERED = ["thu tuc ly hon thuan tinh", "thu tuc cap so do lan dau", "dang ky ket hon o dau",
                  "tuyen dung cong chuc xa can dieu kien gi"]
# ... and refused already (they must stay refused)
ISSUE_REFUSED = ["Thủ tục ly hôn thuận tình", "Mức phạt vượt đèn đỏ xe máy là bao nhiêu?", "muc phat vuot den do xe may",
                 "cach tinh thue thu nhap ca nhan", "le phi truoc ba o to bao nhieu", "che do thai san cho nam"]


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
