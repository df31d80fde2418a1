"""Issue #26, what a hostile client can hold on a real ``kiemnhiem serve``: a request body trickled byte by
byte (N3) and LLM answers abandoned by their client (N12).

The model behind the server is a loopback OpenAI-compatible endpoint that, when told to, holds a reply until
its own client (our server) hangs up, and counts those hang-ups: an upstream call that was really cancelled.
"""

from __future__ import annotations

import json
import select
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import KNOWLEDGE, Server, make_settings, server_env

pytestmark = pytest.mark.server

ADMIN_KEY = "round3-clients-key-7d1e"
QUESTION = "Thành viên Ban bầu cử có được kiêm nhiệm không?"
HOI_DAP = "hoi-dap-thanh-vien-ban-bau-cu-kiem-nhiem.md"
BODY_TIMEOUT = 2.0
LLM_PER_CLIENT = 2
REPLY = "Về nguyên tắc, thành viên Ban bầu cử được kiêm nhiệm, trừ trường hợp là người ứng cử [1]."


class HoldingLLM:
    """An OpenAI-compatible chat endpoint. The next ``hold`` requests get no reply until their client hangs up
    (counted in ``dropped``) or 60 s pass; the others are answered at once with ``REPLY``."""

    def __init__(self) -> None:
        self.hold = 0
        self.dropped = 0
        self.held_now = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    held = owner.hold > 0
                    owner.hold -= held
                    owner.held_now += held
                if held:
                    try:
                        if self._wait_for_hang_up(60):
                            with owner.lock:
                                owner.dropped += 1
                            return
                    finally:
                        with owner.lock:
                            owner.held_now -= 1
                try:
                    self._reply(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _wait_for_hang_up(self, seconds: float) -> bool:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    ready, _, _ = select.select([self.connection], [], [], 0.2)
                    if ready:
                        try:
                            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                                return True
                        except OSError:
                            return True
                return False

            def _reply(self, body: dict[str, Any]) -> None:
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for delta, finish in (({"role": "assistant", "content": REPLY}, None), ({}, "stop")):
                        chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                        self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                payload = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def llm() -> Iterator[HoldingLLM]:
    stub = HoldingLLM()
    yield stub
    stub.httpd.shutdown()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, model_dir: Path, llm: HoldingLLM) -> Iterator[Server]:
    """A real server over a one-note index, LLM answers allowed, short body timeout, two LLM slots per client."""
    from assistant.ingest.pipeline import KnowledgeIndex

    root = tmp_path_factory.mktemp("clients")
    kb = root / "kb"
    kb.mkdir()
    shutil.copy(KNOWLEDGE / HOI_DAP, kb)
    settings = make_settings(root / "data", model_dir, knowledge_paths=[kb], threads=1)
    assert not KnowledgeIndex(settings).ingest([kb]).errors
    server = Server(server_env(
        settings, KIEMNHIEM_ADMIN_KEY=ADMIN_KEY, KIEMNHIEM_BODY_TIMEOUT=str(BODY_TIMEOUT),
        KIEMNHIEM_ANSWERER="llm", KIEMNHIEM_LLM_URL=llm.url, KIEMNHIEM_ALLOWED_ANSWERERS='["extractive", "llm"]',
        KIEMNHIEM_LLM_MAX_CONCURRENT="2", KIEMNHIEM_LLM_MAX_QUEUE="4",
        KIEMNHIEM_LLM_MAX_PER_CLIENT=str(LLM_PER_CLIENT), KIEMNHIEM_LLM_TIMEOUT="60"),
        log_path=root / "server.log").wait()
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------ N3
def trickle(url: str, head: bytes, body: bytes, every: float = 0.4, give_up: float = 20.0) -> tuple[bytes, float]:
    """Send ``head`` then ``body`` one byte every ``every`` s, reading meanwhile; returns (response, seconds)
    once the server has answered and closed, or after ``give_up`` s."""
    host, port = url.removeprefix("http://").split(":")
    got = b""
    t0 = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=give_up) as s:
        s.sendall(head)
        sent = 0
        while time.monotonic() - t0 < give_up:
            ready, _, _ = select.select([s], [], [], every)
            if ready:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return got, time.monotonic() - t0
                got += chunk
            elif sent < len(body):
                try:
                    s.sendall(body[sent:sent + 1])
                except (BrokenPipeError, ConnectionResetError):
                    return got, time.monotonic() - t0
                sent += 1
    return got, time.monotonic() - t0


def test_n3_a_trickled_body_is_cut_off_with_408(srv: Server) -> None:
    body = json.dumps({"question": QUESTION}, ensure_ascii=False).encode()
    boundary = "x7d1e"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cham.md\"\r\n"
            f"Content-Type: text/markdown\r\n\r\n# Chậm\n\nMột ghi chú gửi rất chậm.\n" * 3).encode()
    cases = [
        ("POST /ask", "application/json", body, {}),
        ("POST /admin/uploads", f"multipart/form-data; boundary={boundary}", form, {"X-Admin-Key": ADMIN_KEY}),
    ]
    for line, ctype, payload, extra in cases:
        head = (f"{line} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                + f"Content-Length: {len(payload)}\r\n\r\n").encode()
        got, seconds = trickle(srv.url, head, payload)
        assert got.startswith(b"HTTP/1.1 408"), f"{line}: after {seconds:.1f} s got {got[:200]!r}"
        assert seconds < BODY_TIMEOUT + 6, f"{line}: connection held {seconds:.1f} s"
        err = json.loads(got.split(b"\r\n\r\n", 1)[1])["error"]
        assert err["code"] == "body_timeout" and err["message"].strip() and err["message_en"].strip(), err
        assert b"content-security-policy" in got.lower()
    # a body sent at once is not affected, and the server still answers
    r = httpx.post(srv.url + "/ask", json={"question": QUESTION}, timeout=60)
    assert r.status_code == 200 and not r.json()["refused"], r.text[:300]


# ------------------------------------------------------------------------------------------ N12
def client(address: str, timeout: float) -> httpx.Client:
    """An HTTP client from its own loopback address: the server sees two different clients."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)


def ask_llm(url: str, address: str, timeout: float, path: str = "/ask", stream: bool = False) -> httpx.Response | str:
    """One LLM answer asked from ``address``; "abandoned" when the client gave up first (and hung up)."""
    body: dict[str, Any] = {"question": QUESTION, "answerer": "llm"}
    if path == "/v1/chat/completions":
        body = {"model": "kiemnhiem", "messages": [{"role": "user", "content": QUESTION}], "stream": stream}
    try:
        with client(address, timeout) as http:
            if stream:
                with http.stream("POST", url + path, json=body) as r:
                    r.read()
                    return r
            return http.post(url + path, json=body)
    except httpx.TimeoutException:
        return "abandoned"


def wait_for(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def test_n12_abandoned_llm_answers_free_their_slots_and_the_upstream_call(srv: Server, llm: HoldingLLM) -> None:
    url = srv.url
    with ThreadPoolExecutor(8) as pool:
        # one client fills its share of the model with requests it then abandons (its clients time out)
        llm.hold, llm.dropped = 2, 0
        held = [pool.submit(ask_llm, url, "127.0.0.1", 8.0, "/ask"),
                pool.submit(ask_llm, url, "127.0.0.1", 8.0, "/ask/stream", True)]
        assert wait_for(lambda: llm.held_now == 2, 30), "the two answers did not reach the model"
        # ... its third at the same time is refused at once: one client cannot take every slot
        r = ask_llm(url, "127.0.0.1", 10.0)
        assert not isinstance(r, str) and r.status_code == 429, r if isinstance(r, str) else r.text[:300]
        err = r.json()["error"]
        assert err["code"] == "llm_client_busy" and err["message"].strip() and r.headers.get("retry-after"), err
        assert [f.result() for f in held] == ["abandoned", "abandoned"]
        # the server hangs up on the model for both abandoned answers: their slots and the model are free again
        assert wait_for(lambda: llm.dropped == 2, 10), f"upstream calls still running ({llm.dropped} of 2 cancelled)"
        # another client, and then the same one, get answers from the model at once
        for address in ("127.0.0.2", "127.0.0.1"):
            for path in ("/ask", "/v1/chat/completions"):
                r = ask_llm(url, address, 20.0, path)
                assert not isinstance(r, str) and r.status_code == 200, (address, path, r)
        # the OpenAI-compatible stream: abandoned while the model holds it, cancelled upstream too
        llm.hold, llm.dropped = 1, 0
        gone = pool.submit(ask_llm, url, "127.0.0.1", 3.0, "/v1/chat/completions", True)
        assert gone.result() == "abandoned"
        assert wait_for(lambda: llm.dropped == 1, 10), "the abandoned chat completion still holds the model"
