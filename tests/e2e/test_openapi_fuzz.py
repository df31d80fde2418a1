"""Fuzzing: schemathesis against the live server's OpenAPI schema.

It generates valid (positive) and invalid (negative) requests for every operation, bounded per
operation, and asserts that none of them gets a 5xx. Property tests of assistant.text are in
tests/unit/test_fuzz.py, chunking properties in tests/unit/test_chunking.py.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.support import Server

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
