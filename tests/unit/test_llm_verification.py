"""The guard between a language model and the user: which generated sentences may be shown.

Pure functions over hand-made passages (no model, no index), so every rule is pinned down by a
case that would fail without it. The sentences come from what Qwen2.5-Coder-1.5B really wrote
on the gold set (see docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.guard import (
    attribute,
    finished_sentences,
    negation_mismatch,
    split_generated,
    verify_llm_sentence,
)
from assistant.answering.llm import Abort, AnswerAborted, LLMAnswerer, build_prompt
from assistant.answering.messages import LLM_FALLBACK_NOTE
from assistant.answering.turn import build_turn
from assistant.config import Settings
from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage, SentenceHit
from assistant.text import split_sentences

ART27 = (
    "Điều 27. Nguyên tắc hoạt động của các tổ chức phụ trách bầu cử\n"
    "Người ứng cử không được làm thành viên Ban bầu cử hoặc Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử. "
    "Nếu đã là thành viên thì phải xin rút chậm nhất vào ngày công bố danh sách chính thức người ứng cử."
)
ND92 = (
    "Điều 10. Phụ cấp kiêm nhiệm\n"
    "Cán bộ kiêm nhiệm chức danh lãnh đạo được hưởng phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 "
    "cộng phụ cấp chức vụ lãnh đạo (nếu có) của chức danh kiêm nhiệm."
)


def _hit(pid: str, section: str, text: str) -> ScoredPassage:
    p = Passage(id=pid, doc_id=pid.split("::")[0], title="t", section=section, heading=section,
                label=f"{section}, {pid}", text=text, start=0, end=len(text), status="con-hieu-luc")
    sents = [SentenceHit(a, b, 0.9 - i * 0.01, 0.9, 0.5) for i, (a, b) in enumerate(split_sentences(text))]
    return ScoredPassage(p, 0.9, sentences=sents)


HITS = [_hit("luat-bau-cu::dieu-27", "Điều 27", ART27), _hit("nd-92::dieu-10", "Điều 10", ND92)]


def test_marker_after_full_stop_stays_with_its_sentence() -> None:
    text = "Phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1. [2]"
    assert split_generated(text) == ["Phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1. [2]"]
    two = "Câu một có nguồn [1]. Câu hai có nguồn. [2] Câu ba."
    assert split_generated(two) == ["Câu một có nguồn [1].", "Câu hai có nguồn. [2]", "Câu ba."]


@pytest.mark.parametrize(("sentence", "ok", "why"), [
    ("Người ứng cử không được làm thành viên Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử [1].", True, ""),
    ("Người ứng cử không được làm thành viên Tổ bầu cử.", False, "no citation marker"),
    ("Người ứng cử không được làm thành viên Tổ bầu cử [7].", False, "marker names no retrieved passage"),
    ("Phụ cấp kiêm nhiệm bằng 70% mức lương bậc 1 [2].", False, "numbers not in the cited passage"),
    ("Người ứng cử có được làm thành viên Tổ bầu cử không? [1]", False, "a question, not an answer"),
    ("Cần tham khảo thêm ý kiến chuyên gia và cơ quan có thẩm quyền [1].", False, "of its words are in"),
    ("[1].", False, "no content"),
])
def test_sentence_rules(sentence: str, ok: bool, why: str) -> None:
    got_ok, _markers, got_why = verify_llm_sentence(sentence, HITS)
    assert got_ok is ok
    assert why in got_why


def test_echo_of_the_question_is_not_an_answer() -> None:
    q = "bi thu chi bo kiem truong ap duoc huong phu cap gi"
    ok, _, why = verify_llm_sentence("Bí thư chi bộ kiêm trưởng ấp được hưởng phụ cấp gì [2].", HITS, q)
    assert not ok and why == "repeats the question"


def test_attribution_needs_nearly_all_words_in_one_passage() -> None:
    copied = "Người ứng cử không được làm thành viên Ban bầu cử hoặc Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử."
    assert attribute(copied, HITS) == 1
    assert attribute("Người ứng cử được ưu tiên bổ nhiệm vào các chức danh lãnh đạo.", HITS) is None
    assert attribute("Đúng vậy.", HITS) is None


def test_negation_must_match_the_quoted_sentence() -> None:
    quote = "Người ứng cử không được làm thành viên Ban bầu cử hoặc Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử."
    assert negation_mismatch("Người ứng cử được làm thành viên Tổ bầu cử ở nơi mình ứng cử", quote)
    assert not negation_mismatch("Người ứng cử không được làm thành viên Tổ bầu cử nơi mình ứng cử", quote)


def _answerer() -> LLMAnswerer:
    settings = Settings(llm_url="http://127.0.0.1:9/v1")
    return LLMAnswerer(settings, ExtractiveAnswerer(settings))


def test_flipped_negation_never_reaches_the_user() -> None:
    """What the 1.5B model wrote for «Người ứng cử có được làm thành viên Tổ bầu cử không?»."""
    generated = "Người ứng cử được làm thành viên Ban bầu cử hoặc Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử. [1]"
    ans = _answerer()._assemble(build_turn("Người ứng cử có được làm thành viên Tổ bầu cử không?"), HITS, generated)
    assert ans.answered_by == "llm-fallback" and ans.text.startswith(LLM_FALLBACK_NOTE)
    assert "không được" in ans.text and ans.dropped and "negations" in ans.dropped[0]


def test_kept_sentences_are_renumbered_and_quoted_verbatim() -> None:
    generated = ("Phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ lãnh đạo. [2] "
                 "Người ứng cử không được làm thành viên Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử.")
    ans = _answerer()._assemble(build_turn("q"), HITS, generated)
    assert ans.answered_by == "llm" and not ans.dropped
    assert ans.text.splitlines()[0].endswith("[1]") and ans.text.splitlines()[1].endswith("[2]")
    assert [c.hit.passage.id for c in ans.citations] == ["nd-92::dieu-10", "luat-bau-cu::dieu-27"]
    for c in ans.citations:
        assert c.quote in c.hit.passage.text
    assert ans.draft == generated


def test_prompt_repeats_the_citation_rule_after_the_sources() -> None:
    prompt = build_prompt("Câu hỏi?", HITS)
    assert prompt.index("[2] Điều 10") < prompt.index("CÂU HỎI: Câu hỏi?") < prompt.index("Nhớ: mỗi câu")
    assert prompt.rstrip().endswith("TRẢ LỜI:")


def test_prompt_carries_the_turns_intent_entities_and_date() -> None:
    turn = build_turn("Ban bầu cử cấp xã có bao nhiêu thành viên?")
    prompt = build_prompt(turn.standalone, HITS, turn)
    assert "con số của cấp" in prompt and "levels: xa" in prompt and "bodies: ban bau cu" in prompt
    assert turn.as_of.strftime("%d/%m/%Y") in prompt


QD208 = (
    "Quy định 208-QĐ/TW ngày 08/11/2019 về chức năng, nhiệm vụ của trung tâm chính trị cấp huyện.\n"
    "Quy định có hiệu lực từ ngày ký và thay thế Quyết định 185-QĐ/TW ngày 03/9/2008."
)


def test_a_reversed_relation_is_dropped() -> None:
    """What the 1.5B model wrote for «QĐ 208 năm 2019 thay thế quyết định nào?» (gold q140)."""
    hits = [_hit("quy-dinh-208::thong-tin-chung", "Thông tin chung", QD208)]
    wrong = "Quyết định 185-QĐ/TW năm 2008 thay thế Quyết định 208-QĐ/TW năm 2019. [1]"
    ok, _, why = verify_llm_sentence(wrong, hits)
    assert not ok and "another order" in why
    right = "Quy định 208-QĐ/TW năm 2019 thay thế Quyết định 185-QĐ/TW năm 2008. [1]"
    assert verify_llm_sentence(right, hits)[0]


def test_a_list_number_alone_is_not_an_answer() -> None:
    assert not verify_llm_sentence("1. [1]", HITS)[0]
    ok, _, why = verify_llm_sentence("Điều 27. [1]", HITS)
    assert not ok and why == "a fragment, not a sentence"


STREAMED = [
    "Phụ cấp kiêm nhiệm bằng 50% mức lương bậc 1 cộng phụ cấp chức vụ lãnh đạo. [2] ",
    "Phụ cấp kiêm nhiệm bằng 70% mức lương bậc 1 [2]. ",  # a wrong figure: dropped
    "Người ứng cử không được làm thành viên Tổ bầu cử ở đơn vị bầu cử nơi mình ứng cử [1].",
]


@pytest.mark.parametrize("reply", [
    "".join(STREAMED),
    "Câu một có nguồn [1]. Câu hai có nguồn. [2] [1] Câu ba có 1.017 người, gồm: 1. Chủ tịch [1]. Hết",
])
def test_a_finished_sentence_never_changes_as_the_reply_grows(reply: str) -> None:
    """What the stream checks early is exactly what the whole reply splits into, at every cut."""
    whole = split_generated(reply)
    for cut in range(len(reply) + 1):
        done = finished_sentences(reply[:cut])
        assert done == whole[:len(done)], (cut, reply[:cut])
    assert finished_sentences(reply) == whole[:-1]  # the last one is finished only by the end of the stream


class _StreamingChat:
    """The chat model's two (async) calls, on a scripted reply (the real HTTP path is in tests/test_llm_stream.py)."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    async def ainvoke(self, _messages: object) -> SimpleNamespace:
        return SimpleNamespace(content="".join(self.pieces))

    async def astream(self, _messages: object) -> AsyncIterator[SimpleNamespace]:
        for piece in self.pieces:
            yield SimpleNamespace(content=piece)


def test_streaming_releases_only_verified_sentences_and_ends_as_the_whole_reply() -> None:
    pieces = [w for part in STREAMED for w in part.split(" ") for w in (w, " ")][:-1]  # word by word
    answerer = _answerer()
    answerer._llm = _StreamingChat(pieces)
    turn = build_turn("Phụ cấp kiêm nhiệm bằng bao nhiêu?")
    partial: list[str] = []
    streamed = answerer.answer(turn, HITS, {}, on_partial=lambda a: partial.append(a.text))
    whole = answerer.answer(turn, HITS, {})
    assert streamed.text == whole.text and streamed.answered_by == whole.answered_by == "llm"
    assert [c.quote for c in streamed.citations] == [c.quote for c in whole.citations]
    assert len(partial) == 2, partial  # one release per kept sentence, the dropped one never released
    assert whole.text.startswith(partial[-1]) and partial[-1].startswith(partial[0])
    assert not any("70%" in text for text in partial) and "70%" not in whole.text
    assert "cử. [2]" in whole.text and " ." not in whole.text  # the marker's space does not stay before the stop


class _SilentChat:
    """A model that never finishes its reply; records whether its call was cancelled (its connection closed)."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    async def _hold(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def ainvoke(self, _messages: object) -> SimpleNamespace:
        await self._hold()
        return SimpleNamespace(content="")

    async def astream(self, _messages: object) -> AsyncIterator[SimpleNamespace]:
        yield SimpleNamespace(content="Câu đầu ")
        await self._hold()


@pytest.mark.parametrize("streamed", [False, True])
def test_abort_cancels_the_model_call_and_ends_the_answer(streamed: bool) -> None:
    answerer = _answerer()
    chat = answerer._llm = _SilentChat()  # type: ignore[assignment]
    abort = Abort()
    threading.Timer(0.3, abort.set).start()
    t0 = time.monotonic()
    with pytest.raises(AnswerAborted):
        answerer.answer(build_turn("Phụ cấp kiêm nhiệm bằng bao nhiêu?"), HITS, {},
                        on_partial=(lambda _a: None) if streamed else None, abort=abort)
    assert time.monotonic() - t0 < 5 and chat.cancelled.wait(5)
