"""The dev / held-out split and the sets nobody here wrote (issue #22): real citizens' questions
and questions on user-added laws. Loaders, validators, sizes and grounding; no model."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import evaluation as ev
from tests.support import KNOWLEDGE, REPO, SHARED, require_shared

GOLD = REPO / "eval" / "questions.jsonl"
REAL = REPO / "eval" / "real_questions.jsonl"
USER_LAW = REPO / "eval" / "user_law_questions.jsonl"
USER_LAWS = SHARED / "corpus" / "user-laws"


# --------------------------------------------------------------------------------------------
# the split
# --------------------------------------------------------------------------------------------


def test_split_of_is_a_stable_hash_of_the_id() -> None:
    # fixed values: changing the hash would silently move questions between the halves
    assert [ev.split_of(i) for i in ("q001", "q002", "q003", "r001", "1", "2")] == [
        "dev", "dev", "heldout", "dev", "heldout", "dev"]
    assert ev.split_of(" q003\n") == ev.split_of("q003")
    assert {ev.split_of(f"q{i:03d}") for i in range(1, 30)} == {"dev", "heldout"}


def test_every_set_is_cut_roughly_in_half() -> None:
    for path in (GOLD, REAL):
        ids = [json.loads(line)["id"] for line in path.read_text("utf-8").splitlines() if line.strip()]
        halves = ev.partition(ids, lambda i: i)
        assert halves["dev"] + halves["heldout"] != [] and sorted(halves["dev"] + halves["heldout"]) == sorted(ids)
        assert 0.4 <= len(halves["dev"]) / len(ids) <= 0.6, (path.name, {k: len(v) for k, v in halves.items()})
        assert halves["dev"] == [i for i in ids if ev.split_of(i) == "dev"]  # original order kept


def test_split_gap_is_heldout_minus_dev_on_every_gate_metric() -> None:
    dev = {"retrieval": {"document": {"hit@5": 0.95}}, "reader": {"lead_rate": 0.90, "forbidden_claims": 0},
           "refusal": {"accuracy": 1.0, "over_refusal": 0.0}}
    held = {"retrieval": {"document": {"hit@5": 0.90}}, "reader": {"lead_rate": 0.80, "forbidden_claims": 2},
            "refusal": {"accuracy": 0.96, "over_refusal": 0.04}}
    gap = ev.split_gap(dev, held)
    assert set(gap) == {path for _, path, _ in ev.GATE_METRICS}
    assert gap["retrieval.document.hit@5"]["gap"] == pytest.approx(-0.05)
    assert gap["reader.lead_rate"]["gap"] == pytest.approx(-0.10)
    assert gap["reader.forbidden_claims"] == {"label": "forbidden claims", "dev": 0, "heldout": 2, "gap": 2,
                                              "higher_is_better": False}
    assert gap["reader.period_accuracy"]["gap"] is None  # missing on both sides: no number invented


def _row(qid: str, answerable: bool, refused: bool, facts_ok: bool = True) -> dict:
    q = ev.GoldQuestion(qid, "?", answerable, ["luat"] if answerable else [], ["Điều 24"] if answerable else [],
                        ["9 đến 15"] if answerable else [])
    passages = [{"doc_id": "luat", "section": "Điều 24", "label": "Điều 24", "score": 1.0, "passage_id": "p"}]
    answer = "Xin lỗi." if refused else ("Có từ 9 đến 15 thành viên." if facts_ok else "Có nhiều thành viên.")
    res = SimpleNamespace(answer=answer, refused=refused, passages=passages if answerable else [], citations=[],
                          timings_ms={"total": 5.0}, query="")
    return ev.evaluate_question(q, res, lambda _pid: None, 1)


def test_summary_reports_both_halves_and_their_gap() -> None:
    ids = [f"q{i:03d}" for i in range(1, 21)]
    rows = [_row(i, answerable=True, refused=ev.split_of(i) == "heldout") for i in ids]
    assert all(r["split"] == ev.split_of(r["id"]) for r in rows)
    m = ev.summarize(rows)
    sp = m["splits"]
    assert sp["dev"]["n"] + sp["heldout"]["n"] == m["n"] == 20 and "splits" not in sp["dev"]
    assert sp["dev"]["refusal"]["over_refusal"] == 0.0 and sp["heldout"]["refusal"]["over_refusal"] == 1.0
    assert sp["gap"]["refusal.over_refusal"]["gap"] == 1.0
    md = "\n".join(ev.splits_md(m))
    assert "## Dev / held-out" in md and "| over-refusal | 0.000 | 1.000 | +1.000 |" in md
    assert ev.summarize(rows, by_split=False).get("splits") is None


# --------------------------------------------------------------------------------------------
# the real-question set
# --------------------------------------------------------------------------------------------


def test_real_set_loads_with_its_fields_and_sizes() -> None:
    qs = ev.load_real_questions(REAL)
    assert len(qs) >= ev.REAL_MIN_QUESTIONS
    assert ev.set_size_problems(real=qs) == []
    assert all(q.source_url.startswith(("http://", "https://")) and q.official_answer for q in qs)
    assert len({q.gold.question for q in qs}) == len(qs)
    beyond = [q for q in qs if not q.answerable_from_sources]
    assert all(q.sources_lack and not q.gold.gold_ids and not q.gold.key_facts for q in beyond)
    # the shapes the issue names: questions without diacritics, long stories, several asks, dated periods
    assert sum(1 for q in qs if q.gold.question.isascii()) >= 10
    assert sum(1 for q in qs if len(q.gold.question) > 200) >= 10
    assert sum(1 for q in qs if q.gold.as_of) >= 8


def test_real_set_says_what_the_notes_say() -> None:
    texts, sections = ev.document_texts([KNOWLEDGE])
    qs = ev.load_real_questions(REAL)
    assert ev.grounding_problems([q.gold for q in qs], texts, sections) == []


def test_grounding_catches_a_fact_the_notes_do_not_state() -> None:
    texts = {"luat": "Ban bầu cử cấp xã có từ 9 đến 15 thành viên."}
    q = ev.GoldQuestion("x", "?", True, ["luat", "nope"], ["Điều 24", "Điều 99"], ["9 đến 15", "7 đến 9"])
    problems = ev.grounding_problems([q], texts, {"luat": {"Điều 24"}})
    assert problems == ["x: unknown document 'nope'", "x: section 'Điều 99' is in none of ['luat']",
                        "x: '7 đến 9' is not verbatim in ['luat']"]


@pytest.mark.parametrize(("change", "message"), [
    ({"source_url": ""}, "'source_url' must be a non-empty string"),
    ({"source_url": "dantri.com.vn/abc"}, "'source_url' must be an http"),
    ({"date_asked": "08/10/2025"}, "'date_asked' must be YYYY"),
    ({"official_answer": None}, "'official_answer' must be a non-empty string"),
    ({"answerable_from_sources": "yes"}, "'answerable_from_sources' must be true or false"),
    ({"answerable_from_sources": False}, "'answerable_from_sources' and 'answerable' must agree"),
])
def test_real_loader_names_file_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    rows = [json.loads(line) for line in REAL.read_text("utf-8").splitlines()[:3]]
    rows[1] = {**rows[1], **change}
    bad = tmp_path / "real.jsonl"
    bad.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    with pytest.raises(ev.EvalSetError, match=rf"real\.jsonl:2: {message}"):
        ev.load_real_questions(bad)


def test_a_question_beyond_the_sources_must_say_what_they_lack(tmp_path: Path) -> None:
    row = next(json.loads(line) for line in REAL.read_text("utf-8").splitlines() if '"answerable": false' in line)
    bad = tmp_path / "r.jsonl"
    bad.write_text(json.dumps({**row, "sources_lack": " "}, ensure_ascii=False) + "\n", "utf-8")
    with pytest.raises(ev.EvalSetError, match=r"r\.jsonl:1: .*'sources_lack'"):
        ev.load_real_questions(bad)


def test_size_problems_are_named() -> None:
    qs = ev.load_real_questions(REAL)
    assert ev.set_size_problems(real=qs[:10]) == [f"10 real questions (need ≥ {ev.REAL_MIN_QUESTIONS})"]
    only_answerable = [q for q in qs if q.answerable_from_sources]
    assert "want about a third" in " ".join(ev.set_size_problems(real=only_answerable))


def test_fully_right_needs_every_key_fact_and_no_failure() -> None:
    assert ev.fully_right(_row("a", True, refused=False))
    assert not ev.fully_right(_row("b", True, refused=False, facts_ok=False))
    assert not ev.fully_right(_row("c", True, refused=True))
    assert not ev.fully_right(_row("d", False, refused=True))  # counted with the refusals, not here
    s = ev.slice_metrics([_row("a", True, False), _row("b", True, False, False), _row("d", False, True)])
    assert (s["n_answerable"], s["answered"], s["fully_right_auto"], s["beyond_refused"]) == (2, 2, 1, 1)


# --------------------------------------------------------------------------------------------
# questions on user-added laws
# --------------------------------------------------------------------------------------------


def test_user_law_set_has_enough_questions_per_law() -> None:
    qs = ev.load_user_law_questions(USER_LAW)
    laws = {q.law for q in qs}
    assert laws == {"luat-to-chuc-chinh-phu-76-2015", "luat-mat-tran-to-quoc-75-2015"}
    assert ev.set_size_problems(user_law=qs) == []
    assert all(q.gold.answerable and len(q.gold.gold_ids) == 1 and q.gold.key_facts for q in qs)
    assert sum(1 for q in qs if q.gold.question.isascii()) >= len(qs) // 2
    assert ev.set_size_problems(user_law=[q for q in qs if q.law.startswith("luat-mat")][:14]) == [
        f"14 questions on luat-mat-tran-to-quoc-75-2015 (need ≥ {ev.USER_LAW_MIN_PER_LAW})"]


def test_user_law_questions_are_grounded_in_the_law_text() -> None:
    require_shared(USER_LAWS)
    qs = ev.load_user_law_questions(USER_LAW)
    files = [ev.law_file(USER_LAWS, law) for law in sorted({q.law for q in qs})]
    texts, sections = ev.document_texts(files)
    assert ev.grounding_problems([q.gold for q in qs], texts, sections) == []


def test_user_law_loader_and_law_lookup_errors(tmp_path: Path) -> None:
    row = json.loads(USER_LAW.read_text("utf-8").splitlines()[0])
    bad = tmp_path / "u.jsonl"
    bad.write_text(json.dumps({**row, "law": "../x/luat"}, ensure_ascii=False) + "\n", "utf-8")
    with pytest.raises(ev.EvalSetError, match=r"u\.jsonl:1: 'law' is a file stem"):
        ev.load_user_law_questions(bad)
    with pytest.raises(ev.EvalSetError, match="no law file named luat-khong-co"):
        ev.law_file(tmp_path, "luat-khong-co")
    (tmp_path / "luat-co.txt").write_text("Điều 1. X\nY\n", "utf-8")
    assert ev.law_file(tmp_path, "luat-co") == tmp_path / "luat-co.txt"


def test_user_law_settings_keep_the_model_and_add_the_laws(tmp_path: Path) -> None:
    from tests.support import make_settings

    base = make_settings(tmp_path / "a", tmp_path / "model")
    s2 = ev.user_law_settings(base, tmp_path / "b", [tmp_path / "luat.txt"])
    assert s2.data_dir == tmp_path / "b" and s2.model_dir == tmp_path / "model" and s2.chroma_url is None
    assert s2.knowledge_paths == [KNOWLEDGE, tmp_path / "luat.txt"] and base.knowledge_paths == [KNOWLEDGE]
