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
