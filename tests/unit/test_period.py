"""The period a question names (``assistant/answering/period.py``) and whether a passage applies in it: the one
validity predicate, ``assistant/answering/validity.py``, the one the answer uses (pure, no model)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answering.dates import fmt_date, parse_as_of, vn_date
from assistant.answering.milestones import MILESTONES
from assistant.answering.period import (
    Period,
    as_of_period,
    detect_period,
    detect_periods,
    format_period,
    parse_elections,
    resolve_period,
)
from assistant.answering.validity import passage_period, period_fields, period_label, period_phrase, valid_on
from assistant.models import Passage

TODAY = date(2026, 11, 30)
D = date


def passage(valid_from: str = "", valid_to: str = "", elections: str = "", effective: str = "2015-09-01",
            kind: str = "luat", status: str = "con-hieu-luc") -> Passage:
    return Passage(id="x::y", doc_id="x", title="X", section="Điều 1", heading="Điều 1", label="Điều 1, X",
                   text="Điều 1\nNội dung.", start=0, end=8, kind=kind, effective=effective, status=status,
                   valid_from=valid_from, valid_to=valid_to, elections=elections)


CURRENT = passage("2025-07-01")  # "bản hiện hành từ 01/7/2025"
OLD = passage("2015-09-01", "2025-06-30", "2016,2021")  # the 2016/2021 sizes
PLAIN = passage("2015-09-01")  # unchanged since 2015
NEWS_2016 = passage("", "2025-06-30", "2016", effective="", kind="hoi-dap")


# ------------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    ("question", "start", "end", "label", "elections"),
    [
        ("Trong cuộc bầu cử năm 2021, Ban bầu cử cấp xã có bao nhiêu thành viên?", D(2021, 5, 23), D(2021, 5, 23),
         "cuộc bầu cử năm 2021", (2021,)),
        ("ban bau cu cap xa nam 2016 co bao nhieu nguoi", D(2016, 5, 22), D(2016, 5, 22), "cuộc bầu cử năm 2016",
         (2016,)),
        ("Bầu cử 2026 thành lập Tổ bầu cử chậm nhất bao nhiêu ngày?", D(2026, 3, 15), D(2026, 3, 15),
         "cuộc bầu cử năm 2026", (2026,)),
        ("Kỳ bầu cử năm 2011 có Ban bầu cử cấp huyện không?", D(2011, 1, 1), D(2011, 12, 31),
         "cuộc bầu cử năm 2011", (2011,)),
        ("Hiện nay phụ cấp kiêm nhiệm là bao nhiêu?", TODAY, TODAY, "hiện nay", ()),
        ("quy dinh hien hanh ve ban bau cu", TODAY, TODAY, "hiện nay", ()),
        ("Bây giờ còn Ủy ban bầu cử huyện không?", TODAY, TODAY, "hiện nay", ()),
        ("Năm nay bầu cử ở xã có mấy tổ chức?", D(2026, 1, 1), D(2026, 12, 31), "năm nay (2026)", ()),
        ("Trước ngày 01/7/2025 có mấy cấp tổ chức bầu cử?", None, D(2025, 6, 30), "trước ngày 01/7/2025", ()),
        ("sau ngay 1/7/2025 thi sao", D(2025, 7, 2), None, "sau ngày 01/7/2025", ()),
        ("Từ ngày 01/08/2023 phụ cấp kiêm nhiệm tính thế nào?", D(2023, 8, 1), None, "từ ngày 01/8/2023", ()),
        ("Ngày 23 tháng 5 năm 2021 có bầu cử không?", D(2021, 5, 23), D(2021, 5, 23), "ngày 23/5/2021", ()),
        ("Tháng 5/2021 Tổ bầu cử có bao nhiêu người?", D(2021, 5, 1), D(2021, 5, 31), "tháng 5/2021", ()),
        ("trước tháng 8/2023 phụ cấp thế nào", None, D(2023, 7, 31), "trước tháng 8/2023", ()),
        ("Năm 2020 phụ cấp kiêm nhiệm công chức xã bao nhiêu?", D(2020, 1, 1), D(2020, 12, 31), "năm 2020", ()),
        # a document's name ends where the ask starts: the year after "thì" is the time asked
        ("Theo nghị định thì năm 2022 trưởng thôn có được kiêm bí thư chi bộ không?", D(2022, 1, 1),
         D(2022, 12, 31), "năm 2022", ()),
        ("Trước năm 2019 thì sao?", None, D(2018, 12, 31), "trước năm 2019", ()),
        ("Trước cải cách 2025 bí thư huyện ủy có kiêm chủ tịch không?", None, D(2025, 6, 30),
         "trước ngày 01/7/2025", ()),
        ("sau sap nhap thi ban bau cu xa co bao nhieu nguoi", MILESTONES.reform_day, None, "từ ngày 01/7/2025", ()),
        ("Trước khi sửa đổi năm 2025, Ban bầu cử tỉnh có bao nhiêu người?", None, D(2025, 6, 30),
         "trước ngày 01/7/2025", ()),
        ("Khi còn cấp huyện, trưởng ban tuyên giáo có kiêm giám đốc trung tâm chính trị không?", None,
         D(2025, 6, 30), "khi còn cấp huyện (trước ngày 01/7/2025)", ()),
        ("luc con huyen thi sao", None, D(2025, 6, 30), "khi còn cấp huyện (trước ngày 01/7/2025)", ()),
        ("Nhiệm kỳ 2021–2026 Ban bầu cử tỉnh có bao nhiêu thành viên?", D(2021, 5, 23), D(2026, 3, 14),
         "nhiệm kỳ 2021–2026", (2021,)),
        ("nhiem ky 2021-2026", D(2021, 5, 23), D(2026, 3, 14), "nhiệm kỳ 2021–2026", (2021,)),
    ],
)
def test_detect_period(question, start, end, label, elections):
    p = detect_period(question, TODAY)
    assert p is not None, question
    assert (p.start, p.end, p.label, p.elections, p.source) == (start, end, label, elections, "question")


@pytest.mark.parametrize(
    "question",
    [
        "Ban bầu cử cấp xã có bao nhiêu thành viên?",
        "Luật Bầu cử năm 2015 quy định gì về Tổ bầu cử?",  # the law's year, not a period
        "Luật sửa đổi năm 2025 thay đổi gì về Ban bầu cử?",
        "Nghị định 92/2009/NĐ-CP còn hiệu lực không?",
        "Thông tư 78/2005/TT-BNV hướng dẫn gì?",
        "Quy định 208 năm 2019 còn áp dụng không?",
        # a year that ends a document's name is the name, not the time asked
        "luat mat tran to quoc 2015 co hieu luc tu ngay nao, thay cho luat nao",
        "Tôi là chủ tịch Ủy ban Mặt trận xã ở Cà Mau, anh Hùng bảo Luật Tổ chức chính quyền địa phương 2019 "
        "đã bị thay, vậy luật đó có hiệu lực từ khi nào?",
        "QĐ 208 năm 2019 thay thế quyết định nào?",
        "Theo Kết luận 137-KL/TW ngày 28/3/2025 cấp huyện thế nào?",
        "Phụ cấp bằng 50% mức lương bậc 1",
        "Bến Tre có 1.017 trường hợp kiêm nhiệm",
        "ngày 31/2/2021",  # not a date
    ],
)
def test_no_period(question):
    assert detect_period(question, TODAY) is None, detect_periods(question, TODAY)


def test_before_and_after_gives_both_periods():
    got = detect_periods("Trước và sau cải cách khác gì về Ban bầu cử?", TODAY)
    assert [(p.start, p.end) for p in got] == [(None, D(2025, 6, 30)), (MILESTONES.reform_day, None)]


def test_first_named_period_wins_and_all_are_listed():
    q = "So với năm 2020, hiện nay phụ cấp thế nào?"
    assert [p.label for p in detect_periods(q, TODAY)] == ["năm 2020", "hiện nay"]
    assert detect_period(q, TODAY).label == "năm 2020"


def test_diacritics_do_not_matter():
    a = detect_period("Trong cuộc bầu cử năm 2021 thì sao?", TODAY)
    b = detect_period("trong cuoc bau cu nam 2021 thi sao?", TODAY)
    assert a == b


def test_reference_date():
    assert detect_period("bầu cử 2021", TODAY).reference(TODAY) == D(2021, 5, 23)
    assert detect_period("trước ngày 01/7/2025", TODAY).reference(TODAY) == D(2025, 6, 30)
    assert detect_period("sau cải cách", TODAY).reference(TODAY) == TODAY
    assert detect_period("năm nay", TODAY).reference(TODAY) == TODAY
    assert detect_period("năm 2020", TODAY).reference(TODAY) == D(2020, 12, 31)
    assert detect_period("nhiệm kỳ 2021-2026", TODAY).reference(TODAY) == D(2021, 5, 23)
    assert Period(D(2027, 1, 1), None, "từ 2027").reference(TODAY) == D(2027, 1, 1)


def test_resolve_period_and_as_of():
    assert resolve_period("Ban bầu cử có bao nhiêu người?", None, TODAY) == Period(TODAY, TODAY, "hiện nay", "as_of")
    p = resolve_period("Ban bầu cử có bao nhiêu người?", D(2021, 5, 23), TODAY)
    assert (p.start, p.label, p.source) == (D(2021, 5, 23), "ngày 23/5/2021", "as_of")
    assert resolve_period("bầu cử 2016", D(2021, 5, 23), TODAY).elections == (2016,)  # the question wins
    assert as_of_period(TODAY, TODAY).to_json() == {"from": "2026-11-30", "to": "2026-11-30", "label": "hiện nay",
                                                    "source": "as_of", "elections": []}


@pytest.mark.parametrize("value", ["2021-13-01", "21-05-2021", "2021/05/23", "hôm qua", 20210523, "0999-01-01"])
def test_parse_as_of_rejects(value):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_as_of(value)


def test_parse_as_of_accepts():
    assert parse_as_of("2021-05-23") == D(2021, 5, 23)
    assert parse_as_of(" 2021-05-23 ") == D(2021, 5, 23)
    assert parse_as_of(None) is None and parse_as_of("") is None
    assert parse_as_of(D(2020, 1, 1)) == D(2020, 1, 1)


# ------------------------------------------------------------------------------------------ passages


def applies(p: Passage, period: Period) -> bool:
    """As candidate selection asks it: an election on its day, any other span by overlap."""
    today = TODAY
    if period.elections:
        return valid_on(p, period.reference(today), None, None, period.elections)
    return valid_on(p, period.reference(today), None, (period.start, period.end))


def test_valid_on_a_day():
    assert valid_on(CURRENT, TODAY) and not valid_on(CURRENT, D(2021, 5, 23))
    assert valid_on(OLD, D(2021, 5, 23)) and not valid_on(OLD, TODAY)
    assert valid_on(OLD, D(2025, 6, 30)) and not valid_on(OLD, D(2025, 7, 1))
    assert valid_on(PLAIN, TODAY) and valid_on(PLAIN, D(2016, 1, 1))
    assert not valid_on(PLAIN, D(2015, 8, 31))
    assert valid_on(passage("", "", effective=""), D(1990, 1, 1))  # no dates: always
    # no section dates: the document's; an expired document with no date applies on no day we can name
    assert not valid_on(passage("", "", effective="2015-09-01"), D(2015, 8, 31))
    assert not valid_on(passage("", "", effective="2015-09-01", status="het-hieu-luc"), TODAY)
    # the document's expiry closes a section that names no end of its own
    assert not valid_on(PLAIN, TODAY, {"expired": "2023-07-31"}) and valid_on(PLAIN, D(2023, 7, 31), {"expired": "2023-07-31"})


def test_valid_on_a_period():
    e2021 = detect_period("bầu cử 2021", TODAY)
    e2026 = detect_period("bầu cử 2026", TODAY)
    before = detect_period("trước cải cách", TODAY)
    after = detect_period("sau cải cách", TODAY)
    assert applies(OLD, e2021) and not applies(CURRENT, e2021)
    assert applies(CURRENT, e2026) and not applies(OLD, e2026)
    assert applies(OLD, before) and not applies(CURRENT, before)
    assert applies(CURRENT, after) and not applies(OLD, after)
    assert all(applies(PLAIN, p) for p in (e2021, e2026, before, after))
    assert applies(NEWS_2016, detect_period("bầu cử 2016", TODAY))
    assert applies(NEWS_2016, detect_period("năm 2020", TODAY))
    assert passage_period(CURRENT) == (D(2025, 7, 1), None)
    assert passage_period(NEWS_2016) == (None, D(2025, 6, 30))


def test_valid_on_compares_named_elections():
    # the 2016 consultation, valid until 30/6/2025, does not speak for the 2021 election
    assert not applies(NEWS_2016, detect_period("bầu cử 2021", TODAY))
    assert applies(NEWS_2016, detect_period("bầu cử 2016", TODAY))


def test_period_phrase_names_a_quote_s_period():
    assert period_phrase(OLD) == "áp dụng đến 30/06/2025, bầu cử 2016, 2021"
    assert period_phrase(CURRENT) == "áp dụng từ 01/07/2025"
    assert period_phrase(passage("", "", effective="", status="het-hieu-luc")) == "quy định đã hết hiệu lực"


def test_period_label():
    assert period_label(OLD, TODAY) == "Quy định cũ · 2016–2021"
    assert period_label(OLD, D(2021, 5, 23)) == ""  # valid then, and it starts with the document
    assert period_label(CURRENT, TODAY) == "Hiện hành từ 01/7/2025"
    assert period_label(CURRENT, D(2021, 5, 23)) == "Áp dụng từ 01/7/2025"
    assert period_label(PLAIN, TODAY) == ""
    assert period_label(passage("2009-10-22", "2023-07-31", effective="2009-10-22"), TODAY) == (
        "Quy định cũ · đến 31/7/2023")
    assert period_label(NEWS_2016, TODAY) == "Thông tin cũ · bầu cử 2016"


def test_period_fields_for_citations():
    assert period_fields(OLD, TODAY) == {"valid_from": "2015-09-01", "valid_to": "2025-06-30",
                                         "period_label": "Quy định cũ · 2016–2021"}
    assert period_fields(PLAIN)["period_label"] == ""


def test_format_period_and_helpers():
    assert format_period("2025-07-01") == "từ 01/7/2025"
    assert format_period(None, "2025-06-30") == "đến 30/6/2025"
    assert format_period("2019-08-01", "2023-07-31") == "01/8/2019–31/7/2023"
    assert format_period("2015-09-01", "2025-06-30", "2016,2021") == "2016–2021"
    assert format_period(elections=[2016]) == "bầu cử 2016"
    assert format_period() == ""
    assert parse_elections("2021, 2016") == (2016, 2021) and parse_elections("") == ()
    assert vn_date(D(2026, 1, 10)) == "10/1/2026"
    assert fmt_date(D(2026, 1, 10)) == "10/01/2026"  # the answer's own sentences
