"""How much, and for which level: a count of posts is not an amount of money, and a sentence that names no level
speaks for the level its article's heading names. Hand-made passages, no model; three wordings per rule
(short, a long story with a place, a year and a name that do not matter, and without diacritics).
"""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answering.candidates import candidates
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.figures import amount_ask, asked_unit, asks_rate, has_rate, names_allowance
from assistant.answering.messages import NO_FIGURE_PART
from assistant.answering.planning import plan_answer
from assistant.answering.sentences import list_lead_in
from assistant.answering.turn import build_turn
from assistant.config import Settings
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage, SentenceHit
from assistant.text import fold, split_sentences

TODAY = date(2026, 11, 30)


def article(pid: str, heading: str, body: str) -> Passage:
    text = f"{heading}\n{body}"
    return Passage(id=f"{pid}::1", doc_id=pid, title=pid, section=heading.split(".")[0], heading=heading,
                   label=f"{heading.split('.')[0]}, {pid}", text=text, start=0, end=len(text), kind="nghi-dinh",
                   status="con-hieu-luc", issued="2023-06-10")


def scored(p: Passage, score: float, sentence: float) -> ScoredPassage:
    spans = split_sentences(p.text)[1:]
    return ScoredPassage(p, score, sentences=[SentenceHit(a, b, sentence - 0.01 * i, sentence, 0.5)
                                              for i, (a, b) in enumerate(spans)])


@pytest.mark.parametrize(("sentence", "rate"), [
    ("Phụ cấp hằng tháng ở mỗi thôn chỉ dành cho tối đa 03 chức danh không chuyên trách.", False),
    ("Mỗi thôn có từ 350 hộ trở lên.", False),
    ("Mức phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1.", True),
    ("Mức 6,0 lần mức lương cơ sở: áp dụng cho thôn từ 350 hộ trở lên.", True),
    ("Mức 10% của Thông tư 78/2005 là chế độ chung.", True),  # "mức 10%" folds like "mục 10": a rate, not a section
    ("Theo Mục 10 của Thông tư 78/2005.", False),
])
def test_a_count_of_posts_or_households_is_not_an_amount(sentence: str, rate: bool) -> None:
    """Principle: "how much is the allowance" asks for money; "03 chức danh" says who is paid, not how much."""
    assert has_rate(fold(sentence)) is rate


@pytest.mark.parametrize("question", [
    "Phụ cấp của trưởng thôn kiêm công an viên tính thế nào?",
    "Tôi ở Yên Bái, năm 2024 được bầu làm trưởng thôn, anh Hải bí thư giao kiêm luôn công an viên thôn; "
    "vậy phụ cấp của tôi được tính thế nào?",
    "phu cap truong thon kiem cong an vien tinh the nao",
])
def test_who_is_paid_does_not_answer_how_much(question: str) -> None:
    who = article("nd33a", "Điều 33. Người hoạt động không chuyên trách ở thôn",
                  "Phụ cấp hằng tháng ở mỗi thôn chỉ dành cho tối đa 03 chức danh: Bí thư chi bộ; Trưởng thôn; "
                  "Trưởng Ban công tác Mặt trận.")
    how = article("nd33b", "Điều 34. Quỹ phụ cấp khoán ở thôn",
                  "Mức 6,0 lần mức lương cơ sở áp dụng cho thôn từ 350 hộ trở lên.")
    t = build_turn(question, today=TODAY)
    plan = plan_answer(t, candidates(t, [scored(who, 0.9, 0.86), scored(how, 0.88, 0.84)], {}))
    assert plan.lead is not None and plan.lead.passage.doc_id == "nd33b", plan.lead.text if plan.lead else None


COMMUNE = article("nd33-20", "Điều 20. Phụ cấp kiêm nhiệm chức vụ, chức danh của cán bộ, công chức cấp xã",
                  "Mức phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ lãnh đạo.")
VILLAGE = article("nd33-34", "Điều 34. Quỹ phụ cấp khoán ở thôn, tổ dân phố",
                  "Mức phụ cấp cụ thể cho từng chức danh ở thôn, tổ dân phố do Hội đồng nhân dân cấp tỉnh "
                  "quyết định, trong phạm vi 4,5 lần mức lương cơ sở.")


@pytest.mark.parametrize("question", [
    "Ở thôn thì phụ cấp kiêm nhiệm bao nhiêu?",
    "Tôi là bí thư chi bộ một thôn ở Thanh Hóa, từ năm 2024 anh Lâm bí thư đảng ủy giao kiêm trưởng thôn; "
    "ở thôn như tôi thì phụ cấp kiêm nhiệm được bao nhiêu?",
    "o thon thi phu cap kiem nhiem bao nhieu",
])
def test_a_sentence_without_a_level_speaks_for_its_heading_s_level(question: str) -> None:
    """Principle: "Mức phụ cấp kiêm nhiệm bằng 50%…" under "…của cán bộ, công chức cấp xã" is a commune's rate; a
    village's question is answered by the village's rule, even when the commune's sentence scores higher."""
    t = build_turn(question, today=TODAY)
    plan = plan_answer(t, candidates(t, [scored(COMMUNE, 0.92, 0.9), scored(VILLAGE, 0.88, 0.82)], {}))
    assert plan.lead is not None and plan.lead.passage.doc_id == "nd33-34", plan.lead.text if plan.lead else None
    assert all("50%" not in c.text for c in plan.support)


def test_the_commune_s_rate_still_answers_the_commune() -> None:
    t = build_turn("Công chức xã kiêm nhiệm chức danh khác được phụ cấp bao nhiêu?", today=TODAY)
    plan = plan_answer(t, candidates(t, [scored(COMMUNE, 0.92, 0.9), scored(VILLAGE, 0.88, 0.82)], {}))
    assert plan.lead is not None and "50%" in plan.lead.text


@pytest.mark.parametrize("question", [
    "Bí thư chi bộ có được kiêm trưởng thôn không? Nếu kiêm thì phụ cấp bao nhiêu?",
    "Tôi là bí thư chi bộ một thôn ở Hà Giang, năm 2025 anh Tùng bí thư đảng ủy đề nghị tôi kiêm luôn trưởng "
    "thôn. Tôi có được kiêm trưởng thôn không? Nếu kiêm thì phụ cấp tính thế nào?",
    "bi thu chi bo co duoc kiem truong thon khong? neu kiem thi phu cap bao nhieu?",
])
def test_a_missing_figure_does_not_refuse_the_other_question(question: str) -> None:
    """Principle: a message asking whether a post may be held and how much it pays is answered on the first
    part when the sources give no figure, and says the figure is not there: partial, never all-or-nothing."""
    rule = article("nd33", "Điều 33. Người hoạt động không chuyên trách ở thôn",
                   "Nghị định khuyến khích Bí thư chi bộ kiêm nhiệm chức danh Trưởng thôn.")
    t = build_turn(question, today=TODAY)
    ans = ExtractiveAnswerer(Settings()).answer(t, [scored(rule, 0.9, 0.85)], {})
    assert not ans.refused, ans.text
    assert "khuyến khích Bí thư chi bộ kiêm nhiệm" in ans.text
    assert NO_FIGURE_PART in ans.text


@pytest.mark.parametrize("question", [
    "Phụ cấp trưởng thôn bao nhiêu?",
    "Tôi mới được bầu làm trưởng thôn ở Nghệ An năm 2024, chị Hoa kế toán xã nói phụ cấp do tỉnh định; vậy phụ "
    "cấp trưởng thôn là bao nhiêu?",
    "phu cap truong thon la bao nhieu",
])
def test_who_fixes_the_amount_answers_how_much(question: str) -> None:
    """Principle: where the sources fix no national figure, "mức … do Hội đồng nhân dân cấp tỉnh quyết định" is
    the answer to "how much" (where the figure is set), not a reason to say the sources give no figure."""
    only = article("nd33-34", "Điều 34. Phụ cấp ở thôn, tổ dân phố",
                   "Mức phụ cấp cụ thể cho từng chức danh ở thôn, tổ dân phố do Hội đồng nhân dân cấp tỉnh quyết "
                   "định.")
    t = build_turn(question, today=TODAY)
    ans = ExtractiveAnswerer(Settings()).answer(t, [scored(only, 0.9, 0.85)], {})
    assert not ans.refused and "Hội đồng nhân dân cấp tỉnh" in ans.text, ans.text


@pytest.mark.parametrize("question", [
    "Người hoạt động không chuyên trách kiêm chức danh khác thì phụ cấp bao nhiêu?",
    "Tôi là người hoạt động không chuyên trách ở một xã của Lạng Sơn, năm 2024 chủ tịch Bình giao kiêm thêm "
    "một chức danh; phụ cấp kiêm nhiệm của tôi là bao nhiêu?",
    "nguoi hoat dong khong chuyen trach kiem chuc danh khac phu cap bao nhieu",
])
def test_a_far_lower_figure_of_the_same_period_is_not_the_asked_one(question: str) -> None:
    """Principle: when the best sentence gives no figure, a figure far below it from the same period is another
    post's (a chairman's coefficient); only the same rule's figure from another period may stand in, labelled."""
    rule = article("nd33-33", "Điều 33. Người hoạt động không chuyên trách",
                   "Người hoạt động không chuyên trách có thể kiêm thêm chức danh không chuyên trách khác.")
    other = article("nd07", "Điều 1. Phụ cấp chức vụ",
                    "Hệ số phụ cấp chức vụ của Chủ tịch Ủy ban nhân dân cấp xã là 0,70.")
    t = build_turn(question, today=TODAY)
    plan = plan_answer(t, candidates(t, [scored(rule, 0.92, 0.95), scored(other, 0.8, 0.72)], {}))
    assert plan.lead is None or "0,70" not in plan.lead.text


HISTORY = [{"role": "user", "content": "Mỗi thôn có tối đa mấy chức danh hưởng phụ cấp hằng tháng?"},
           {"role": "assistant", "content": "Theo khoản 6 Điều 33, tối đa 03 chức danh."}]


@pytest.mark.parametrize("question", [
    "Quỹ phụ cấp thì bao nhiêu?",
    "Thôn tôi ở Phú Thọ có khoảng 400 hộ, năm 2024 anh Quang trưởng thôn hỏi tôi: còn quỹ phụ cấp khoán cho thôn "
    "thì bao nhiêu?",
    "con quy phu cap thi bao nhieu",
])
def test_a_follow_up_asks_its_own_amount(question: str) -> None:
    """Principle: the previous question lends a follow-up its subject, not its unit: after "tối đa mấy chức danh",
    "quỹ phụ cấp thì bao nhiêu?" asks for money, and a count of posts does not answer it."""
    t = build_turn(question, HISTORY, today=TODAY)
    assert asks_rate(amount_ask(t)) and asked_unit(amount_ask(t)) is None
    posts = article("nd33a", "Điều 33. Người hoạt động không chuyên trách ở thôn",
                    "Phụ cấp hằng tháng ở mỗi thôn chỉ dành cho tối đa 03 chức danh không chuyên trách.")
    fund = article("nd33b", "Điều 34. Quỹ phụ cấp khoán ở thôn", "Mức 4,5 lần mức lương cơ sở áp dụng cho mọi thôn.")
    plan = plan_answer(t, candidates(t, [scored(posts, 0.92, 0.9), scored(fund, 0.88, 0.84)], {}))
    assert plan.lead is not None and "4,5 lần" in plan.lead.text, plan.lead.text if plan.lead else None


@pytest.mark.parametrize("question", [
    "Cấp huyện chiếm bao nhiêu?",
    "Tôi đọc tin ở Bến Tre năm 2023 thấy anh Tư nói nhiều lắm; riêng cấp huyện thì chiếm bao nhiêu?",
    "cap huyen chiem bao nhieu",
])
def test_a_follow_up_without_its_own_unit_keeps_the_previous_one(question: str) -> None:
    """Principle: a follow-up that names only a level ("cấp huyện chiếm bao nhiêu?") still counts what the previous
    question counted (trường hợp)."""
    history = [{"role": "user", "content": "Bến Tre có bao nhiêu trường hợp kiêm nhiệm?"},
               {"role": "assistant", "content": "Sau hai năm có 1.017 trường hợp."}]
    t = build_turn(question, history, today=TODAY)
    if t.focus is not None:
        assert asked_unit(amount_ask(t)) is not None


LIST_ARTICLE = article("luat-37", "Điều 37. Những trường hợp không được ứng cử",
                       "Không được ứng cử đại biểu Quốc hội hoặc đại biểu Hội đồng nhân dân đối với:\n"
                       "1. Người đang chấp hành hình phạt tù;\n2. Người đang bị khởi tố bị can;\n"
                       "3. Người bị mất năng lực hành vi dân sự.\n" + "".join(
                           f"{i}. Người đang chấp hành biện pháp xử lý hành chính đưa vào cơ sở giáo dục bắt buộc, "
                           f"cơ sở cai nghiện bắt buộc hoặc giáo dục tại xã, phường, đặc khu theo quyết định số {i}.\n"
                           for i in range(4, 9)))  # longer than a quote may run: the items are quoted alone


@pytest.mark.parametrize("question", [
    "Người đang chấp hành hình phạt tù có được ứng cử đại biểu HĐND không?",
    "Em trai tôi ở Cà Mau năm 2025 đang chấp hành hình phạt tù, anh Tám hàng xóm bảo vẫn ra ứng cử được; vậy người "
    "đang chấp hành hình phạt tù có được ứng cử đại biểu HĐND không?",
    "nguoi dang chap hanh hinh phat tu co duoc ung cu dai bieu hdnd khong",
])
def test_a_list_item_is_judged_with_its_lead_in(question: str) -> None:
    """Principle: "Người đang chấp hành hình phạt tù;" is an item of "Không được ứng cử … đối với:"; the yes/no
    verdict is the lead-in's, read with the item."""
    t = build_turn(question, today=TODAY)
    body = LIST_ARTICLE.text.index("\n") + 1
    spans = [(a, b) for a, b in split_sentences(LIST_ARTICLE.text) if a >= body]
    item = LIST_ARTICLE.text.index("1. Người")  # the item scores best, its lead-in low (as retrieval ranks them)
    hit = ScoredPassage(LIST_ARTICLE, 0.9, sentences=[SentenceHit(a, b, 0.95 if a == item else 0.5, 0.9, 0.5)
                                                      for a, b in spans])
    ans = ExtractiveAnswerer(Settings()).answer(t, [hit], {})
    assert ans.text.startswith("Không."), ans.text
    assert list_lead_in(LIST_ARTICLE.text, LIST_ARTICLE.text.index("2. Người")).startswith("Không được ứng cử")
    assert list_lead_in(LIST_ARTICLE.text, LIST_ARTICLE.text.index("Không được")) is None


@pytest.mark.parametrize("question", [
    "Phụ cấp kiêm nhiệm chức danh người đứng đầu là bao nhiêu?",
    "Tôi là phó giám đốc sở ở Bình Định, năm 2024 anh Khoa giám đốc giao tôi kiêm giám đốc một trung tâm; phụ cấp "
    "kiêm nhiệm chức danh người đứng đầu là bao nhiêu?",
    "phu cap kiem nhiem chuc danh nguoi dung dau la bao nhieu",
])
def test_the_same_text_s_figure_answers_even_far_below(question: str) -> None:
    """Principle: when the best sentence gives no figure, the figure of the same text answers even well below it
    (its rate, after its "only one allowance" rule); it is another text's figure that far below that does not."""
    rule = article("tt78", "Mục 2. Mức phụ cấp kiêm nhiệm",
                   "Người kiêm nhiệm nhiều chức danh lãnh đạo đứng đầu cũng chỉ được hưởng một mức phụ cấp kiêm "
                   "nhiệm.\nCông thức: phụ cấp kiêm nhiệm = 10% × lương đang hưởng.")
    t = build_turn(question, today=TODAY)
    spans = [(a, b) for a, b in split_sentences(rule.text) if a > rule.text.index("\n")]
    hit = ScoredPassage(rule, 0.9, sentences=[SentenceHit(a, b, 0.95 if i == 0 else 0.62, 0.9, 0.5)
                                              for i, (a, b) in enumerate(spans)])
    plan = plan_answer(t, candidates(t, [hit], {}))
    assert plan.lead is not None and "10%" in plan.lead.text, plan.lead.text if plan.lead else None


@pytest.mark.parametrize("question", [
    "Phụ cấp kiêm nhiệm tính thế nào?",
    "Tôi là người hoạt động không chuyên trách ở một xã của Sơn La, năm 2024 chủ tịch Lò giao kiêm thêm việc; vậy "
    "phụ cấp kiêm nhiệm của tôi tính thế nào?",
    "phu cap kiem nhiem tinh the nao",
])
def test_a_stand_in_figure_names_the_asked_allowance(question: str) -> None:
    """Principle: "phụ cấp kiêm nhiệm tính thế nào?" is not answered by a coefficient of "phụ cấp chức vụ lãnh
    đạo", even one found in the same summary as the best sentence."""
    t = build_turn(question, today=TODAY)
    assert names_allowance(t, fold("phụ cấp kiêm nhiệm = 10% × lương đang hưởng"))
    assert not names_allowance(t, fold("hệ số phụ cấp chức vụ lãnh đạo của Chủ tịch là 0,70"))
    summary = article("cai-cach", "Mục 3. Phụ cấp và chính sách",
                      "Người hoạt động không chuyên trách có thể kiêm thêm chức danh khác.\n"
                      "Hệ số phụ cấp chức vụ lãnh đạo của Chủ tịch Ủy ban nhân dân xã là 0,70.")
    spans = [(a, b) for a, b in split_sentences(summary.text) if a > summary.text.index("\n")]
    hit = ScoredPassage(summary, 0.9, sentences=[SentenceHit(a, b, 0.95 if i == 0 else 0.62, 0.9, 0.5)
                                                 for i, (a, b) in enumerate(spans)])
    plan = plan_answer(t, candidates(t, [hit], {}))
    assert plan.lead is None or "0,70" not in plan.lead.text
