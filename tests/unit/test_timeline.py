"""One time line (issue #24): the one date-validity predicate, how the chain chooses passages by date, how
an answer names its date, and periods named in the question. Hand-made passages, no model; then the
whole chain on the fake-embedder index, for three wordings of each rule.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from assistant.answering.answer import Answer, Citation
from assistant.answering.candidates import candidates
from assistant.answering.period import detect_period, period_years
from assistant.answering.planning import plan_answer
from assistant.answering.premises import year_gaps
from assistant.answering.timeline import (
    LATER_LABEL,
    audit,
    date_phrase,
    named_later,
    open_with_date,
    place_in_time,
    split_hits,
    unplaced_period,
    which_date,
)
from assistant.answering.turn import build_turn
from assistant.answering.validity import issued_by_number, later_named, later_than, valid_on
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage, SentenceHit
from assistant.text import split_sentences

TODAY = date(2026, 11, 30)
D = date


def passage(pid: str, body: str, *, issued: str = "", valid_from: str = "", valid_to: str = "", number: str = "",
            kind: str = "luat", status: str = "con-hieu-luc", label: str = "", effective: str = "") -> Passage:
    text = f"Mục 1 – Tiêu đề\n{body}"
    return Passage(id=f"{pid}::1", doc_id=pid, title=pid, section="Mục 1", heading="Mục 1. Tiêu đề",
                   label=label or f"Mục 1, {pid}", text=text, start=0, end=len(text), number=number, kind=kind,
                   status=status, issued=issued, effective=effective, valid_from=valid_from, valid_to=valid_to)


def hit(p: Passage, score: float = 0.9) -> ScoredPassage:
    spans = split_sentences(p.text)[1:]
    return ScoredPassage(p, score, sentences=[SentenceHit(a, b, 0.8 - 0.01 * i, 0.8, 0.5)
                                             for i, (a, b) in enumerate(spans)])


def turn(question: str, as_of: date | None = None) -> Any:
    return build_turn(question, as_of=as_of, today=TODAY)


def applies(p: Passage, start: date, end: date) -> bool:
    """The one predicate over a span (``validity.valid_on`` with a period)."""
    return valid_on(p, end, None, (start, end))


def passage_valid_at(p: Passage, d: date) -> bool:
    return valid_on(p, d)


# a directive of 2025 (the kind that leaked into answers for 2021), a law section replaced on 01/7/2025,
# its replacement, a rule unchanged since 2019, and a press report that dates nothing
DIRECTIVE_2025 = passage("chi-thi-2025", "Bí thư cấp ủy cấp xã đồng thời là chủ tịch Hội đồng nhân dân cấp xã.",
                         issued="2025-04-14", number="45-CT/TW", kind="chi-thi")
OLD_SIZE = passage("luat-2015", "Ban bầu cử cấp xã có từ 7 đến 9 thành viên.", issued="2015-06-25",
                   valid_from="2015-09-01", valid_to="2025-06-30", label="Số lượng thành viên, Luật Bầu cử")
NEW_SIZE = passage("luat-2015", "Ban bầu cử cấp xã có từ 9 đến 15 thành viên.", issued="2015-06-25",
                   valid_from="2025-07-01", label="Khoản 1 Điều 24, Luật Bầu cử")
RULE_2019 = passage("quy-dinh-2019", "Trưởng ban tuyên giáo kiêm giám đốc trung tâm chính trị cấp huyện.",
                    issued="2019-11-08", valid_from="2019-11-08", valid_to="2025-06-30", kind="quy-dinh",
                    status="tham-khao")
REPORT = passage("tin-tuc", "Tỉnh có hơn 1.000 trường hợp kiêm nhiệm.", kind="tin-tuc", status="tham-khao",
                 valid_to="2025-06-30")


# ------------------------------------------------------------------------------------------ the one predicate


def test_a_passage_applies_only_once_its_document_exists_and_while_its_section_applies() -> None:
    assert not applies(DIRECTIVE_2025, D(2021, 5, 23), D(2021, 5, 23)), "issued 2025: says nothing about 2021"
    assert applies(DIRECTIVE_2025, D(2025, 4, 14), D(2025, 4, 14)) and passage_valid_at(DIRECTIVE_2025, TODAY)
    assert applies(DIRECTIVE_2025, D(2025, 1, 1), D(2025, 12, 31)), "a span takes what existed by its last day"
    assert passage_valid_at(OLD_SIZE, D(2021, 5, 23)) and not passage_valid_at(OLD_SIZE, D(2025, 7, 1))
    assert not passage_valid_at(NEW_SIZE, D(2025, 6, 30)) and passage_valid_at(NEW_SIZE, D(2025, 7, 1))
    assert not passage_valid_at(OLD_SIZE, D(2015, 8, 31)), "before its own start"
    assert applies(REPORT, D(2016, 5, 22), D(2016, 5, 22)), "what a note does not date is not excluded"
    summary = passage("tong-hop", "14/4/2025: Chỉ thị 45-CT/TW về đại hội đảng bộ các cấp.", kind="huong-dan")
    assert not passage_valid_at(summary, D(2021, 5, 23)), "an undated note reporting 14/4/2025 was written after it"
    assert passage_valid_at(summary, D(2025, 4, 14)) and later_than(summary, D(2021, 5, 23)) == D(2025, 4, 14)
    expired = passage("nd", "x.", status="het-hieu-luc")
    assert not passage_valid_at(expired, D(2021, 1, 1)), "expired without a date: no day we can name"
    assert later_than(DIRECTIVE_2025, D(2021, 5, 23)) == D(2025, 4, 14)
    assert later_than(NEW_SIZE, D(2021, 5, 23)) == D(2025, 7, 1) and later_than(OLD_SIZE, D(2021, 5, 23)) is None


# ------------------------------------------------------------------------------------------ choosing passages


def test_passages_from_after_the_asked_day_never_reach_the_answerer() -> None:
    pool = [hit(DIRECTIVE_2025, 0.95), hit(NEW_SIZE, 0.93), hit(OLD_SIZE, 0.9), hit(RULE_2019, 0.8)]
    usable, later = split_hits(turn("Ban bầu cử cấp xã có bao nhiêu thành viên?", D(2021, 5, 23)), pool, {}, 5)
    assert [h.passage for h in usable] == [OLD_SIZE, RULE_2019]
    assert [h.passage for h in later] == [DIRECTIVE_2025, NEW_SIZE]
    usable, later = split_hits(turn("Ban bầu cử cấp xã có bao nhiêu thành viên?"), pool, {}, 5)
    assert not later and len(usable) == 4, "today: nothing is later; expired rules stay, to be labelled as such"


@pytest.mark.parametrize("question", [
    "Chỉ thị 45-CT/TW nói gì về bí thư cấp xã?",
    "Chị Lê Thị Hoa ở xã Mỹ Lợi, tỉnh Tiền Giang đang đọc tài liệu năm cũ và muốn biết theo Chỉ thị 45-CT/TW "
    "thì bí thư đảng ủy xã giữ thêm chức gì?",
    "chi thi 45-ct/tw noi gi ve bi thu cap xa",
])
def test_a_named_document_that_did_not_exist_yet_is_named_as_such(question: str) -> None:
    """Asked for 2021 about a 2025 directive: the answer says it was not issued yet, cites nothing of it."""
    t = turn(question, D(2021, 5, 23))
    later = [hit(DIRECTIVE_2025)]
    named = named_later(t, later, {})
    assert named is not None
    ans = place_in_time(t, Answer("x", [], refused=True), later, {}, named)
    assert ans.refused and not ans.citations
    assert ans.text.startswith("Tại ngày 23/05/2021, Mục 1") or "chưa được ban hành (ban hành ngày 14/04/2025)" in ans.text
    assert "chưa được ban hành (ban hành ngày 14/04/2025)" in ans.text and "đồng thời" not in ans.text


# ------------------------------------------------------------------------------------------ saying the date


@pytest.mark.parametrize("question", [
    "Ban bầu cử cấp xã có bao nhiêu thành viên?",
    "Ông Phạm Văn Nam, công chức văn phòng xã Hòa Bình ở Bình Định, được giao chuẩn bị quyết định thành lập; "
    "Ban bầu cử cấp xã lúc đó gồm bao nhiêu thành viên?",
    "ban bau cu cap xa co bao nhieu thanh vien",
])
def test_an_answer_for_another_day_opens_with_it_and_says_when_its_rule_changed(question: str) -> None:
    t = turn(question, D(2021, 5, 23))
    old = hit(OLD_SIZE)
    ans = Answer(f"{OLD_SIZE.text.splitlines()[1]} [1]", [Citation(1, old, OLD_SIZE.text.splitlines()[1])])
    later = [hit(NEW_SIZE)]
    out = place_in_time(t, ans, later, {})
    lines = out.text.split("\n")
    assert lines[0].startswith("Tại ngày 23/05/2021: Ban bầu cử cấp xã có từ 7 đến 9"), out.text
    assert lines[1] == (f"{LATER_LABEL} 23/05/2021: quy định trên áp dụng đến 30/06/2025; từ 01/07/2025 áp dụng "
                        "quy định mới (Khoản 1 Điều 24, Luật Bầu cử).")
    assert "9 đến 15" not in out.text and len(out.citations) == 1, "the later figure is named, not quoted"
    assert audit(out.text, [c.to_json(t.as_of) for c in out.citations], *t.window) == []


def test_the_opening_keeps_the_verdict_first_and_is_never_written_twice() -> None:
    t = turn("Bí thư chi bộ có được kiêm trưởng thôn không?", D(2021, 5, 23))
    assert open_with_date(t, "Được. Bí thư chi bộ kiêm trưởng thôn. [1]") == \
        "Được. Tại ngày 23/05/2021: Bí thư chi bộ kiêm trưởng thôn. [1]"
    assert open_with_date(t, "Tại ngày 23/05/2021 (áp dụng đến 30/06/2025): x [1]").count("23/05/2021") == 1
    assert open_with_date(turn("Bí thư chi bộ có được kiêm trưởng thôn không?"), "Được. x [1]") == "Được. x [1]"


@pytest.mark.parametrize(("question", "phrase", "chosen"), [
    ("Năm 2022 bí thư xã có kiêm chủ tịch Ủy ban nhân dân xã không?", "Trong năm 2022", D(2016, 5, 22)),
    ("Trong cuộc bầu cử năm 2021, Tổ bầu cử có bao nhiêu người?", "Trong cuộc bầu cử năm 2021", D(2016, 5, 22)),
    ("Nhiệm kỳ 2021–2026, Ban bầu cử xã có bao nhiêu người?", "Trong nhiệm kỳ 2021–2026", D(2016, 5, 22)),
    ("Trước khi sắp xếp, bí thư huyện ủy có kiêm chủ tịch UBND huyện không?", "Trước ngày 01/7/2025", D(2025, 8, 1)),
    ("Từ 1/7/2025 Ban bầu cử xã có bao nhiêu người?", "Từ ngày 01/7/2025", D(2016, 5, 22)),
])
def test_a_period_named_in_the_question_wins_over_the_chosen_day_and_the_answer_says_so(
        question: str, phrase: str, chosen: date) -> None:
    t = turn(question, chosen)
    assert t.period is not None and t.period.source == "question"
    assert date_phrase(t) == phrase
    said = which_date(t)
    assert said.startswith(f"Câu hỏi nêu thời điểm ({t.period.label})") and chosen.strftime("%d/%m/%Y") in said
    assert which_date(turn(question)) == "", "no other day was chosen: nothing to explain"


def test_now_in_the_question_is_the_chosen_day() -> None:
    t = turn("Hiện nay bí thư xã có kiêm chủ tịch UBND xã không?", D(2021, 5, 23))
    assert t.window == (D(2021, 5, 23), D(2021, 5, 23)) and date_phrase(t) == "Tại ngày 23/05/2021"


# ------------------------------------------------------------------------------------------ a year is a period


@pytest.mark.parametrize("question", [
    "Năm 2022, trưởng ban tuyên giáo có kiêm giám đốc trung tâm chính trị không?",
    "Tôi là Đỗ Minh Tuấn ở huyện Krông Pắc, Đắk Lắk; năm 2022 tôi làm trưởng ban tuyên giáo huyện ủy, lúc ấy "
    "tôi có đồng thời làm giám đốc trung tâm chính trị huyện không?",
    "nam 2022 truong ban tuyen giao co kiem giam doc trung tam chinh tri khong",
])
def test_a_year_never_triggers_a_premise_refusal(question: str) -> None:
    """The year is the period asked, answered by a rule in force then, not a fact to find in its text."""
    t = turn(question)
    assert 2022 in period_years(t.cleaned, t.as_of)
    rule = hit(RULE_2019)
    ans = Answer(f"{RULE_2019.text.splitlines()[1]} [1]", [Citation(1, rule, RULE_2019.text.splitlines()[1])])
    assert year_gaps(t, ans) == [] and unplaced_period(t, ans, {}) == ""


@pytest.mark.parametrize("question", [
    "Năm 2019 tỉnh có bao nhiêu trường hợp kiêm nhiệm?",
    "Anh Võ Thành ở Ba Tri kể năm 2019 tỉnh đã gộp nhiều chức danh; năm 2019 tỉnh có bao nhiêu trường hợp kiêm nhiệm?",
    "nam 2019 tinh co bao nhieu truong hop kiem nhiem",
])
def test_an_undated_report_cannot_speak_for_a_year_and_says_so_as_a_matter_of_time(question: str) -> None:
    t = turn(question)
    news = hit(REPORT)
    ans = Answer(f"{REPORT.text.splitlines()[1]} [1]", [Citation(1, news, REPORT.text.splitlines()[1])])
    said = unplaced_period(t, ans, {})
    assert "năm 2019" in said and "không có thông tin về «" not in said
    assert year_gaps(t, ans) == [], "not a premise"


def test_a_rule_speaks_for_no_year_before_it_was_signed() -> None:
    t = turn("Năm 2005 trưởng ban tuyên giáo có kiêm giám đốc trung tâm chính trị không?")
    rule = hit(RULE_2019)
    ans = Answer("x [1]", [Citation(1, rule, RULE_2019.text.splitlines()[1])])
    assert "năm 2005" in unplaced_period(t, ans, {})


def test_a_future_year_is_answered_by_what_the_sources_can_say() -> None:
    t = turn("Năm 2030 phụ cấp kiêm nhiệm bao nhiêu?")
    rule = hit(RULE_2019)
    ans = Answer("x [1]", [Citation(1, rule, RULE_2019.text.splitlines()[1])])
    assert "đến ngày 30/11/2026" in unplaced_period(t, ans, {}) and "năm 2030" in unplaced_period(t, ans, {})


# ------------------------------------------------------------------------------------------ the audit


def test_the_audit_finds_what_breaks_the_time_line() -> None:
    cite = {"n": 1, "label": "Mục 1, chi-thi-2025", "issued": "2025-04-14", "valid_from": "", "valid_to": "",
            "status": "con-hieu-luc"}
    old = {"n": 2, "label": "Số lượng", "issued": "2015-06-25", "valid_from": "2015-09-01", "valid_to": "2025-06-30",
           "status": "con-hieu-luc"}
    day = (D(2021, 5, 23), D(2021, 5, 23))
    assert audit("Bí thư đồng thời là chủ tịch HĐND. [1]", [cite], *day) == [
        "[1] Mục 1, chi-thi-2025: issued 2025-04-14, after 2021-05-23"]
    assert audit("Tại ngày 23/05/2021: 7 đến 9 [2]", [old], *day) == []
    after = (D(2025, 7, 1), D(2025, 7, 1))
    assert audit("7 đến 9 [2]", [old], *after)[0].startswith("[2] Số lượng: applies 2015-09-01–2025-06-30")
    assert audit("Thời kỳ trước (áp dụng đến 30/06/2025): 7 đến 9 [2]", [old], *after) == []
    dated = "Tại ngày 01/07/2025: Thời kỳ trước (áp dụng đến 30/06/2025): 7 đến 9 [2]\n\nLưu ý: nguồn [2] (Luật) là …"
    assert audit(dated, [old], *after) == [], "the status note names the source, it does not quote it"
    assert audit("x\nSau ngày 23/05/2021: y [1]", [cite], *day)[0].startswith("a citation in the «Sau ngày")
    summary = {"n": 3, "label": "Tổng hợp", "issued": "", "valid_from": "", "valid_to": "", "status": "tham-khao",
               "quote": "14/4/2025: Chỉ thị 45-CT/TW về đại hội đảng bộ các cấp."}
    assert audit("14/4/2025: Chỉ thị 45-CT/TW … [3]", [summary], *day)[0].startswith("[3] Tổng hợp: undated, quotes")


def test_detected_periods_cover_the_wordings_of_the_issue() -> None:
    for text, label in [("trong cuộc bầu cử năm 2021", "cuộc bầu cử năm 2021"), ("Năm 2022", "năm 2022"),
                        ("nhiệm kỳ 2021–2026", "nhiệm kỳ 2021–2026"), ("trước khi sắp xếp", "trước ngày 01/7/2025"),
                        ("từ 1/7/2025", "từ ngày 01/7/2025"), ("hiện nay", "hiện nay")]:
        p = detect_period(text, TODAY)
        assert p is not None and p.label == label, (text, p)


# ------------------------------------------------------------------------------------------ the whole chain


@pytest.mark.parametrize("question", [
    "Bí thư cấp ủy có đồng thời là chủ tịch Hội đồng nhân dân không?",
    "Ở một xã ven biển, ông Bảy vừa trúng cử bí thư đảng ủy xã hồi đầu năm 2021 sau nhiều năm làm trưởng ấp; theo "
    "quy định thì bí thư cấp ủy có đồng thời là chủ tịch Hội đồng nhân dân cùng cấp không?",
    "bi thu cap uy co dong thoi la chu tich hoi dong nhan dan khong",
])
def test_the_chain_answers_a_past_day_from_what_existed_that_day(fake_assistant: Any, question: str) -> None:
    """On the fake index (retrieval differs from the real model's; the time line must not)."""
    day = D(2021, 5, 23)
    result = fake_assistant.ask(question, as_of=day)
    turn = fake_assistant.turn(question, as_of=day)
    assert audit(result.answer, result.citations, *turn.window) == [], result.answer
    assert all(c["issued"] <= "2021-12-31" for c in result.citations), result.citations
    assert "45-CT/TW" not in result.answer, "not even as the nearest thing offered by a refusal"
    if result.citations:
        assert date_phrase(turn) in result.answer.split("\n")[0], result.answer


def test_a_status_answer_quotes_the_expired_text_as_history() -> None:
    decree = {"n": 1, "label": "Khoản 1 Điều 10, Nghị định", "issued": "2009-10-22", "valid_from": "",
              "valid_to": "2023-07-31", "status": "het-hieu-luc"}
    day = (D(2025, 7, 1), D(2025, 7, 1))
    said = "Nghị định 92/2009/NĐ-CP đã hết hiệu lực từ 01/08/2023, đã được thay bằng Nghị định 33/2023/NĐ-CP. [1]"
    assert audit(said, [decree], *day) == []
    assert audit("Mức phụ cấp bằng 50%. [1]", [decree], *day) != []


# ------------------------------------------------------------------------------- a sentence naming a later text


@pytest.mark.parametrize(("sentence", "end", "named"), [
    ("Mức 50% (Điều 20 Nghị định 33/2023/NĐ-CP, trước đó là Nghị định 92/2009 sửa bởi Nghị định 34/2019).",
     D(2016, 5, 22), "33/2023"),
    ("Mức 50% (Điều 20 Nghị định 33/2023/NĐ-CP).", D(2024, 1, 1), ""),
    ("Theo Chỉ thị 45-CT/TW, bí thư đồng thời là chủ tịch Hội đồng nhân dân.", D(2021, 5, 23), "45-ct/tw"),
    ("theo chi thi 45-ct/tw bi thu dong thoi la chu tich", D(2021, 5, 23), "45-ct/tw"),
    ("Trước ngày 01/7/2025 (bản gốc năm 2015) còn có Ủy ban bầu cử ở huyện.", D(2021, 5, 23), ""),
    ("Luật Bầu cử 85/2015/QH13 quy định Ban bầu cử.", D(2016, 5, 22), ""),
])
def test_a_sentence_that_names_a_later_text_is_found(sentence: str, end: date, named: str) -> None:
    """Principle: for a past day, a sentence naming a text numbered in a later year, or an indexed text issued
    later, tells what nobody knew then; a later *day* alone may be the end of the sentence's own period."""
    numbers = issued_by_number({"ct45": {"number": "45-CT/TW", "issued": "2025-04-14"}})
    assert later_named(sentence, end, numbers) == named


@pytest.mark.parametrize("question", [
    "Phụ cấp kiêm nhiệm của công chức xã là bao nhiêu?",
    "Năm 2016 tôi là công chức tư pháp xã ở Quảng Ngãi, anh Bình chủ tịch giao tôi kiêm thêm văn phòng; "
    "lúc đó phụ cấp kiêm nhiệm là bao nhiêu?",
    "phu cap kiem nhiem cong chuc xa bao nhieu",
])
def test_an_answer_for_a_past_day_quotes_no_sentence_naming_a_later_text(question: str) -> None:
    note = passage("tt78", "Mức phụ cấp kiêm nhiệm bằng 50% theo Điều 20 Nghị định 33/2023/NĐ-CP. "
                   "Mức phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ.", issued="2005-08-10")
    t = turn(question, D(2016, 5, 22))
    texts = [note.text[c.start:c.end] for c in candidates(t, [hit(note)], {})]
    assert texts and not any("33/2023" in x for x in texts), texts
    if "2016" not in question:  # the year the question names wins over the chosen day
        today = [note.text[c.start:c.end] for c in candidates(turn(question), [hit(note)], {})]
        assert any("33/2023" in x for x in today), "for today the sentence is quotable"


# ------------------------------------------------------------------ an expired text the question is about


def _scored(p: Passage, score: float, sentence: float) -> ScoredPassage:
    spans = split_sentences(p.text)[1:]
    return ScoredPassage(p, score, sentences=[SentenceHit(a, b, sentence, sentence, 0.5) for a, b in spans])


@pytest.mark.parametrize("question", [
    "Chính phủ làm việc theo chế độ nào?",
    "Tôi là chuyên viên văn phòng UBND tỉnh Gia Lai, anh Tâm trưởng phòng hỏi tôi: theo luật thì "
    "Chính phủ làm việc theo chế độ tập thể hay thủ trưởng?",
    "chinh phu lam viec theo che do nao",
])
def test_an_expired_text_answers_when_nothing_in_force_is_about_the_question(question: str) -> None:
    """Principle: a rule that stopped applying is quoted (under its period's label) when nothing in force
    answers; an in-force sentence far below it in score is about something else and does not answer."""
    old = passage("luat-cp", "Chính phủ làm việc theo chế độ tập thể, quyết định theo đa số.", issued="2015-06-19",
                  effective="2016-01-01", status="het-hieu-luc")
    other = passage("kl137", "Chức năng, nhiệm vụ của cấp xã do Chính phủ quy định.", issued="2025-03-28")
    t = turn(question)
    cands = candidates(t, [_scored(old, 0.92, 0.95), _scored(other, 0.88, 0.6)], {})
    lead = plan_answer(t, cands).lead
    assert lead is not None and "chế độ tập thể" in lead.text and not lead.in_period
    # an in-force sentence as relevant as the old one still wins: what applies today comes first
    cands = candidates(t, [_scored(old, 0.92, 0.95), _scored(other, 0.9, 0.9)], {})
    assert plan_answer(t, cands).lead.passage.doc_id == "kl137"
    # relevance is compared before the other-period penalty: counted twice, it let a sentence well below the old
    # rule (about something else) answer, because the penalty alone put the old rule below it
    cands = candidates(t, [_scored(old, 0.92, 0.95), _scored(other, 0.88, 0.8)], {})
    lead = plan_answer(t, cands).lead
    assert lead is not None and lead.passage.doc_id == "luat-cp", [(c.text, c.score) for c in cands]


@pytest.mark.parametrize("question", [
    "Ngày truyền thống của Mặt trận là ngày nào?",
    "Tôi là cán bộ Mặt trận xã ở Sóc Trăng, năm 2024 anh Khánh hỏi tôi: ngày truyền thống của Mặt trận Tổ quốc "
    "là ngày nào vậy?",
    "ngay truyen thong cua mat tran la ngay nao",
])
def test_a_codified_article_s_provenance_line_is_never_quoted(question: str) -> None:
    """Principle: Bộ pháp điển writes under every article where it comes from ("(Điều 11 Luật số 75/2015/QH13,
    có hiệu lực …)") and which articles relate to it; that is the article's pedigree, not an answer. A line
    saying the article was repealed or amended stays quotable: that is its status."""
    p = passage("mttq", "(Điều 11 Luật số 75/2015/QH13, có hiệu lực thi hành kể từ ngày 01/01/2016)\n"
                "Ngày 18 tháng 11 hằng năm là Ngày truyền thống của Mặt trận Tổ quốc Việt Nam.\n"
                "(Điều này có nội dung liên quan đến Điều 35.4.LQ.1. Mặt trận Tổ quốc Việt Nam)\n"
                "(Điều 12 Luật số 75/2015/QH13, có nội dung bị bãi bỏ bởi Điều 1 Luật số 83/2025/QH15)",
                issued="2015-06-09")
    texts = [p.text[c.start:c.end] for c in candidates(turn(question), [hit(p)], {})]
    assert any("Ngày 18 tháng 11" in x for x in texts)
    assert not any(x.startswith("(Điều 11") or x.startswith("(Điều này") for x in texts), texts
    if "2024" not in question:  # for 2024, a line naming a 2025 law is not quotable at all
        assert any("bãi bỏ" in x for x in texts)


@pytest.mark.parametrize("question", [
    "Công chức xã kiêm phần việc của công chức khác có được phụ cấp kiêm nhiệm không?",
    "Tôi là công chức văn phòng xã ở Hà Tĩnh, năm 2026 được chủ tịch Hùng giao làm thay phần việc của một "
    "công chức nghỉ thai sản; vậy công chức xã như tôi có được hưởng phụ cấp kiêm nhiệm không?",
    "cong chuc xa kiem phan viec cua cong chuc khac co duoc phu cap kiem nhiem khong",
])
def test_what_is_gone_for_another_post_is_not_gone_for_the_asked_one(question: str) -> None:
    """Principle: "cấp xã không còn dùng người hoạt động không chuyên trách" says a post is gone; it is no
    "Không." for a công chức xã, whose post the sentence does not name."""
    gone = passage("reform", "Mô hình người hoạt động không chuyên trách kiêm nhiệm ở cấp xã không còn cơ sở vì "
                   "cấp xã không còn dùng người hoạt động không chuyên trách.", valid_from="2025-07-01")
    t = turn(question)
    plan = plan_answer(t, candidates(t, [hit(gone)], {}))
    assert not plan.gone


@pytest.mark.parametrize("question", [
    "Phó bí thư đảng ủy xã có được kiêm chủ tịch HĐND xã không?",
    "Tôi là phó bí thư thường trực đảng ủy một xã ở Tuyên Quang, năm 2026 anh Dũng bí thư hỏi: phó bí thư "
    "đảng ủy xã có được đồng thời làm chủ tịch HĐND xã không?",
    "pho bi thu dang uy xa co duoc kiem chu tich hdnd xa khong",
])
def test_a_yes_no_rule_said_only_of_another_level_does_not_lead(question: str) -> None:
    """Principle: whether a post may hold another is asked of one level; a rule said only of another level (a
    provincial standing member's two posts) does not answer a commune's question while one of its level does."""
    province = passage("ct45", "Thường trực cấp ủy cấp tỉnh không giữ quá 2 chức danh bí thư, phó bí thư, chủ tịch "
                       "Hội đồng nhân dân.", issued="2025-04-14")
    commune = passage("ct45b", "Ở cấp xã, bí thư hoặc phó bí thư cấp ủy đồng thời là chủ tịch Hội đồng nhân dân.",
                      issued="2025-04-14")
    t = turn(question)
    cands = candidates(t, [_scored(province, 0.93, 0.9), _scored(commune, 0.9, 0.8)], {})
    assert plan_answer(t, cands).lead.passage.doc_id == "ct45b"


@pytest.mark.parametrize("question", [
    "Phụ cấp kiêm nhiệm của công chức xã là bao nhiêu?",
    "Năm 2016 tôi là công chức tư pháp xã ở Quảng Ngãi, anh Bình chủ tịch giao kiêm thêm văn phòng; phụ cấp kiêm "
    "nhiệm của công chức xã lúc đó là bao nhiêu?",
    "phu cap kiem nhiem cua cong chuc xa la bao nhieu",
])
def test_the_later_line_names_the_rule_in_force_the_day_after_the_quoted_one_ended(question: str) -> None:
    """Principle: "Sau ngày D: … từ X áp dụng quy định mới (…)" names the rule that applies the day after the
    quoted rule ended, not any later text (a 2025 summary for a decree replaced in 2023)."""
    old = passage("nd92", "Mức phụ cấp kiêm nhiệm bằng 20% mức lương hiện hưởng.", issued="2009-10-22",
                  valid_to="2023-07-31", label="Khoản 1 Điều 10, Nghị định 92/2009")
    successor = passage("nd33", "Mức phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1.", issued="2023-06-10",
                        valid_from="2023-08-01", label="Điều 20, Nghị định 33/2023")
    summary = passage("reform", "Mức phụ cấp kiêm nhiệm sau cải cách bằng 50% mức lương bậc 1.",
                      valid_from="2025-07-01", label="Tình trạng sau cải cách, Tổng hợp 2025")
    t = turn(question, D(2016, 5, 22))
    line = old.text.splitlines()[1]
    ans = Answer(f"{line} [1]", [Citation(1, hit(old), line)])
    out = place_in_time(t, ans, [hit(summary, 0.95), hit(successor, 0.9)], {})
    later = [ln for ln in out.text.split("\n") if ln.startswith(LATER_LABEL)]
    assert later == [f"{LATER_LABEL} {'22/05/2016' if '2016' not in question else '31/12/2016'}: quy định trên áp "
                     "dụng đến 31/07/2023; từ 01/08/2023 áp dụng quy định mới (Điều 20, Nghị định 33/2023)."], out.text
