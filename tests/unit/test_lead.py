"""The first line is shown as the answer only when it answers the question's intent (``assistant.lead``).

Each rule on three wordings: a short one, a long situational one whose place, year and name do not matter,
and one without diacritics.
"""

from __future__ import annotations

import pytest

from assistant.answering.figures import answers_amount_text
from assistant.answering.lead import ANSWER, CONTEXT, GROUPS, NONE, first_line, lead_kind
from assistant.answering.turn import build_turn
from assistant.answering.verdicts import verdict_word
from assistant.text import fold

YES_NO = [
    "Bí thư chi bộ có được kiêm trưởng thôn không?",
    "Tôi là Lan, năm 2024 được bầu làm bí thư chi bộ ở thôn Đông, xã Tân Phú, Quảng Nam; "
    "xin hỏi bí thư chi bộ có được kiêm luôn trưởng thôn không?",
    "bi thu chi bo co duoc kiem truong thon khong",
]
COMMUNE_RATE = [
    "Công chức cấp xã kiêm nhiệm thì phụ cấp bao nhiêu?",
    "Anh Minh là công chức cấp xã ở Bến Tre, từ năm 2023 kiêm thêm một chức danh khác; "
    "phụ cấp kiêm nhiệm của anh ấy là bao nhiêu?",
    "cong chuc cap xa kiem nhiem phu cap bao nhieu",
]
ANY_RATE = [
    "Phụ cấp kiêm nhiệm là bao nhiêu?",
    "Chị Hoa ở Quảng Nam hỏi năm 2024: mức phụ cấp kiêm nhiệm là bao nhiêu?",
    "phu cap kiem nhiem bao nhieu",
]
WHEN = [
    "Tổ bầu cử thành lập chậm nhất khi nào?",
    "Ông Ba ở Cà Mau năm 2021 làm tổ trưởng; theo luật thì Tổ bầu cử phải thành lập chậm nhất khi nào?",
    "to bau cu thanh lap cham nhat khi nao",
]
HEADS_10 = ("Mức 10% của Thông tư 78/2005 là chế độ chung cho cán bộ, công chức, viên chức kiêm nhiệm chức danh "
            "người đứng đầu cơ quan, đơn vị khác. [1]")
COMMUNE_50 = ("Cán bộ, công chức cấp xã kiêm nhiệm chức danh cán bộ, công chức cấp xã khác có quy định riêng: mức 50% "
              "mức lương bậc 1 cộng phụ cấp chức vụ của chức danh kiêm nhiệm. [2]")
CONDITION = ("Điều kiện: một cán bộ hoặc công chức cấp xã đảm nhận thêm một chức vụ, chức danh khác, và nhờ việc kiêm "
             "nhiệm đó xã bớt được 01 người so với số lượng được giao. [1]")


@pytest.mark.parametrize("question", YES_NO)
def test_a_yes_no_question_is_answered_by_its_verdict_word(question: str) -> None:
    turn = build_turn(question)
    assert turn.intent == "yesno"
    verdict = "Được. Cũng tại khoản 6, Nghị định khuyến khích Bí thư chi bộ kiêm nhiệm chức danh Trưởng thôn. [1]"
    assert lead_kind(turn, verdict, False) == ANSWER
    # the same quote without a verdict word the composer could derive is related, not the answer
    assert lead_kind(turn, verdict.removeprefix("Được. "), False) == CONTEXT


@pytest.mark.parametrize("question", COMMUNE_RATE)
def test_the_rate_of_another_group_is_not_the_askers_answer(question: str) -> None:
    turn = build_turn(question)
    assert lead_kind(turn, f"{HEADS_10}\n{COMMUNE_50}", False) == CONTEXT
    assert lead_kind(turn, f"{COMMUNE_50}\n{HEADS_10}", False) == ANSWER
    # a figure that is not a rate ("01 người") does not answer "how much"
    assert lead_kind(turn, f"{CONDITION}\n{COMMUNE_50}", False) == CONTEXT


@pytest.mark.parametrize("question", ANY_RATE)
def test_two_rates_for_two_groups_when_the_asker_named_none(question: str) -> None:
    turn = build_turn(question)
    assert lead_kind(turn, f"{COMMUNE_50}\n{HEADS_10}", False) == GROUPS
    assert lead_kind(turn, COMMUNE_50, False) == ANSWER  # one rate only: it is the answer


@pytest.mark.parametrize("question", WHEN)
def test_a_when_question_is_answered_by_a_time_and_not_by_a_leaning_sentence(question: str) -> None:
    turn = build_turn(question)
    assert turn.intent == "when"
    assert lead_kind(turn, "Chậm nhất 43 ngày trước ngày bầu cử, Ủy ban nhân dân cấp xã thành lập Tổ bầu cử. [1]",
                     False) == ANSWER
    assert lead_kind(turn, "Cũng tại khoản 6, Ủy ban nhân dân cấp xã thành lập Tổ bầu cử. [1]", False) == CONTEXT
    assert lead_kind(turn, "Tổ bầu cử gồm đại diện cơ quan nhà nước và cử tri ở địa phương. [1]", False) == CONTEXT
    # the source saying it does not know is an honest gap, not the answer
    assert lead_kind(turn, "Ngày 23/9 có hội nghị; bản tin không cho biết năm Tổ bầu cử thành lập. [1]", False) == CONTEXT


def test_refusals_and_small_talk_have_no_lead() -> None:
    turn = build_turn(YES_NO[0])
    assert lead_kind(turn, "Xin lỗi, các nguồn hiện có không trả lời được câu hỏi này.", True) == NONE
    assert lead_kind(turn, "", False) == NONE
    assert first_line("\nHiện hành: 9 đến 15 thành viên. [1][2]\nDòng sau [3]") == "Hiện hành: 9 đến 15 thành viên."


ISSUED = [
    "Nghị quyết 02-NQ/TU của Tỉnh ủy Bến Tre ban hành năm nào?",
    "Tôi là cán bộ xã ở Vĩnh Long, năm 2025 anh Tư nhắc tới nghị quyết cũ về kiêm nhiệm; nghị quyết đó "
    "của Tỉnh ủy được ban hành năm nào?",
    "nghi quyet 02 cua tinh uy ben tre ban hanh nam nao",
]


@pytest.mark.parametrize("question", ISSUED)
def test_a_date_said_of_something_else_does_not_answer_when(question: str) -> None:
    """Principle: a "when" answer states the asked event with its date; a date of another event (a 2025
    merger, for the year a resolution was issued) is a related line, not the answer."""
    t = build_turn(question)
    merger = "Theo chủ trương sắp xếp năm 2025, Bến Tre được hợp nhất với Vĩnh Long (Znews, 5/2025). [1]"
    issued = "Nghị quyết 02-NQ/TU được Tỉnh ủy Bến Tre ban hành năm 2016. [1]"
    assert lead_kind(t, merger, False) == CONTEXT
    assert lead_kind(t, issued, False) == ANSWER


THAI_SAN = [
    "Công chức xã kiêm phần việc của công chức khác có được phụ cấp kiêm nhiệm không?",
    "Tôi là công chức văn phòng xã ở Hà Tĩnh, năm 2024 được chủ tịch Hùng phân công làm thay phần việc của một "
    "công chức khác nghỉ thai sản 6 tháng; vậy tôi có được hưởng phụ cấp kiêm nhiệm không?",
    "cong chuc xa kiem phan viec cua cong chuc khac co duoc phu cap kiem nhiem khong",
]


@pytest.mark.parametrize("question", THAI_SAN)
def test_a_verdict_said_of_another_post_is_not_the_asked_post_s(question: str) -> None:
    """Principle: "Không." opens a yes/no answer only when the quote says it of the asked post; a rule whose
    subject is another post (người hoạt động không chuyên trách) is not a công chức's answer."""
    t = build_turn(question)
    other = ("Mô hình người hoạt động không chuyên trách kiêm nhiệm chức danh không chuyên trách cấp xã không còn "
             "cơ sở, không còn phụ cấp kiêm nhiệm.")
    own = "Công chức cấp xã làm thay phần việc của người nghỉ thai sản thì không còn cơ sở hưởng phụ cấp kiêm nhiệm."
    assert verdict_word(t, other) is None
    assert verdict_word(t, own) == "Không."


PROVINCE_COMMITTEE = [
    "Ủy ban bầu cử ở tỉnh có bao nhiêu thành viên?",
    "Năm 2021 tôi làm ở Sở Nội vụ Long An, chị Thảo hỏi tôi: Ủy ban bầu cử ở tỉnh hồi đó gồm bao nhiêu thành viên?",
    "uy ban bau cu o tinh co bao nhieu thanh vien",
]


@pytest.mark.parametrize("question", PROVINCE_COMMITTEE)
def test_a_list_of_figures_answers_a_body_only_through_its_own_item(question: str) -> None:
    """Principle: in a list of figures for several election bodies, the figure of the asked body is in the item
    that names it; a list naming that body elsewhere ("gồm cả Ủy ban bầu cử") gives none of its figures."""
    t = build_turn(question)
    others = ("Các số liệu dưới đây áp dụng cho các cuộc bầu cử 2016 và 2021: - Tổ chức phụ trách bầu cử gồm cả Ủy "
              "ban bầu cử và Ban bầu cử. - Ban bầu cử đại biểu Hội đồng nhân dân: cấp tỉnh từ 11 đến 13 người. "
              "- Tổ bầu cử có từ 11 đến 21 thành viên.")
    own = others + " - Ủy ban bầu cử ở tỉnh có từ 21 đến 31 thành viên."
    assert not answers_amount_text(t, fold(others))
    assert answers_amount_text(t, fold(own))


PERCENT = [
    "Phụ cấp kiêm nhiệm bao nhiêu phần trăm?",
    "Tôi là công chức địa chính xã ở Thanh Hóa, năm 2026 được giao kiêm thêm văn phòng - thống kê. Anh Sơn kế toán "
    "hỏi: phụ cấp kiêm nhiệm được bao nhiêu phần trăm lương?",
    "phu cap kiem nhiem bao nhieu phan tram",
]


@pytest.mark.parametrize("question", PERCENT)
def test_a_percentage_asked_is_answered_by_a_percentage(question: str) -> None:
    """Principle: "bao nhiêu phần trăm" is answered by a rate written "50%" as well as "50 phần trăm"."""
    t = build_turn(question)
    assert answers_amount_text(t, fold("Mức phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1."))
    assert answers_amount_text(t, fold("Mức phụ cấp bằng 50 phần trăm mức lương bậc 1."))
    assert not answers_amount_text(t, fold("Phụ cấp kiêm nhiệm không dùng để tính đóng bảo hiểm xã hội."))
