"""The question read as an ask inside a situation (``assistant.answering.asks``): each principle on a short
wording, a long situational one with a place, a year and a name that do not matter, and one without diacritics."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answering.asks import (
    incidental_note,
    place_names,
    read_question,
    reliance,
    search_text,
    without_places,
)
from assistant.answering.turn import build_turn
from assistant.text import fold, mask_counts


def _turn(q: str):  # noqa: ANN202 - a Turn
    return build_turn(q, today=date(2026, 3, 1))


# --- the ask and the situation -----------------------------------------------------------------------
@pytest.mark.parametrize("question, ask_has, situation_has", [
    ("Phó chủ tịch xã kiêm chủ tịch hội được phụ cấp bao nhiêu?", "bao nhiêu", ""),
    ("Tôi là công chức ở xã Hòa An, huyện Phú Tân, năm 2019 được ông Nguyễn Văn Bình giao kiêm thêm việc văn "
     "thư. Đến nay tôi vẫn làm cả hai việc. Vậy phụ cấp kiêm nhiệm của tôi tính thế nào?", "tính thế nào",
     "Nguyễn Văn Bình"),
    ("toi o xa Hoa An, nam 2019 duoc giao kiem them van thu, den nay van lam. vay phu cap kiem nhiem tinh the nao?",
     "tinh the nao", "Hoa An"),
])
def test_the_ask_is_the_questioning_part(question: str, ask_has: str, situation_has: str) -> None:
    reading = read_question(question)
    assert ask_has in reading.ask
    assert situation_has in reading.situation
    if situation_has:
        assert situation_has not in reading.ask


@pytest.mark.parametrize("question", [
    "Cán bộ, công chức cấp xã kiêm chức danh khác được phụ cấp bao nhiêu?",
    "Hệ số phụ cấp của chủ tịch xã ở tỉnh ngoài Hà Nội, TP HCM là bao nhiêu?",
    "can bo, cong chuc cap xa kiem chuc danh khac duoc phu cap bao nhieu",
])
def test_a_list_comma_or_a_thin_ask_keeps_the_sentence_whole(question: str) -> None:
    reading = read_question(question)
    assert reading.situation == ""


def test_several_asks_in_one_message() -> None:
    asks = read_question("bi thu chi bo co duoc kiem truong thon khong? neu kiem thi phu cap tinh the nao").asks
    assert len(asks) == 2


@pytest.mark.parametrize("question, ask_word", [
    ("Tôi ở Quảng Trị, năm 2020 ông Trần Văn Tư là bí thư xã, nay tôi được giao kiêm chức danh văn phòng. "
     "Phụ cấp kiêm nhiệm của tôi được tính thế nào?", "Phụ cấp kiêm nhiệm"),
    ("toi o Quang Tri, nam 2020 ong Tran Van Tu la bi thu xa, nay toi duoc giao kiem chuc danh van phong. "
     "Phu cap kiem nhiem cua toi duoc tinh the nao?", "Phu cap kiem nhiem"),
])
def test_a_story_is_searched_by_its_ask(question: str, ask_word: str) -> None:
    query, focus = search_text(question)
    assert focus is not None and ask_word in focus
    assert query.startswith(focus)
    assert "Trần" not in query and "Tran" not in query and "2020" not in query


def test_a_short_question_is_searched_as_typed() -> None:
    q = "Bí thư chi bộ có được kiêm trưởng thôn không?"
    assert search_text(q) == (q, None)


# --- names come from the lexicon, not from capitals -------------------------------------------------
@pytest.mark.parametrize("text, places", [
    ("Tỉnh Quảng Ninh có bao nhiêu trường hợp?", ["Quảng Ninh"]),
    ("Tôi là Phó Chánh Văn phòng, Phòng Nội vụ huyện An Biên trả lời tôi. Bến Tre Năm nay thế nào?",
     ["Bến Tre", "huyện An Biên"]),
    ("toi o xa kien dai, tinh tuyen quang", ["Tuyên Quang"]),
])
def test_places_come_from_the_lexicon(text: str, places: list[str]) -> None:
    assert place_names(text) == places


@pytest.mark.parametrize("text", ["Thôn dưới 2000 dân thì sao?", "thon duoi 2000 dan thi sao",
                                  "Xã tôi khoảng 2024 cử tri, ông Lê Văn Hai ở Hà Tĩnh hỏi."])
def test_a_count_is_not_a_year(text: str) -> None:
    assert "20" not in mask_counts(text).split("dân")[0].split("cử tri")[0].split("dan")[0][-6:]
    turn = _turn(text)
    assert turn.entities.years == ()
    assert turn.period is None


def test_a_real_year_stays_a_year() -> None:
    assert _turn("Năm 2022, bí thư xã có được kiêm chủ tịch không?").entities.years == (2022,)


# --- what the answer depends on ------------------------------------------------------------------
@pytest.mark.parametrize("question", [
    "Tỉnh Thanh Hóa có bao nhiêu trường hợp bí thư kiêm chủ tịch?",
    "Mình đang tìm hiểu, năm 2021 anh Lê Văn Ba bảo là nhiều lắm. Tỉnh Thanh Hóa có bao nhiêu trường hợp bí thư "
    "kiêm chủ tịch?",
    "tinh thanh hoa co bao nhieu truong hop bi thu kiem chu tich",
])
def test_a_place_whose_facts_are_asked_is_a_premise(question: str) -> None:
    rel = reliance(_turn(question))
    assert rel.places == ("Thanh Hóa",)


@pytest.mark.parametrize("question", [
    "Ở Quảng Trị, bí thư xã có được kiêm chủ tịch không?",
    "Tôi công tác ở một xã của tỉnh Quảng Trị từ năm 2015, ông Hồ Văn Năm là chủ tịch, tôi kiêm 2 chức danh. "
    "Phụ cấp kiêm nhiệm tính thế nào?",
    "toi o quang tri, kiem 2 chuc danh thi phu cap kiem nhiem tinh the nao",
])
def test_a_place_of_the_story_or_of_a_rule_question_is_incidental(question: str) -> None:
    rel = reliance(_turn(question))
    assert rel.places == ()
    assert "Quảng Trị" in rel.incidental_places


@pytest.mark.parametrize("question, asked, background", [
    ("Nghị định 99/2024/NĐ-CP quy định phụ cấp trưởng thôn bao nhiêu?", True, False),
    ("Tôi ở Khánh Hòa, năm 2025 nghỉ theo Nghị định 178, ông Lê Văn An vẫn giao tôi làm bí thư chi bộ. "
     "Tôi có còn được phụ cấp bí thư chi bộ không?", False, True),
    ("toi nghi theo nghi dinh 178 tu 1/8. vay toi con duoc phu cap bi thu chi bo khong?", False, True),
])
def test_only_a_document_the_ask_names_is_a_premise(question: str, asked: bool, background: bool) -> None:
    rel = reliance(_turn(question))
    assert bool(rel.documents) is asked
    assert bool(rel.incidental_documents) is background


# --- the line naming what the sources lack ----------------------------------------------------------
def test_the_note_follows_the_opening_line() -> None:
    out = incidental_note("Được. Mức phụ cấp bằng 50%. [1]\nĐiều kiện: giảm được 01 người. [2]", ["Quảng Trị"])
    assert out.split("\n") == ["Được. Mức phụ cấp bằng 50%. [1]",
                                "(Nguồn không có quy định riêng của Quảng Trị; câu trả lời theo quy định chung.)",
                                "Điều kiện: giảm được 01 người. [2]"]
    out = incidental_note("Mức phụ cấp bằng 50%. [1]", ["Quảng Trị", "Nghị định 178"])
    assert out.endswith("\n(Nguồn không có quy định riêng của Quảng Trị và «Nghị định 178»; câu trả lời theo quy "
                        "định chung.)")
    assert incidental_note("Mức. [1]", []) == "Mức. [1]"


@pytest.mark.parametrize("question, kept", [
    ("Tôi công tác ở một xã của tỉnh Quảng Trị từ năm 2015, kiêm 2 chức danh, phụ cấp thế nào?",
     "Tôi công tác ở một xã từ năm 2015, kiêm 2 chức danh, phụ cấp thế nào?"),
    ("Tôi ở Quảng Trị. Năm 2020 ông Hồ Văn Năm giao tôi kiêm 2 chức danh. Phụ cấp tính thế nào?",
     "Tôi. Năm 2020 ông Hồ Văn Năm giao tôi kiêm 2 chức danh. Phụ cấp tính thế nào?"),
    ("toi o quang tri, kiem 2 chuc danh. phu cap tinh the nao?", "toi, kiem 2 chuc danh. phu cap tinh the nao?"),
])
def test_a_place_of_the_story_is_left_out_of_the_search(question: str, kept: str) -> None:
    assert without_places(question, reliance(_turn(question)).incidental_places) == kept


def test_a_place_whose_facts_are_asked_is_searched() -> None:
    q = "Tỉnh Thanh Hóa có bao nhiêu trường hợp bí thư kiêm chủ tịch?"
    assert search_text(q, reliance(_turn(q)).incidental_places)[0] == q


@pytest.mark.parametrize("question", [
    "Tôi kiêm thêm chức danh văn phòng; phụ cấp kiêm nhiệm bao nhiêu?",
    "Tôi là công chức địa chính xã ở Thanh Hóa, năm 2026 được giao kiêm thêm văn phòng - thống kê; anh Sơn kế "
    "toán bảo phụ cấp kiêm nhiệm được bao nhiêu phần trăm lương?",
    "toi la cong chuc dia chinh xa o thanh hoa, duoc giao kiem them van phong thong ke; phu cap kiem nhiem duoc "
    "bao nhieu phan tram luong",
])
def test_a_semicolon_ends_the_story_before_the_ask(question: str) -> None:
    """Principle: "…; vậy …?" ends a statement at the semicolon as a full stop would: the story before it is
    the situation, what follows asks."""
    reading = read_question(question).by_sentence
    assert "phu cap kiem nhiem" in fold(reading.ask)
    assert "van phong" in fold(reading.situation) and "van phong" not in fold(reading.ask)
