"""``as_of`` end to end: real HTTP against a real server (/ask, /ask/stream, the OpenAI endpoint) and the CLI.

A valid ``YYYY-MM-DD`` reaches ``Assistant.ask`` and is echoed; an invalid one is a 422 with a Vietnamese
and an English message (CLI: exit 2 naming ``--as-of``, or an error line naming ``stdin:N``). Citations carry
the section's period (``valid_from``/``valid_to``/``period_label``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from tests.support import Server, run_kn

pytestmark = pytest.mark.server

Q = "Ban bầu cử đại biểu Hội đồng nhân dân cấp xã có bao nhiêu thành viên?"
BAD = ["2021-13-01", "23/05/2021", "hôm qua", 20210523]


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def test_ask_echoes_as_of_and_citations_carry_periods(client: httpx.Client) -> None:
    r = client.post("/ask", json={"question": Q, "as_of": "2021-05-23"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == "2021-05-23"
    assert body["citations"], body
    for c in body["citations"]:
        assert {"valid_from", "valid_to", "period_label"} <= set(c)
    # the luật note's 2016/2021 sizes section is marked, and its period reaches the index and the citation
    sizes = client.post("/ask", json={"question": "Số lượng thành viên Ban bầu cử trước sửa đổi năm 2025 "
                                                  "trong bầu cử 2016 và 2021 là bao nhiêu?"}).json()
    old = [c for c in sizes["citations"] if c["valid_to"] == "2025-06-30"]
    assert old and all(c["period_label"].startswith(("Quy định cũ", "Thông tin cũ")) for c in old), sizes["citations"]
    default = client.post("/ask", json={"question": Q}).json()
    assert default["as_of"] == date.today().isoformat()


def test_the_same_question_at_two_dates_gets_each_periods_figure_first(client: httpx.Client) -> None:
    """Issue #11: the 2021 election's board had 7–9 members, today's has 9–15; each date gets its own, labelled."""
    old = client.post("/ask", json={"question": Q, "as_of": "2021-05-23"}).json()["answer"].splitlines()[0]
    now = client.post("/ask", json={"question": Q, "as_of": "2026-06-01"}).json()["answer"].splitlines()[0]
    assert "7 đến 9" in old and "9 đến 15" not in old and old.startswith("Tại ngày 23/05/2021"), old
    assert "9 đến 15" in now and "7 đến 9" not in now, now
    asked = client.post("/ask", json={"question": "Trong cuộc bầu cử năm 2021, " + Q[0].lower() + Q[1:]}).json()
    first = asked["answer"].splitlines()[0]
    assert first.startswith("Trong cuộc bầu cử năm 2021") and "7 đến 9" in first and "9 đến 15" not in first, first


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("path", ["/ask", "/ask/stream"])
def test_ask_rejects_invalid_as_of(client: httpx.Client, path: str, value: object) -> None:
    r = client.post(path, json={"question": Q, "as_of": value})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_as_of"
    assert "YYYY-MM-DD" in err["message"] and "ngày" in err["message"]
    assert "YYYY-MM-DD" in err["message_en"] and "must be a valid date" in err["message_en"]


def test_stream_accepts_as_of(client: httpx.Client) -> None:
    with client.stream("POST", "/ask/stream", json={"question": Q, "as_of": "2026-03-15"}) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    assert "event: citations" in text and "event: done" in text


def test_openai_endpoint_takes_as_of(client: httpx.Client) -> None:
    msgs = [{"role": "user", "content": Q}]
    r = client.post("/v1/chat/completions", json={"model": "kiemnhiem", "messages": msgs, "as_of": "2021-05-23"})
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == "2021-05-23"
    bad = client.post("/v1/chat/completions", json={"model": "kiemnhiem", "messages": msgs, "as_of": "2021-02-30"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_as_of", bad.text


def test_cli_as_of(kb_settings) -> None:  # noqa: ANN001
    bad = run_kn(kb_settings, "ask", Q, "--as-of", "2021-13-01")
    assert bad.returncode == 2 and "--as-of" in bad.stdout + bad.stderr and "YYYY-MM-DD" in bad.stdout + bad.stderr
    lines = "\n".join([
        json.dumps({"question": Q, "as_of": "2021-05-23"}, ensure_ascii=False),
        json.dumps({"question": Q, "as_of": "23/5/2021"}, ensure_ascii=False),
        json.dumps({"question": Q}, ensure_ascii=False),
    ])
    many = run_kn(kb_settings, "ask", "--jsonl", "--as-of", "2026-03-15", input=lines)
    out = [json.loads(ln) for ln in many.stdout.splitlines() if ln.strip()]
    assert many.returncode == 3 and len(out) == 3, many.stderr
    assert out[0]["as_of"] == "2021-05-23"  # the line's own as_of wins
    assert out[1]["error"]["line"] == 2 and "stdin:2" in out[1]["error"]["message"]
    assert "YYYY-MM-DD" in out[1]["error"]["message"]
    assert out[2]["as_of"] == "2026-03-15"  # the --as-of default
    assert "7 đến 9" in out[0]["answer"].splitlines()[0] and "9 đến 15" in out[2]["answer"].splitlines()[0]
