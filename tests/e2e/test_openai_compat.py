"""The OpenAI-compatible endpoints, driven by the official ``openai`` client against a real server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from assistant.text import collapse_ws
from tests.support import Server

pytestmark = pytest.mark.server

Q_KIEM_NHIEM = "Thành viên Ban bầu cử có được kiêm nhiệm không?"
Q_BAN_BAU_CU = "Ban bầu cử đại biểu Quốc hội có bao nhiêu thành viên?"
Q_FOLLOW_UP = "Còn cấp xã thì sao?"
FOOTNOTE_RE = re.compile(r"^\[\^(\d+)\]: (.+)$", re.M)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(base_url=server.url + "/v1", api_key="dummy-key", max_retries=0, timeout=120)
    yield c
    c.close()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def complete(client: openai.OpenAI, messages: list[dict[str, Any]], **kw: Any) -> str:
    r = client.chat.completions.create(model="kiemnhiem", messages=messages, **kw)  # type: ignore[arg-type]
    assert r.object == "chat.completion" and r.model == "kiemnhiem"
    assert len(r.choices) == 1 and r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.role == "assistant"
    content = r.choices[0].message.content
    assert isinstance(content, str) and content.strip()
    return content


def stream(client: openai.OpenAI, messages: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    chunks = list(client.chat.completions.create(model="kiemnhiem", messages=messages, stream=True))  # type: ignore[arg-type]
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    return text, chunks


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "kiemnhiem" in ids


def test_completion_has_markers_and_footnotes(client: openai.OpenAI, http: httpx.Client) -> None:
    content = complete(client, [{"role": "user", "content": Q_KIEM_NHIEM}])
    plain = http.post("/ask", json={"question": Q_KIEM_NHIEM}).json()
    assert content.startswith(plain["answer"]), "the reply is not the /ask answer followed by its sources"
    assert "[1]" in content
    notes = dict((int(n), text) for n, text in FOOTNOTE_RE.findall(content))
    assert 1 in notes, content[-500:]
    assert set(notes) == {c["n"] for c in plain["citations"]}
    for c in plain["citations"]:
        assert c["label"] in notes[c["n"]], (c["label"], notes[c["n"]])
        assert collapse_ws(c["quote"]) in notes[c["n"]]  # one footnote line: whitespace normalised
    # every [n] in the answer part has its footnote
    body = content[: content.index("[^1]:")]
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body)} <= set(notes)


def test_completion_accepts_content_parts_and_extra_fields(client: openai.OpenAI) -> None:
    content = complete(client, [{"role": "system", "content": "Trả lời ngắn gọn."},
                                {"role": "user", "content": [{"type": "text", "text": Q_KIEM_NHIEM}]}],
                       temperature=0.2, max_tokens=500, user="tester")
    assert "[1]" in content and "[^1]:" in content


def test_stream_equals_non_streamed(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": Q_KIEM_NHIEM}]
    full = complete(client, messages)
    text, chunks = stream(client, messages)
    assert len(chunks) > 3, "not streamed in pieces"
    assert all(ch.object == "chat.completion.chunk" and ch.model == "kiemnhiem" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert text == full


def test_refusal_and_greeting_have_no_footnotes(client: openai.OpenAI) -> None:
    refused = complete(client, [{"role": "user", "content": "Thời tiết Hà Nội hôm nay thế nào?"}])
    greeting = complete(client, [{"role": "user", "content": "Xin chào"}])
    for content in (refused, greeting):
        assert "[^" not in content and not re.search(r"\[\d+\]", content)


def test_multi_turn_follow_up(client: openai.OpenAI) -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Bạn là trợ lý."},
                                      {"role": "user", "content": Q_BAN_BAU_CU}]
    first = complete(client, messages)
    assert "9 đến 17" in first
    messages += [{"role": "assistant", "content": first}, {"role": "user", "content": Q_FOLLOW_UP}]
    second = complete(client, messages)
    answer = second.split("\n\nNguồn:")[0]
    assert "cấp xã" in answer and "9 đến 15" in answer, answer
    text, _ = stream(client, messages)
    assert text == second


def test_long_conversation_keeps_working(client: openai.OpenAI) -> None:
    """Clients resend every earlier reply, footnotes included: a few turns exceed the /ask history limit
    (8,000 characters), and the endpoint must still answer the latest question."""
    messages: list[dict[str, Any]] = []
    for q in (Q_BAN_BAU_CU, Q_FOLLOW_UP, Q_KIEM_NHIEM,
              "Bí thư chi bộ kiêm trưởng thôn có được hưởng phụ cấp kiêm nhiệm không?",
              "Còn trưởng ban công tác Mặt trận thì sao?", "Ban bầu cử đại biểu Quốc hội do ai thành lập?",
              "Tổ bầu cử có bao nhiêu thành viên?", "Ủy ban bầu cử ở tỉnh có bao nhiêu thành viên?",
              "Người ứng cử có được làm thành viên Tổ bầu cử không?"):
        messages.append({"role": "user", "content": q})
        messages.append({"role": "assistant", "content": complete(client, messages)})
    assert sum(len(m["content"]) for m in messages[:-2]) > 8000
    # and past 20 earlier turns too
    many = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"lượt {i}"} for i in range(30)]
    assert "[1]" in complete(client, [*many, {"role": "user", "content": Q_KIEM_NHIEM}])


@pytest.mark.parametrize("messages", [
    [{"role": "system", "content": "Bạn là trợ lý."}],
    [{"role": "assistant", "content": "Xin chào"}],
    [{"role": "user", "content": "   "}],
    [{"role": "user", "content": "a" * 2001}],
    [],
], ids=["system-only", "assistant-only", "blank-user", "question-too-long", "no-messages"])
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_bad_conversations_are_4xx(client: openai.OpenAI, messages: list[dict[str, Any]], streamed: bool) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        r = client.chat.completions.create(model="kiemnhiem", messages=messages, stream=streamed)  # type: ignore[arg-type]
        if streamed:
            list(r)  # type: ignore[arg-type]
    err = info.value
    assert 400 <= err.status_code < 500, err.status_code
    assert isinstance(err, openai.UnprocessableEntityError)
    body = err.body
    assert isinstance(body, dict) and body.get("code") and body.get("message") and body.get("message_en"), body
    if messages and all(m["role"] != "user" for m in messages):
        assert body["code"] == "no_user_message"


def test_bad_role_is_4xx(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="kiemnhiem", messages=[{"role": "robot", "content": "x"}])  # type: ignore[list-item]
    assert 400 <= info.value.status_code < 500
