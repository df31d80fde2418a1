"""A multiple-choice question is searched with its options' own words (``assistant.search.choices``): each
principle on a short wording, a long one, and one typed without diacritics. The wordings are made up for the tests."""

from __future__ import annotations

import pytest

from assistant.search.choices import is_cross_option, with_choices

pytestmark = pytest.mark.unit


# --- multiple-choice options are part of the ask ------------------------------------------------------
@pytest.mark.parametrize("option", [
    "Cả A và B đều đúng", "Cả 3 đáp án A, B, C đều sai.", "Tất cả các phương án trên", "A và C đúng",
    "Không có đáp án nào đúng", "ca a, b, c deu dung",
])
def test_options_that_point_at_options_are_framing(option: str) -> None:
    assert is_cross_option(option)


@pytest.mark.parametrize("option", [
    "Cả vợ và chồng đều có quyền yêu cầu", "Chủ tịch Ủy ban nhân dân cấp xã", "06 tháng",
    "ca nhan co tham quyen theo quy dinh", "Cá nhân có thẩm quyền đúng quy định", "Sai phạm về cư trú",
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
