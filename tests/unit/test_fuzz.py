"""Fuzzing: property tests of assistant.text (hypothesis).

Chunking properties live in tests/unit/test_chunking.py; schemathesis against the live server's
OpenAPI schema in tests/e2e/test_openapi_fuzz.py.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.text import DiacriticRestorer, fold, has_diacritics, nfc, normalize_query, split_sentences

# --- assistant.text properties ---------------------------------------------------------------------
VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY"
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]


@st.composite
def vietnamese_text(draw: st.DrawFn) -> str:
    """Vietnamese-looking text in NFC or NFD, with punctuation, numbers, newlines and stray controls."""
    words = draw(st.lists(st.tuples(st.text(VI_LETTERS, min_size=1, max_size=7), st.sampled_from(TONES)),
                          max_size=30))
    seps = draw(st.lists(st.sampled_from([" ", " ", ", ", ". ", "? ", "\n", " 1.017 ", " 85/2015/QH13 ", "\x00",
                                          "\u200b", "\t", "… ", " (UBND) ", "\r\n"]), min_size=len(words),
                         max_size=len(words)))
    text = "".join(w[0] + w[1] + sep for w, sep in zip(words, seps, strict=True))
    form = draw(st.sampled_from(["NFC", "NFD", "NFKC", None]))
    return unicodedata.normalize(form, text) if form else text


any_text = st.one_of(st.text(max_size=300), vietnamese_text())


@given(any_text)
@settings(max_examples=300, deadline=None)
def test_nfc_idempotent_and_total(text: str) -> None:
    once = nfc(text)
    assert nfc(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert nfc(unicodedata.normalize("NFD", text)) == nfc(text)  # NFD input reads as its NFC twin


@given(any_text)
@settings(max_examples=300, deadline=None)
def test_fold_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert not has_diacritics(once)


@given(any_text)
@settings(max_examples=300, deadline=None)
def test_split_sentences_spans(text: str) -> None:
    spans = split_sentences(text)
    prev_end = 0
    for start, end in spans:
        assert 0 <= prev_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        prev_end = end


@given(any_text)
@settings(max_examples=300, deadline=None)
def test_normalize_query_total(text: str) -> None:
    out = normalize_query(text)
    assert isinstance(out, str)
    assert "\n" not in out and out == out.strip()


@pytest.fixture(scope="module")
def restorer() -> DiacriticRestorer:
    from tests.support import KNOWLEDGE

    texts = [p.read_text("utf-8") for p in sorted(KNOWLEDGE.glob("*.md"))]
    return DiacriticRestorer.from_texts(texts)


@given(text=st.one_of(vietnamese_text().map(fold), st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=120)))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_restore_only_adds_diacritics(restorer: DiacriticRestorer, text: str) -> None:
    if has_diacritics(text):
        return
    out = restorer.restore(text)
    assert fold(out) == fold(text)  # fold() lower-cases: equality ignoring case and diacritics


def test_restore_known_phrase(restorer: DiacriticRestorer) -> None:
    assert restorer.restore("thanh vien ban bau cu") == "thành viên ban bầu cử"


def test_invisible_characters_are_removed_from_input() -> None:
    """Issue #26, N17: invisible characters that are not format characters (Cf) do not survive cleaning."""
    from assistant.text import clean_input

    for ch in ("\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f", "\ufe0f"):
        assert clean_input(f"Thành viên{ch} Ban bầu cử") == "Thành viên Ban bầu cử", ascii(ch)


def test_deeply_nested_as_of_is_a_value_error_at_any_stack_depth() -> None:
    """Issue #26, N1: an ``as_of`` nested ~950 deep is an invalid date (422), never a RecursionError (500), even
    called as deep in the stack as a request handler in the server is."""
    from assistant.answering.dates import parse_as_of

    nested: object = []
    for _ in range(952):
        nested = [nested]

    def at_depth(n: int) -> str:
        if n:
            return at_depth(n - 1)
        try:
            parse_as_of(nested)
        except ValueError as exc:
            return str(exc)
        return "accepted"

    message = at_depth(60)
    assert "YYYY-MM-DD" in message and len(message) < 500, message[:200]


def test_markdown_images_are_inert_in_chat_completions_content() -> None:
    """Issue #26, N5: a Markdown image in a source's title or text is no live image in /v1 content."""
    import re

    from api.routes.openai_compat import for_chat

    title = "Luật ![x](http://tracker.example/p.gif) <img src=x>"
    out = for_chat(f"Trả lời [1].\n\n[1] {title}")
    assert not re.search(r"!\s*\[", out) and "<img" not in out, out
    assert "".join(for_chat(c) for c in title) == for_chat(title), "per character: stream pieces join up"
