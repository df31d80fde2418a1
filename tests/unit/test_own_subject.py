"""A question that names its own subject and asks a whole question is never merged with the previous one
(``assistant.turn.asks_on_its_own``), whatever word it opens with; a real follow-up still is."""

from __future__ import annotations

import pytest

from assistant.answering.followup import is_followup
from assistant.answering.turn import build_turn

HISTORY = [("user", "Ban bầu cử cấp xã có bao nhiêu thành viên?"),
           ("assistant", "Ban bầu cử đại biểu Hội đồng nhân dân cấp xã có từ 9 đến 15 thành viên. [1]")]

OWN = [
    "Nếu tôi là người ứng cử thì có được làm thành viên Tổ bầu cử không?",
    "Vậy anh Tư ở Long An, năm 2026 ra ứng cử đại biểu HĐND xã, thì người ứng cử có được làm thành viên "
    "Tổ bầu cử ở đơn vị mình không?",
    "con nguoi ung cu co duoc lam thanh vien to bau cu khong",
]
FOLLOW_UPS = [
    "Còn cấp tỉnh thì sao?",
    "Vậy nếu đã lỡ là thành viên rồi mới ra ứng cử thì xử lý thế nào?",
    "con to bau cu thi the nao",
    "Người đó có được hưởng phụ cấp không?",
]


@pytest.mark.parametrize("question", OWN)
def test_a_whole_question_with_its_own_subject_stands_alone(question: str) -> None:
    assert not is_followup(question, HISTORY)
    turn = build_turn(question, [{"role": r, "content": c} for r, c in HISTORY])
    assert turn.focus is None and "Ban bầu cử cấp xã" not in turn.standalone


@pytest.mark.parametrize("question", FOLLOW_UPS)
def test_a_follow_up_is_still_read_with_the_conversation(question: str) -> None:
    assert is_followup(question, HISTORY)
