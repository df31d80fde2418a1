"""Retrieval reads what a question asserts, not its framing (``assistant.search.framing``): each principle
on a short wording, a long one, and one typed without diacritics. The wordings are made up for the tests."""

from __future__ import annotations

import pytest

from assistant.search.framing import is_cross_option, question_topic, with_choices

pytestmark = pytest.mark.unit


# --- a statement put up for a verdict: the statement is searched ------------------------------------
@pytest.mark.parametrize("question, topic", [
    ("Xã có phó chủ tịch, đúng hay sai?", "Xã có phó chủ tịch"),
    ("Theo quy định hiện hành, công chức cấp xã được kiêm nhiệm chức danh người hoạt động không chuyên "
     "trách và hưởng phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ lãnh đạo là đúng hay sai?",
     "Theo quy định hiện hành, công chức cấp xã được kiêm nhiệm chức danh người hoạt động không chuyên "
     "trách và hưởng phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ lãnh đạo"),
    ("truong thon duoc kiem cong an vien. Dung hay sai?", "truong thon duoc kiem cong an vien"),
    ("Đúng hay sai: người ứng cử không được làm thành viên Tổ bầu cử",
     "người ứng cử không được làm thành viên Tổ bầu cử"),
])
def test_verdict_framing_is_not_searched(question: str, topic: str) -> None:
    assert question_topic(question) == topic


@pytest.mark.parametrize("question, topic", [
    ("Chức danh nào sau đây được kiêm nhiệm?", "Chức danh nào được kiêm nhiệm?"),
    ("Trong các trường hợp được nêu dưới đây, khi sắp xếp đơn vị hành chính cấp xã thì người hoạt động không "
     "chuyên trách ở thôn được hưởng chế độ nào?",
     "Trong các trường hợp được nêu, khi sắp xếp đơn vị hành chính cấp xã thì người hoạt động không "
     "chuyên trách ở thôn được hưởng chế độ nào?"),
    ("Truong hop nao sau day duoc phu cap?", "Truong hop nao duoc phu cap?"),
])
def test_option_pointer_is_not_searched(question: str, topic: str) -> None:
    assert question_topic(question) == topic


@pytest.mark.parametrize("question", [
    "Phụ cấp kiêm nhiệm bao nhiêu?",
    "Tôi là công chức xã, năm 2024 được giao kiêm văn thư, hỏi làm vậy có đúng không?",
    "phu cap kiem nhiem co tinh dong bao hiem xa hoi khong",
    "Đúng hay sai?",  # nothing would be left to search
    "Sai, đúng hay sai?",
])
def test_questions_without_framing_or_topic_are_unchanged(question: str) -> None:
    assert question_topic(question) == question


# --- multiple-choice options are part of the ask ------------------------------------------------------
@pytest.mark.parametrize("option", [
    "Cả A và B đều đúng", "Cả 3 đáp án A, B, C đều sai.", "Tất cả các phương án trên", "A và C đúng",
    "Không có đáp án nào đúng", "ca a, b, c deu dung",
])
def test_options_that_point_at_options_are_framing(option: str) -> None:
    assert is_cross_option(option)


@pytest.mark.parametrize("option", [
    "Cả vợ và chồng đều có quyền yêu cầu", "Chủ tịch Ủy ban nhân dân cấp xã", "06 tháng",
    "ca nhan co tham quyen theo quy dinh",
])
def test_options_with_their_own_words_are_read(option: str) -> None:
    assert not is_cross_option(option)


def test_with_choices_adds_the_options_own_words_after_the_stem() -> None:
    short = with_choices("Ai được kiêm?", {"B": "Phó chủ tịch", "A": "Chủ tịch", "C": "Cả A và B đều đúng"})
    assert short == "Ai được kiêm? Chủ tịch; Phó chủ tịch."
    long_q = ("Khi sắp xếp tổ chức bộ máy, một người giữ chức vụ ở xã được giao thêm nhiệm vụ thì mức phụ cấp "
              "kiêm nhiệm được tính theo cách nào sau đây?")
    got = with_choices(long_q, {"A": "Bằng 50% mức lương bậc 1", "B": "Bằng 30%", "D": "Cả 3 phương án trên đều sai"})
    assert got.startswith(long_q) and got.endswith("Bằng 50% mức lương bậc 1; Bằng 30%.")
    assert with_choices("ai duoc kiem?", {"A": "chu tich", "B": "ca A va B deu sai"}) == "ai duoc kiem? chu tich."
    assert with_choices("Ai được kiêm?", None) == "Ai được kiêm?"
