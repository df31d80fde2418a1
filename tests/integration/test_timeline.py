"""The time line over the whole gold set (issue #24), on the real index: every answerable gold question asked
as of five days around the elections and the 2025 reform. No citation's document was issued after the day
and every citation's section applies on it (``timeline.audit``: lines labelled with an earlier period may
quote a rule that had stopped applying; what came later is only named, uncited, in one "Sau ngày D" line).

Also the maintainers' dated measure: questions naming no period, asked as of 2016, 2021 and 2023, cite no
document issued after the day. Findings are written to test-artifacts/timeline/.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from assistant.answering.timeline import audit
from assistant.evaluation import load_questions
from tests.support import ARTIFACTS, REPO

QUESTIONS = REPO / "eval" / "questions.jsonl"
DAYS = (date(2016, 5, 22), date(2021, 5, 23), date(2023, 9, 1), date(2025, 6, 30), date(2025, 7, 1))
DATED_YEARS = (2016, 2021, 2023)


def test_gold_answers_cite_only_what_existed_and_applied_on_the_day(assistant: Any,  # noqa: ANN401
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Retrieval does not depend on the day asked, so each question is searched once (a cache around the
    searcher) and answered for each of the five days: the composition, where the time line is kept, runs 5x."""
    search = assistant.searcher.search
    cache: dict[tuple[Any, ...], Any] = {}

    def searched_once(query: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        key = (query, args, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
        if key not in cache:
            cache[key] = search(query, *args, **kwargs)
        return copy.deepcopy(cache[key])  # the chain adjusts hit scores in place (scoring.entity_rerank)

    monkeypatch.setattr(assistant.searcher, "search", searched_once)
    gold = [q for q in load_questions(QUESTIONS) if q.answerable]
    violations: list[dict[str, Any]] = []
    later_docs: list[dict[str, Any]] = []
    undated = 0
    for q in gold:
        history = [dict(h) for h in q.history]
        for day in DAYS:
            turn = assistant.turn(q.question, history, as_of=day)
            result = assistant.ask(q.question, history, as_of=day)
            start, end = turn.window
            for problem in audit(result.answer, result.citations, start, end):
                violations.append({"id": q.id, "as_of": day.isoformat(), "problem": problem,
                                   "answer": result.answer})
            if turn.period is None and day.year in DATED_YEARS:
                undated += 1
                late = sorted({c["doc_id"] for c in result.citations if c.get("issued", "") > day.isoformat()})
                if late:
                    later_docs.append({"id": q.id, "as_of": day.isoformat(), "documents": late})
    out = ARTIFACTS / "timeline"
    out.mkdir(parents=True, exist_ok=True)
    (out / "violations.json").write_text(json.dumps(
        {"questions": len(gold), "days": [d.isoformat() for d in DAYS], "violations": violations,
         "dated_answers": undated, "dated_answers_citing_a_later_document": later_docs},
        ensure_ascii=False, indent=1) + "\n", "utf-8")
    assert len(gold) > 150
    assert not violations, f"{len(violations)} citations break the time line (see {out / 'violations.json'}): " \
                           f"{violations[:5]}"
    assert not later_docs, f"{len(later_docs)} of {undated} dated answers cite a later document: {later_docs[:5]}"
