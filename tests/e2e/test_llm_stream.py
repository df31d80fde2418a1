"""Token streaming with the LLM answerer, over real HTTP: a real ``kiemnhiem serve`` whose model is a scripted
OpenAI-compatible server streaming its reply (``stream: true``), paused mid-reply.

Each sentence reaches the client as soon as it is finished and verified, while the model is still writing;
a sentence the guard drops never does; the streamed answer equals the plain ``/ask`` answer to the same reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_answering import ScriptedLLM
from tests.support import Server, server_env

pytestmark = pytest.mark.server

QUESTION = "Ban bầu cử đại biểu Quốc hội có bao nhiêu thành viên?"
DROPPED = "Điều này cũng được quy định tại văn bản khác [7]."  # names no retrieved passage


def reply(pause: bool = True) -> list[Any]:
    """The model's reply in pieces; it stops (``PAUSE``) once the first sentence is finished."""
    head = ["Ban bầu cử đại biểu Quốc hội ", "có từ 9 đến 17 ", "thành viên [1].", " Điều này"]
    tail = [" cũng được quy định tại văn bản khác [7].", " Thành viên Ban bầu cử đại diện Thường trực ",
            "Hội đồng nhân dân, Ủy ban nhân dân [1]."]
    return head + ([ScriptedLLM.PAUSE] if pause else []) + tail


@pytest.fixture(scope="module")
def scripted_llm() -> Iterator[ScriptedLLM]:
    llm = ScriptedLLM()
    yield llm
    llm.resume.set()
    llm.httpd.shutdown()


@pytest.fixture(scope="module")
def llm_server(kb_settings: Any, scripted_llm: ScriptedLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over the session index whose answers the scripted model writes."""
    env = server_env(kb_settings, KIEMNHIEM_ANSWERER="llm", KIEMNHIEM_LLM_URL=scripted_llm.url,
                     KIEMNHIEM_LLM_TIMEOUT="60")
    srv = Server(env, log_path=tmp_path_factory.mktemp("llm-server") / "server.log").wait()
    yield srv
    srv.stop()


def script(llm: ScriptedLLM, *replies: list[Any]) -> None:
    llm.replies = list(replies)
    llm.resume.clear()
    llm.finished.clear()


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    name, data = "", []
    for line in lines:
        if not line:
            if name or data:
                yield name or "message", "\n".join(data)
            name, data = "", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def test_ask_stream_sends_verified_sentences_while_the_model_writes(llm_server: Server,
                                                                    scripted_llm: ScriptedLLM) -> None:
    script(scripted_llm, reply(), reply(pause=False))
    text, early, names = "", "", []
    with httpx.stream("POST", llm_server.url + "/ask/stream", json={"question": QUESTION}, timeout=120) as r:
        assert r.status_code == 200
        for name, data in sse_events(r.iter_lines()):
            names.append(name)
            if name == "token":
                text += json.loads(data)["text"]
                if "[1]" in text and not early:
                    # the first sentence is here and the model has not finished: it was not held to the end
                    assert not scripted_llm.finished.is_set()
                    early = text
                    scripted_llm.resume.set()
            elif name == "citations":
                citations = json.loads(data)
            elif name == "done":
                done = json.loads(data)
    assert "9 đến 17" in early and early.count("[") == 1, early
    assert "reset" not in names and "error" not in names, names
    assert DROPPED not in text and "văn bản khác" not in text
    # the same reply, not streamed, gives the same verified answer
    plain = httpx.post(llm_server.url + "/ask", json={"question": QUESTION}, timeout=120).json()
    assert plain["answered_by"] == done["answered_by"] == "llm"
    assert text == plain["answer"]
    assert plain["answer"].split("\n")[0] == early and "Thường trực Hội đồng nhân dân" in plain["answer"].split("\n")[1]
    assert citations["citations"] == plain["citations"]
    assert scripted_llm.requests[-2]["stream"] is True and not scripted_llm.requests[-1].get("stream")


def test_openai_compatible_stream_sends_sentences_while_the_model_writes(llm_server: Server,
                                                                          scripted_llm: ScriptedLLM) -> None:
    script(scripted_llm, reply(), reply(pause=False))
    body = {"model": "kiemnhiem", "messages": [{"role": "user", "content": QUESTION}]}
    content, early = "", ""
    with httpx.stream("POST", llm_server.url + "/v1/chat/completions", json={**body, "stream": True},
                      timeout=120) as r:
        assert r.status_code == 200
        for _name, data in sse_events(r.iter_lines()):
            if data == "[DONE]":
                break
            content += json.loads(data)["choices"][0]["delta"].get("content", "")
            if "[1]" in content and not early:
                assert not scripted_llm.finished.is_set()
                early = content
                scripted_llm.resume.set()
    assert "9 đến 17" in early and early.count("[") == 1, early
    plain = httpx.post(llm_server.url + "/v1/chat/completions", json=body, timeout=120).json()
    assert content == plain["choices"][0]["message"]["content"]
    assert "văn bản khác" not in content and "Nguồn:" in content
