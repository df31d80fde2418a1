"""An answer about other election bodies is no answer about the asked one (premises.other_bodies_only).
Hand-made passages, no model; three wordings (short, a long story with a place, a year and a name that do not
matter, and without diacritics).
"""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answering.answer import Answer, Citation
from assistant.answering.premises import check_premises
from assistant.answering.turn import build_turn
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage

TODAY = date(2026, 11, 30)


def cited(heading: str, quote: str) -> Citation:
    text = f"{heading}\n{quote}"
    p = Passage(id="luat::26", doc_id="luat", title="Luật Bầu cử", section=heading.split(".")[0], heading=heading,
                label=heading.split(".")[0], text=text, start=0, end=len(text), kind="luat", status="con-hieu-luc")
    return Citation(1, ScoredPassage(p, 0.9), quote)


LOCAL = cited("Điều 26. Nguyên tắc hoạt động của các tổ chức phụ trách bầu cử ở địa phương",
              "Ủy ban bầu cử, Ban bầu cử và Tổ bầu cử làm việc theo chế độ tập thể và quyết định theo đa số.")


@pytest.mark.parametrize("question", [
    "Hội đồng bầu cử quốc gia làm việc theo nguyên tắc nào?",
    "Tôi là cán bộ Sở Nội vụ Quảng Trị, năm 2025 anh Minh hỏi tôi về cách làm việc của Hội đồng bầu cử quốc gia; "
    "vậy Hội đồng bầu cử quốc gia làm việc theo nguyên tắc nào?",
    "hoi dong bau cu quoc gia lam viec theo nguyen tac nao",
])
def test_quotes_about_other_bodies_do_not_answer_for_the_asked_one(question: str) -> None:
    """Principle: when the question asks about one election body and every quote speaks of others (and none of
    it), the answer says the sources hold nothing on the asked body instead of quoting the others' rules."""
    t = build_turn(question, today=TODAY)
    ans = check_premises(t, Answer(f"{LOCAL.quote} [1]", [LOCAL]), lambda: "")
    assert ans.refused and "Hội đồng bầu cử quốc gia" in ans.text and "Ủy ban bầu cử" in ans.text, ans.text


def test_the_asked_body_s_own_rule_still_answers() -> None:
    t = build_turn("Ban bầu cử làm việc theo chế độ nào?", today=TODAY)
    ans = check_premises(t, Answer(f"{LOCAL.quote} [1]", [LOCAL]), lambda: "")
    assert not ans.refused
