"""Fuzzing: schemathesis against the live server's OpenAPI schema, and property tests of assistant.text.

The schema-driven part generates valid (positive) and invalid (negative) requests for every
operation, bounded per operation, and asserts that none of them gets a 5xx. Chunking properties
live in tests/test_chunking.py.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest
from conftest import Server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from assistant.text import DiacriticRestorer, fold, has_diacritics, nfc, normalize_query, split_sentences

MAX_EXAMPLES = 25  # per operation and generation mode


@pytest.mark.server
def test_openapi_fuzz_no_server_errors(server: Server) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    cases = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = []
    def runner(op, mode):  # noqa: ANN001, ANN202 - one bounded hypothesis run per operation and mode
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # noqa: ANN001
            cases[(op.path, mode.value)] += 1
            response = case.call(base_url=server.url, timeout=120)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path} {mode.value}: {response.status_code} "
                                f"{response.text[:300]!r} body={case.body!r}")
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except AssertionError as exc:  # schemathesis raises a subclass of AssertionError
                failures.append(f"{op.method.upper()} {op.path} {mode.value}: {exc}")

        return run

    for result in schema.get_all_operations():
        op = result.ok()
        operations.append(f"{op.method.upper()} {op.path}")
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                runner(op, mode)()
            except Unsatisfiable:  # nothing invalid to send (no parameters, no body): GET /health etc.
                assert mode == schemathesis.GenerationMode.NEGATIVE, op.path
    total = sum(cases.values())
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(f"\nschemathesis: {len(operations)} operations, {total} cases generated, statuses {dict(statuses)}, "
          f"{server_errors} server errors")
    assert "POST /ask" in operations and "POST /v1/chat/completions" in operations
    assert total >= 100
    assert server_errors == 0 and not failures, "\n".join(failures[:20])
    assert httpx_get_health(server) == 200, "the server must still be healthy after fuzzing"


def httpx_get_health(server: Server) -> int:
    import httpx

    return httpx.get(server.url + "/health", timeout=30).status_code


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
    from conftest import KNOWLEDGE

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
