"""Server mode: real ``chroma run`` processes on loopback, the CLI and ``kiemnhiem serve`` as clients.

Each Chroma server starts on a copy of the session index (``chroma run --path`` reads the same
layout as the embedded store), so nothing is re-embedded; each API host gets its own empty data
dir, so its BM25 index is rebuilt from Chroma as it would be on a fresh host.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from tests.support import KNOWLEDGE, REPO, Server, free_port, make_settings, run_kn, server_env, stop_process

pytestmark = pytest.mark.server

CHROMA = REPO / ".venv" / "bin" / "chroma"
QUESTIONS = [
    "Thành viên Ban bầu cử có được kiêm nhiệm không?",
    "Ban bầu cử cấp xã có bao nhiêu thành viên?",
    "Phụ cấp kiêm nhiệm chức danh người đứng đầu là bao nhiêu?",
    "Bí thư chi bộ có được kiêm trưởng thôn không?",
    "Tổ bầu cử có bao nhiêu thành viên?",
]


class ChromaServer:
    """``chroma run --path PATH --host 127.0.0.1 --port PORT``; restartable on the same path and port."""

    def __init__(self, path: Path, log: Path, port: int | None = None) -> None:
        self.path, self.log_path = path, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ChromaServer:
        binary = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
        assert binary, "the chroma CLI is not installed"
        deadline = time.monotonic() + timeout
        while True:  # the port may still be held for a moment after a kill
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([binary, "run", "--path", str(self.path), "--host", "127.0.0.1",
                                              "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if httpx.get(self.url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            if time.monotonic() >= deadline:
                self.stop()
                raise TimeoutError(f"chroma did not start: {self.log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)  # exited early (port busy?): try again

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


@pytest.fixture
def chroma(kb_settings: Settings, tmp_path: Path) -> Iterator[ChromaServer]:
    store = tmp_path / "chroma-store"
    shutil.copytree(kb_settings.chroma_dir, store)
    srv = ChromaServer(store, tmp_path / "chroma.log").start()
    yield srv
    srv.stop()


def host_settings(tmp_path: Path, name: str, kb_settings: Settings, chroma: ChromaServer) -> Settings:
    """An API host: its own data dir (model elsewhere, no BM25 cache yet), the shared Chroma server."""
    return make_settings(tmp_path / name, kb_settings.model_dir, chroma_url=chroma.url)


def fingerprint(result: dict) -> tuple:
    return (result["answer"], result["refused"],
            tuple((c["n"], c["passage_id"], c["quote"]) for c in result["citations"]))


def test_ingest_and_ask_through_chroma_server(kb_settings: Settings, chroma: ChromaServer, tmp_path: Path) -> None:
    settings = host_settings(tmp_path, "host-a", kb_settings, chroma)
    src = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, src)
    note = src / "hoi-dap-thanh-vien-ban-bau-cu-kiem-nhiem.md"
    note.write_text(note.read_text("utf-8") + "\n\nGhi chú kiểm thử: câu này chỉ có ở máy chủ Chroma.\n", "utf-8")

    proc = run_kn(settings, "ingest", "--replace", "--json", str(src))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["documents"] == 15 and not report["errors"]
    assert report["updated"] >= 1 and report["added"] == report["removed"] == 0
    assert report["embedded"] <= 2, "only the edited passage may be embedded again"
    assert not (settings.data_dir / "chroma").exists(), "server mode must not create an embedded store"

    # a second host with an empty data dir answers from the server (BM25 rebuilt from Chroma)
    other = host_settings(tmp_path, "host-b", kb_settings, chroma)
    for s in (settings, other):
        ask = run_kn(s, "ask", "--json", QUESTIONS[0])
        assert ask.returncode == 0, ask.stderr[-3000:]
        result = json.loads(ask.stdout)
        assert not result["refused"] and result["citations"], result
    assert any((other.bm25_dir / other.collection).iterdir())

    sources = run_kn(other, "sources", "--json")
    assert sources.returncode == 0 and len(json.loads(sources.stdout)) == 15


def test_store_goes_away_and_comes_back(kb_settings: Settings, chroma: ChromaServer, tmp_path: Path) -> None:
    settings = host_settings(tmp_path, "host", kb_settings, chroma)
    srv = Server(server_env(settings), log_path=tmp_path / "serve.log").wait()
    try:
        body = {"question": QUESTIONS[0]}
        first = httpx.post(srv.url + "/ask", json=body, timeout=120)
        assert first.status_code == 200 and first.json()["citations"]
        assert httpx.get(srv.url + "/health", timeout=30).json()["chroma_mode"] == "server"

        chroma.kill()
        time.sleep(1.2)  # past the one-second snapshot TTL: the app must notice on its own
        health = httpx.get(srv.url + "/health", timeout=30)
        assert health.status_code == 503 and health.json()["status"] == "degraded", health.text
        for _ in range(3):
            r = httpx.post(srv.url + "/ask", json=body, timeout=60)
            assert r.status_code == 503, r.text
            err = r.json()["error"]
            assert err["code"] == "store_unavailable" and err["message"] and err["message_en"]
            assert "Traceback" not in r.text and "File \"" not in r.text
            assert r.headers.get("retry-after")
        for path in ("/sources", "/sources/luat-bau-cu-85-2015-qh13"):
            r = httpx.get(srv.url + path, timeout=60)
            assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable", r.text
        stream = httpx.post(srv.url + "/ask/stream", json=body, timeout=60)
        assert stream.status_code == 503 and stream.json()["error"]["code"] == "store_unavailable"

        chroma.start()  # same path, same port; the app is not restarted
        deadline = time.monotonic() + 15
        while True:
            r = httpx.post(srv.url + "/ask", json=body, timeout=60)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 200, r.text
        assert fingerprint(r.json()) == fingerprint(first.json())
        assert httpx.get(srv.url + "/health", timeout=30).status_code == 200
    finally:
        srv.stop()
    assert "Traceback" not in srv.log_text(), srv.log_text()


def test_two_api_hosts_share_one_chroma(kb_settings: Settings, chroma: ChromaServer, tmp_path: Path) -> None:
    hosts = [Server(server_env(host_settings(tmp_path, f"host-{n}", kb_settings, chroma)),
                    log_path=tmp_path / f"serve-{n}.log") for n in range(2)]
    try:
        for h in hosts:
            h.wait()
        for q in QUESTIONS:
            a, b = (httpx.post(h.url + "/ask", json={"question": q}, timeout=120) for h in hosts)
            assert a.status_code == b.status_code == 200, (a.text, b.text)
            assert fingerprint(a.json()) == fingerprint(b.json()), q
            assert [c["passage_id"] for c in a.json()["citations"]] == [c["passage_id"] for c in b.json()["citations"]]
        stats = [httpx.get(h.url + "/health", timeout=30).json()["index"] for h in hosts]
        assert stats[0] == stats[1]
    finally:
        for h in hosts:
            h.stop()
