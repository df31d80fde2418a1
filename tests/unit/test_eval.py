"""Evaluation without the model: metric functions on hand-made data, the gold-set file, report
rendering and the ALQAC adapter's parsing (the gate and the command run in ``tests/integration/test_eval_gate.py``)."""

from __future__ import annotations

import json
import math
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import evaluation as ev
from assistant.ingest.chunking import chunk_document
from tests.support import REPO

QUESTIONS = REPO / "eval" / "questions.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------
# ranking metrics
# --------------------------------------------------------------------------------------------


def test_hit_at_k_and_reciprocal_rank() -> None:
    rel = [False, True, False, True]
    assert ev.hit_at_k(rel, 1) == 0.0
    assert ev.hit_at_k(rel, 2) == 1.0
    assert ev.hit_at_k([], 5) == 0.0
    assert ev.reciprocal_rank(rel) == 0.5
    assert ev.reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert ev.reciprocal_rank([False, False, True], k=2) == 0.0
    assert ev.reciprocal_rank([False, False]) == 0.0


def test_ndcg_known_values() -> None:
    # relevant at ranks 2 and 3, two relevant units: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3)
    gains = ev.first_occurrence_gains([None, "a", "b"])
    assert gains == [0.0, 1.0, 1.0]
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert ev.ndcg_at_k(gains, 5, 2) == pytest.approx(expected)
    assert ev.ndcg_at_k([1.0, 0.0], 5, 1) == 1.0
    assert ev.ndcg_at_k([0.0, 0.0], 5, 1) == 0.0
    assert ev.ndcg_at_k([1.0], 5, 0) == 0.0  # nothing relevant exists: defined as 0
    # a unit counts once: two passages of the same gold document are not both gains
    assert ev.first_occurrence_gains(["a", "a", None, "b"]) == [1.0, 0.0, 0.0, 1.0]
    assert ev.ndcg_at_k(ev.first_occurrence_gains(["a", "a"]), 5, 1) == 1.0
    # only the first k positions count
    assert ev.ndcg_at_k([0.0] * 5 + [1.0], 5, 1) == 0.0


def test_ranking_metrics_document_and_section_level() -> None:
    passages = [
        {"doc_id": "x", "section": "Điều 1"},
        {"doc_id": "luat", "section": "Điều 25"},
        {"doc_id": "luat", "section": "Điều 24"},
        {"doc_id": "hoi-dap", "section": "Trả lời"},
    ]
    gold_ids, gold_sections = ["luat", "hoi-dap"], ["Điều 24", "Trả lời"]
    dk = ev.doc_keys(passages, gold_ids)
    sk = ev.section_keys(passages, gold_ids, gold_sections)
    assert dk == [None, "luat", "luat", "hoi-dap"]
    assert sk == [None, None, ("luat", "Điều 24"), ("hoi-dap", "Trả lời")]
    d = ev.ranking_metrics(dk, n_relevant=2)
    s = ev.ranking_metrics(sk, n_relevant=2)
    assert (d["hit@1"], d["hit@3"], d["hit@5"], d["mrr"]) == (0.0, 1.0, 1.0, 0.5)
    assert (s["hit@1"], s["hit@3"], s["hit@5"]) == (0.0, 1.0, 1.0)
    assert s["mrr"] == pytest.approx(1 / 3)
    ideal = 1 + 1 / math.log2(3)
    assert d["ndcg@5"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert s["ndcg@5"] == pytest.approx((1 / math.log2(4) + 1 / math.log2(5)) / ideal)
    assert ev.first_relevant_rank(sk) == 3
    assert ev.first_relevant_rank([None]) is None


def test_percentile_and_mean() -> None:
    assert ev.percentile([4, 1, 3, 2], 50) == 2.5
    assert ev.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert ev.percentile([7], 95) == 7
    assert ev.percentile([], 50) is None
    assert ev.mean([1, None, 3]) == 2
    assert ev.mean([None]) is None


# --------------------------------------------------------------------------------------------
# citations, key facts, refusals
# --------------------------------------------------------------------------------------------

TEXTS = {
    "luat::dieu-24": "Điều 24. Ban bầu cử\nBan bầu cử đại biểu Hội đồng nhân dân cấp xã có từ 9 đến 15 thành viên.",
    "hoi-dap::tra-loi": "Trả lời\nNgười ứng cử không được là thành viên Tổ bầu cử.",
}


def _cit(n: int, pid: str, quote: str, doc: str | None = None) -> dict[str, object]:
    return {"n": n, "passage_id": pid, "quote": quote, "doc_id": doc or pid.split("::")[0]}


def test_citation_validity_accepts_verbatim_quotes() -> None:
    cits = [_cit(1, "luat::dieu-24", "Ban bầu cử đại biểu Hội đồng nhân dân cấp xã có từ 9 đến 15 thành viên."),
            _cit(2, "hoi-dap::tra-loi", "Người ứng cử không được là thành viên Tổ bầu cử.")]
    answer = "Ban bầu cử cấp xã có từ 9 đến 15 thành viên. [1]\nNgười ứng cử không được là thành viên. [2]"
    assert ev.citation_problems(answer, cits, TEXTS) == []
    assert ev.citation_problems(answer, cits, TEXTS.get) == []  # a lookup function works too


def test_citation_validity_catches_a_bad_quote() -> None:
    cits = [_cit(1, "luat::dieu-24", "Ban bầu cử cấp xã có từ 9 đến 17 thành viên.")]  # not in the passage
    problems = ev.citation_problems("Có từ 9 đến 17 thành viên. [1]", cits, TEXTS)
    assert len(problems) == 1 and "not verbatim" in problems[0]
    assert ev.citation_problems("x [1]", [_cit(1, "luat::dieu-24", "")], TEXTS) == ["[1] has an empty quote"]
    unknown = ev.citation_problems("x [1]", [_cit(1, "khong-co::x", "x")], TEXTS)
    assert "not in the index" in unknown[0]


def test_citation_validity_catches_an_unresolved_marker() -> None:
    cits = [_cit(1, "luat::dieu-24", "có từ 9 đến 15 thành viên.")]
    problems = ev.citation_problems("Có từ 9 đến 15 thành viên [1], theo hướng dẫn [3].", cits, TEXTS)
    assert problems == ["marker [3] resolves to no citation"]


def test_citation_precision_recall() -> None:
    cits = [_cit(1, "luat::a", "q"), _cit(2, "luat::b", "q"), _cit(3, "tin::c", "q")]
    p, r = ev.citation_precision_recall(cits, ["luat", "hoi-dap"])
    assert p == pytest.approx(2 / 3) and r == 0.5
    assert ev.citation_precision_recall([], ["luat"]) == (None, 0.0)
    assert ev.citation_precision_recall(cits, []) == (pytest.approx(0.0), None)


def test_key_fact_matching_normalises() -> None:
    answer = unicodedata.normalize("NFD", "Ban bầu cử có TỪ  9 đến\n15 thành viên [1]")
    assert ev.key_fact_hits(answer, ["9 đến 15", "từ 9", "9 đến 17"]) == [True, True, False]
    assert ev.key_fact_hits(answer, ["9 den 15"]) == [False]
    assert ev.key_fact_hits(answer, ["9 den 15", "Thanh Vien"], fold_diacritics=True) == [True, True]
    assert ev.normalize_for_match(" Đơn  XIN\trút ") == "đơn xin rút"


def test_refusal_metrics() -> None:
    refused = [True, False, True, False, False]
    answerable = [True, True, False, False, True]
    m = ev.refusal_metrics(refused, answerable)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["over_refusal"] == pytest.approx(1 / 3)
    assert m["under_refusal"] == pytest.approx(1 / 2)
    assert (m["over_refused"], m["under_refused"], m["n_answerable"], m["n_unanswerable"]) == (1, 1, 3, 2)
    with pytest.raises(ValueError):
        ev.refusal_metrics([True], [])


def _result(answer: str, refused: bool, passages: list[dict], citations: list[dict], ms: float = 10.0):
    return SimpleNamespace(answer=answer, refused=refused, passages=passages, citations=citations,
                           timings_ms={"total": ms}, query="")


def test_question_rows_and_summary() -> None:
    good = ev.GoldQuestion("q1", "Ban bầu cử cấp xã có bao nhiêu thành viên?", True, ["luat"], ["Điều 24"],
                           ["9 đến 15"])
    refuse = ev.GoldQuestion("q2", "Thời tiết hôm nay?", False, [], [], [])
    over = ev.GoldQuestion("q3", "Tổ bầu cử?", True, ["hoi-dap"], ["Trả lời"], ["Tổ bầu cử"])
    p24 = {"doc_id": "luat", "section": "Điều 24", "label": "Điều 24", "score": 0.9, "passage_id": "luat::dieu-24"}
    rows = [
        ev.evaluate_question(good, _result("Có từ 9 đến 15 thành viên. [1]", False, [p24],
                                           [_cit(1, "luat::dieu-24", "có từ 9 đến 15 thành viên.")], 100),
                             TEXTS.get, 1),
        ev.evaluate_question(refuse, _result("Xin lỗi…", True, [], [], 20), TEXTS.get, 1),
        ev.evaluate_question(over, _result("Xin lỗi…", True, [p24], [], 30), TEXTS.get, 1),
    ]
    assert rows[0]["failures"] == [] and rows[0]["citation_valid"] is True
    assert rows[1]["failures"] == [] and "citation_valid" not in rows[1]
    assert rows[2]["failures"] == ["doc_miss@5", "over_refusal"]
    m = ev.summarize(rows)
    assert m["retrieval"]["document"]["hit@1"] == 0.5
    assert m["refusal"]["accuracy"] == pytest.approx(2 / 3)
    assert m["citations"] == {"precision": 1.0, "recall": 1.0, "n": 1, "validity": 1.0, "validity_n": 1,
                              "invalid": 0}
    assert m["key_facts"]["coverage"] == 0.5 and m["key_facts"]["coverage_answered"] == 1.0
    assert m["latency_ms"]["p50"] == 30.0


# --------------------------------------------------------------------------------------------
# answers a reader accepts: first sentence, verdict, forbidden claims, premises, periods
# --------------------------------------------------------------------------------------------


def test_first_sentence_is_the_first_line_before_its_marker() -> None:
    assert ev.first_sentence("Không được. Người ứng cử không được là thành viên. [1]\nNếu đã là … [1]") == (
        "Không được. Người ứng cử không được là thành viên.")
    assert ev.first_sentence("\n  Có từ 9 đến 15 thành viên [2], theo Điều 24 [1]") == "Có từ 9 đến 15 thành viên"
    assert ev.first_sentence("Xin lỗi, các nguồn hiện có không trả lời được.") == (
        "Xin lỗi, các nguồn hiện có không trả lời được.")
    assert ev.first_sentence("") == ""


def test_phrases_match_whole_with_or_without_diacritics() -> None:
    assert ev.phrase_count("Ban bầu cử có từ 9 đến 15 thành viên", "9 đến 15") == 1
    assert ev.phrase_count("có từ 9 đến 150 thành viên", "9 đến 15") == 0  # no match inside a longer number
    assert ev.phrase_count("nhiệm kỳ 2026–2031", "26") == 0
    assert ev.phrase_count("Cấp huyện: 26 trường hợp", "26") == 1
    assert ev.phrase_count("mức 10% tính trên lương", "10%") == 1 and ev.phrase_count("110%", "10%") == 0
    assert ev.phrase_count(unicodedata.normalize("NFD", "KHÔNG ĐƯỢC là  thành viên"), "không được là thành viên") == 1
    assert ev.phrase_count("khong duoc la thanh vien", "không được là thành viên") == 1  # folded answer
    assert ev.lead_hit("Ban bầu cử cấp tỉnh có từ 11–15 thành viên", ["11 đến 15", "11–15"])
    assert not ev.lead_hit("Ban bầu cử cấp tỉnh có từ 11 đến 13 người", ["11 đến 15", "11–15"])
    answer = "Cấp tỉnh từ 11 đến 13 người [1]\nHiện nay 11 đến 15; trước đây 11 đến 13. [2]"
    assert ev.forbidden_hits(answer, ["11 đến 13", "7 đến 9"]) == {"11 đến 13": 2}


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Không được. Người ứng cử không được là thành viên Ban bầu cử.", "no"),
    ("Được, nếu đơn vị bầu cử chỉ có một khu vực bỏ phiếu.", "yes"),
    ("Chưa. Việc này chưa xác minh.", "no"),
    ("Người ứng cử đại biểu Quốc hội không được là thành viên Ban bầu cử hoặc Tổ bầu cử ở chính đơn vị bầu cử", "no"),
    ("Thôn, tổ dân phố là tổ chức tự quản của cộng đồng, không phải một cấp hành chính", "no"),
    ("thường trực cấp ủy cấp tỉnh về cơ bản không giữ quá 2 chức danh", "no"),
    ("Hai nghị định này nay đã được thay bằng Nghị định 33/2023/NĐ-CP (hiệu lực từ 01/8/2023)", "no"),
    ("Nghị định 92/2009/NĐ-CP đã hết hiệu lực.", "no"),
    ("khoản 3 Điều 63 cấm thành viên mọi tổ chức phụ trách bầu cử vận động bầu cử giúp người ứng cử.", "no"),
    ("Về nguyên tắc là được, trừ trường hợp người đó là người ứng cử.", "yes"),
    ("Luật không có điều nào cấm một người đồng thời tham gia nhiều tổ chức phụ trách bầu cử", "yes"),
    ("Nghị định khuyến khích Bí thư chi bộ kiêm nhiệm chức danh Trưởng thôn", "yes"),
    # term-internal negation, a parenthesis and a concession do not make a "no"
    ("Theo tóm lược (khoản cụ thể chưa xác minh): một người hoạt động không chuyên trách có thể kiêm thêm", "yes"),
    ("Ở miền núi, khu vực bỏ phiếu có thể được lập dù chưa đủ 300 cử tri.", "yes"),
    ("Nếu không có đơn xin rút, cơ quan đã quyết định thành lập ra quyết định xóa tên người ứng cử", "yes"),
    ("", None),
])
def test_polarity(sentence: str, expected: str | None) -> None:
    assert ev.polarity(sentence) == expected


def test_polarity_reads_the_clause_that_carries_the_lead() -> None:
    s = ("Một Phó Giám đốc sở kiêm Giám đốc trung tâm thì hưởng thêm phụ cấp kiêm nhiệm; nếu chỉ kiêm chức danh "
         "cấp phó thì không có phụ cấp kiêm nhiệm theo quy định này.")
    assert ev.polarity(s) == "yes"
    assert ev.polarity(s, ["không có phụ cấp kiêm nhiệm"]) == "no"


def _q(qid: str, answerable: bool = True, **kw: object) -> ev.GoldQuestion:
    gold = ["luat"] if answerable else []
    return ev.GoldQuestion(qid, f"câu {qid}?", answerable, gold, ["Điều 24"] if answerable else [], [], **kw)


def test_reader_checks_per_question() -> None:
    q = _q("a", lead=["không được là thành viên"], verdict="no", forbid=["9 đến 17"])
    row, fails = ev.reader_checks(q, "Người ứng cử không được là thành viên Ban bầu cử. [1]\nKhác. [2]", False)
    assert fails == [] and row["lead_ok"] and row["verdict_ok"] and row["forbidden"] == {}
    # the lead only in sentence two, the verdict reads yes, a forbidden figure anywhere
    row, fails = ev.reader_checks(q, "Ban bầu cử có từ 9 đến 17 thành viên. [1]\nNgười ứng cử không được là "
                                     "thành viên. [1]", False)
    assert fails == ["lead_missing", "verdict_wrong", "forbidden_claim"]
    assert row["verdict_got"] == "yes" and row["forbidden"] == {"9 đến 17": 1}
    # a refusal carries no lead and agrees with no verdict
    row, fails = ev.reader_checks(q, "Xin lỗi, các nguồn không có. Không được hỏi thêm.", True)
    assert not row["lead_ok"] and row["verdict_got"] is None and "verdict_wrong" in fails
    # premise questions: refused, and whether the refusal names the missing thing
    p = _q("p", answerable=False, premise="99/2024")
    row, _ = ev.reader_checks(p, "Các nguồn không có Nghị định 99/2024.", True)
    assert row["premise_refused"] and row["premise_named"]
    row, _ = ev.reader_checks(p, "Xin lỗi, không trả lời được.", True)
    assert row["premise_refused"] and not row["premise_named"]
    row, _ = ev.reader_checks(p, "Mức phụ cấp là 50%. [1]", False)
    assert not row["premise_refused"]
    # period questions: the lead first and no other period's figure
    old = _q("t", lead=["11 đến 13"], forbid=["11 đến 15"], as_of="2021-05-01")
    row, fails = ev.reader_checks(old, "Cấp tỉnh từ 11 đến 13 người. [1]", False)
    assert row["period_ok"] and fails == []
    row, fails = ev.reader_checks(old, "Cấp tỉnh từ 11 đến 13 người. [1]\nHiện nay 11 đến 15. [2]", False)
    assert not row["period_ok"] and fails == ["forbidden_claim", "period_wrong"]
    gone = _q("g", answerable=False, premise="2016", forbid=["9 đến 17"], period="bầu cử 2016")
    assert ev.reader_checks(gone, "Chưa xác minh số lượng năm 2016.", True)[0]["period_ok"]
    assert not ev.reader_checks(gone, "Có từ 9 đến 17 thành viên. [1]", False)[0]["period_ok"]


def test_reader_metrics_over_hand_made_rows() -> None:
    rows = [
        {"answerable": True, "lead_ok": True, "verdict_ok": True, "forbidden": {}, "period_ok": True},
        {"answerable": True, "lead_ok": False, "verdict_ok": False, "forbidden": {"11 đến 13": 2, "7 đến 9": 1}},
        {"answerable": True, "lead_ok": True},
        {"answerable": False, "premise_refused": True, "premise_named": False, "forbidden": {}, "period_ok": True},
        {"answerable": False, "premise_refused": False, "premise_named": False, "period_ok": False},
        {"answerable": False},
    ]
    m = ev.reader_metrics(rows)
    assert m["lead_rate"] == pytest.approx(2 / 3) and m["lead_n"] == 3
    assert m["verdict_agreement"] == 0.5 and m["verdict_n"] == 2
    assert (m["forbidden_claims"], m["forbidden_questions"], m["forbid_n"]) == (3, 1, 3)
    assert m["premise_refusal_rate"] == 0.5 and m["premise_named_rate"] == 0.0 and m["premise_n"] == 2
    assert m["period_accuracy"] == pytest.approx(2 / 3) and m["period_n"] == 3
    empty = ev.reader_metrics([{"answerable": True}])
    assert empty["lead_rate"] is None and empty["forbidden_claims"] == 0


def test_reader_fields_load_and_are_validated(tmp_path: Path) -> None:
    base = {"id": "q1", "question": "?", "answerable": True, "gold_ids": ["luat"], "gold_sections": ["Điều 24"],
            "key_facts": []}
    f = tmp_path / "set.jsonl"

    def write(**kw: object) -> Path:
        f.write_text(json.dumps(base | kw, ensure_ascii=False) + "\n", "utf-8")
        return f

    (q,) = ev.load_questions(write(lead="9 đến 15", verdict="no", forbid=["7 đến 9"], as_of="2021-04-01",
                                   period="bầu cử 2021"))
    assert (q.lead, q.verdict, q.forbid, q.as_of, q.period) == (["9 đến 15"], "no", ["7 đến 9"], "2021-04-01",
                                                                "bầu cử 2021")
    for kw, msg in [({"verdict": "maybe"}, "'verdict' must be"), ({"as_of": "01/04/2021"}, "'as_of' must be a date"),
                    ({"as_of": "2021-02-30"}, "'as_of' must be a date"), ({"lead": [""]}, "must not be empty"),
                    ({"forbid": "7 đến 9"}, "'forbid' must be a list"),
                    ({"premise": "99/2024"}, "'answerable' must be false"),
                    ({"answerable": False, "gold_ids": [], "lead": "x"}, "need an answerable question")]:
        with pytest.raises(ev.EvalSetError, match=rf":1: .*{msg}"):
            ev.load_questions(write(**kw))


def test_gold_set_reader_fields_are_consistent() -> None:
    """Every lead/key fact is verbatim in a gold note, and the set keeps the sizes the issues ask for."""
    from assistant.ingest.documents import load_document

    notes = {}
    for path in sorted((REPO / "knowledge").glob("*.md")):
        if path.name != "README.md":
            doc = load_document(path)
            notes[doc.id] = unicodedata.normalize("NFC", doc.text)
    qs = ev.load_questions(QUESTIONS)
    for q in qs:
        for lead in q.lead:
            assert any(ev.phrase_count(notes[g], lead) for g in q.gold_ids), (q.id, lead)
        for fact in q.key_facts:
            assert any(fact in notes[g] for g in q.gold_ids), (q.id, fact)
    new = [q for q in qs if int(q.id[1:]) > 150]
    assert sum(1 for q in qs if q.as_of or q.period) >= 25
    assert len([q for q in new if not (q.as_of or q.period)]) >= 40
    assert sum(1 for q in new if q.history) >= 12
    assert {q.verdict for q in qs if q.verdict} == {"yes", "no"} and all(q.premise for q in qs if q.premise)
    # the same question at two dates has two different leads
    by_text: dict[str, set[tuple[str, ...]]] = {}
    for q in qs:
        if q.as_of:
            by_text.setdefault(q.question, set()).add(tuple(q.lead))
    assert sum(1 for leads in by_text.values() if len(leads) >= 2) >= 5


def test_point_in_time_questions_are_asked_for_their_date() -> None:
    from datetime import date

    asked: list[tuple[str, object]] = []

    class FakeAssistant:
        index = SimpleNamespace(snapshot=lambda: SimpleNamespace(by_id={}, passages=[]))

        def ask(self, question: str, history=None, answerer=None, as_of=None):  # noqa: ANN001, ANN202
            asked.append((question, as_of))
            return _result("Cấp xã từ 7 đến 9 người.", False, [], [])

    qs = [_q("q1", lead=["7 đến 9"], as_of="2021-04-01"), _q("q2", lead=["9 đến 15"], period="hiện hành")]
    out = ev.evaluate_gold(FakeAssistant(), qs, modes=())
    assert asked[1:] == [("câu q1?", date(2021, 4, 1)), ("câu q2?", None)]  # asked[0] is the warm-up
    assert [r["period_ok"] for r in out["questions"]] == [True, False]
    assert out["metrics"]["reader"]["period_accuracy"] == 0.5


def test_markdown_report_shows_the_reader_section() -> None:
    q1 = _q("q1", lead=["9 đến 15"], forbid=["7 đến 9"], as_of="2026-02-01")
    q2 = _q("q2", answerable=False, premise="99/2024")
    p24 = {"doc_id": "luat", "section": "Điều 24", "label": "Điều 24", "score": 0.9, "passage_id": "luat::dieu-24"}
    rows = [ev.evaluate_question(q1, _result("Cấp xã từ 7 đến 9 người. [1]", False, [p24],
                                             [_cit(1, "luat::dieu-24", "Ban bầu cử")]), TEXTS.get, 1),
            ev.evaluate_question(q2, _result("Xin lỗi, nguồn không có Nghị định 99/2024.", True, [], []),
                                 TEXTS.get, 1)]
    assert rows[0]["failures"] == ["lead_missing", "forbidden_claim", "period_wrong"]
    assert rows[1]["failures"] == []
    report = {"timestamp": "T", "metrics": ev.summarize(rows), "questions": rows}
    assert report["metrics"]["reader"]["premise_named_rate"] == 1.0
    md = ev.render_markdown(report, None, None)
    assert "Answers a reader accepts" in md and "| q1 |" in md and "Cấp xã từ 7 đến 9 người." in md
    assert "Period accuracy" in md and "Lead-sentence rate" in md
    fails = ev.gate_failures(report)
    assert [f["id"] for f in fails] == ["q1"] and fails[0]["as_of"] == "2026-02-01"
    listing = ev.render_gate_failures(fails, ["lead-sentence 0.000 < 0.85"], "x.md")
    assert "| q1 |" in listing and "lead-sentence 0.000 < 0.85" in listing and "forbidden: '7 đến 9'×1" in listing


def test_compare_reports_lists_regressions() -> None:
    def row(i: str, hit: float, ok: bool) -> dict:
        return {"id": i, "question": i, "doc": {"hit@5": hit}, "section": {"hit@5": hit}, "refusal_ok": ok,
                "citation_valid": True, "key_fact_coverage": 1.0}

    prev = {"metrics": {"refusal": {"accuracy": 1.0}}, "questions": [row("a", 1.0, True), row("b", 0.0, True)]}
    cur = {"metrics": {"refusal": {"accuracy": 0.5}}, "questions": [row("a", 0.0, False), row("b", 1.0, True)]}
    cmp = ev.compare_reports(cur, prev)
    assert cmp["deltas"]["refusal.accuracy"] == -0.5
    assert {(r["id"], r["what"]) for r in cmp["regressions"]} == {
        ("a", "gold document no longer in top 5"), ("a", "gold section no longer in top 5"),
        ("a", "refusal decision now wrong")}
    assert {f["id"] for f in cmp["fixes"]} == {"b"}
    prev_r = {"metrics": {"reader": {"lead_rate": 1.0}}, "questions": [
        row("c", 1.0, True) | {"lead_ok": True, "verdict_ok": False, "forbidden": {}, "period_ok": True}]}
    cur_r = {"metrics": {"reader": {"lead_rate": 0.0}}, "questions": [
        row("c", 1.0, True) | {"lead_ok": False, "verdict_ok": True, "forbidden": {"11 đến 13": 1}, "period_ok": False}]}
    cmp = ev.compare_reports(cur_r, prev_r)
    assert cmp["deltas"]["reader.lead_rate"] == -1.0
    assert {r["what"] for r in cmp["regressions"]} == {
        "lead no longer in the first sentence", "forbidden claim no longer absent", "period answer now wrong"}
    assert [f["what"] for f in cmp["fixes"]] == ["verdict now right"]


def test_load_questions_names_file_and_line(tmp_path: Path) -> None:
    good = json.dumps({"id": "q1", "question": "?", "answerable": False, "gold_ids": [], "gold_sections": [],
                       "key_facts": []}, ensure_ascii=False)
    f = tmp_path / "set.jsonl"
    f.write_text(good + "\n\n{not json\n", "utf-8")
    with pytest.raises(ev.EvalSetError, match=rf"{f.name}:3: .*invalid JSON"):
        ev.load_questions(f)
    f.write_text(good + "\n" + good + "\n", "utf-8")
    with pytest.raises(ev.EvalSetError, match=r":2: duplicate id 'q1' \(first on line 1\)"):
        ev.load_questions(f)
    f.write_text(good.replace('"answerable": false', '"answerable": "no"') + "\n", "utf-8")
    with pytest.raises(ev.EvalSetError, match=r":1: 'answerable' must be true or false"):
        ev.load_questions(f)
    with pytest.raises(ev.EvalSetError, match="not found"):
        ev.load_questions(tmp_path / "missing.jsonl")
    assert len(ev.load_questions(QUESTIONS)) >= 100


def test_plot_modes_writes_a_real_png(tmp_path: Path) -> None:
    lvl = {"hit@1": 0.5, "hit@3": 0.7, "hit@5": 0.8, "mrr": 0.6, "ndcg@5": 0.55}
    modes = {m: {"document": lvl, "section": {k: v / 2 for k, v in lvl.items()}} for m in ev.MODES}
    path = ev.plot_modes(modes, tmp_path / "m.png")
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


# --------------------------------------------------------------------------------------------
# ALQAC adapter (pure parts)
# --------------------------------------------------------------------------------------------


def test_alqac_laws_become_one_passage_per_article(tmp_path: Path) -> None:
    law = [{"id": "Luật Thử nghiệm", "articles": [
        {"id": "1", "text": "Phạm vi điều chỉnh\n\nLuật này quy định về thử nghiệm."},
        {"id": "2", "text": "Mục tiêu"},  # title only
        {"id": "3", "text": "Dẫn chiếu\nĐiều 5. Một dòng trông như tiêu đề điều\nChương II\n## không phải mục\n"
                            "1. Khoản một.\n2. Khoản hai."},
        {"id": "10", "text": "Hiệu lực\nLuật này có hiệu lực từ ngày 01/01/2024."},
    ]}]
    path = tmp_path / "law.json"
    path.write_text(json.dumps(law, ensure_ascii=False), "utf-8")
    parsed = ev.parse_alqac_laws(path)
    (doc,) = parsed.documents
    assert doc.id == "alqac-luat-thu-nghiem" and parsed.law_of[doc.id] == "Luật Thử nghiệm"
    assert parsed.defused_lines == 3 and parsed.title_only == [("Luật Thử nghiệm", "2")]
    passages = chunk_document(doc)
    keys = [(parsed.law_of[p.doc_id], ev.article_of(p.section)) for p in passages]
    assert keys == [("Luật Thử nghiệm", a) for a in ("1", "2", "3", "10")]
    assert "điều 5. Một dòng trông như tiêu đề điều" in passages[2].text  # the words are kept
    assert ev.load_alqac_laws(path)[0].id == doc.id


def test_alqac_rank_metrics() -> None:
    ranked = ev.dedupe_articles([("L", "1"), None, ("L", "1"), ("L", "7"), ("M", "2")])
    assert ranked == [("L", "1"), ("L", "7"), ("M", "2")]
    m = ev.alqac_rank_metrics(ranked, [("L", "7"), ("X", "9")], ks=(1, 5, 10))
    assert m == {"recall@1": 0.0, "recall@5": 0.5, "recall@10": 0.5, "mrr@10": 0.5}


def test_alqac_multiple_choice_is_searched_with_its_options(tmp_path: Path) -> None:
    qs = [{"question_id": "X-1", "question_type": "Trắc nghiệm", "text": "Ai được thử nghiệm?",
           "choices": {"A": "Người đủ 18 tuổi", "B": "Cả A và C đều đúng"},
           "relevant_articles": [{"law_id": "L", "article_id": "1"}]},
          {"question_id": "X-2", "text": "Thử nghiệm là gì?", "relevant_articles": []}]
    path = tmp_path / "q.json"
    path.write_text(json.dumps(qs, ensure_ascii=False), "utf-8")
    first, second = ev.load_alqac_questions(path)
    assert first["query"] == "Ai được thử nghiệm? Người đủ 18 tuổi." and first["text"] == qs[0]["text"]
    assert second["query"] == "Thử nghiệm là gì?"
