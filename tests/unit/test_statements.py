"""A statement put up for a verdict is checked against the sentence that states it
(``assistant.search.statements``): the shape on a short wording, a long one and one typed without
diacritics, the questions citizens ask left alone, and the rerank's coverage term on the fake index.
The wordings are made up for the tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assistant.config import Settings
from assistant.search.retrieval import RERANK_WEIGHTS, HybridSearcher
from assistant.search.statements import is_statement_check

pytestmark = pytest.mark.unit

STATEMENT = "Ban bầu cử cấp xã có từ chín đến mười một thành viên, đúng hay sai?"
QUESTION = "Ban bầu cử cấp xã có bao nhiêu thành viên?"


@pytest.mark.parametrize("question", [
    "Trưởng thôn được kiêm công an viên, đúng hay sai?",
    "Theo quy định hiện hành, công chức cấp xã được kiêm nhiệm chức danh người hoạt động không chuyên trách và "
    "hưởng phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ lãnh đạo là đúng hay sai?",
    "truong thon duoc kiem cong an vien. Dung hay sai?",
    "Đúng hay sai: người ứng cử không được làm thành viên Tổ bầu cử",
])
def test_statements_put_up_for_a_verdict(question: str) -> None:
    assert is_statement_check(question)


@pytest.mark.parametrize("question", [
    QUESTION,
    "Tôi là công chức xã, năm 2024 được giao kiêm văn thư, hỏi làm vậy có đúng không?",
    "phu cap kiem nhiem co tinh dong bao hiem xa hoi khong",
    "Đúng hay sai?",  # no statement to check
    "Làm vậy đúng hay sai?",  # too short to be a rule
    "Chức năng của Ban bầu cử là gì?",
])
def test_other_questions_are_not_statements(question: str) -> None:
    assert not is_statement_check(question)


def _recomposed(h: Any, top_rrf: float, cov: float) -> float:
    best = [s.dense for s in sorted(h.sentences, key=lambda s: -s.dense)[:2]]
    best_sent = float(np.mean(best)) if best else (h.dense or 0.0)
    return (RERANK_WEIGHTS[0] * best_sent + RERANK_WEIGHTS[1] * (h.dense or 0.0) + RERANK_WEIGHTS[2] * cov
            + RERANK_WEIGHTS[3] * (h.rrf / top_rrf))


def test_rerank_reads_a_statement_by_its_best_sentence(fake_index: Any, fake_settings: Settings) -> None:
    searcher = HybridSearcher(fake_index, fake_settings)
    for text, sentence_level in ((STATEMENT, True), (QUESTION, False)):
        hits = searcher.search(text, k=20, mode="hybrid+rerank").hits
        pool = [h for h in hits if h.sentences and not h.via_question and h.passage.doc_id]
        assert pool, text
        top_rrf = max(h.rrf for h in hits)
        for h in pool:
            cov = max(s.lexical for s in h.sentences) if sentence_level else h.coverage
            assert h.score == pytest.approx(_recomposed(h, top_rrf, cov), abs=1e-9), (text, h.passage.id)
        # the two readings differ on these passages, so the check above tells them apart
        assert any(max(s.lexical for s in h.sentences) != pytest.approx(h.coverage) for h in pool)
        # the passage-wide coverage is kept for the refusal gate either way
        assert all(0.0 <= h.coverage <= 1.0 for h in pool)
