"""A real server under load: memory stays flat over hundreds of requests, the load generator runs bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import httpx
import pytest

from assistant.tools.loadtest import gold_requests
from assistant.tools.serverproc import rss_kib
from tests.support import REPO, Server


# --- memory stability -----------------------------------------------------------------------------
def _drive(server: Server, n: int, offset: int, clients: int = 4) -> dict[int, int]:
    """``n`` requests over loopback from ``clients`` threads: mixed gold questions, some streamed."""
    bodies = gold_requests()
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(offset, offset + n))

    def worker() -> None:
        with httpx.Client(base_url=server.url, timeout=120, trust_env=False) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                body = bodies[i % len(bodies)]
                path = "/ask/stream" if i % 7 == 3 else "/ask"
                r = client.post(path, json=body)
                _ = r.content
                with lock:
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=1800)
    return statuses


def _memory_check(server: Server, warm: int, total: int) -> tuple[int, int]:
    s1 = _drive(server, warm, 0)
    rss_warm = rss_kib(server.proc.pid)
    s2 = _drive(server, total - warm, warm)
    rss_total = rss_kib(server.proc.pid)
    statuses = {k: s1.get(k, 0) + s2.get(k, 0) for k in {*s1, *s2}}
    assert statuses == {200: total}, statuses
    print(f"\nRSS after {warm} requests: {rss_warm / 1024:.1f} MiB; after {total}: {rss_total / 1024:.1f} MiB "
          f"({(rss_total / rss_warm - 1) * 100:+.1f}%)")
    assert rss_total <= rss_warm * 1.10, (rss_warm, rss_total)
    return rss_warm, rss_total


def test_memory_stable_under_requests(server: Server) -> None:
    _memory_check(server, 100, 600)


@pytest.mark.slow  # `make test` deselects it; `make test-all` runs it
def test_memory_stable_under_requests_long(server: Server) -> None:
    _memory_check(server, 200, 2000)


# --- load generator -----------------------------------------------------------------------------------
def test_loadtest_runs_bounded_against_server(server: Server) -> None:
    proc = subprocess.run([sys.executable, "-m", "assistant.tools.loadtest", "--url", server.url, "--clients", "2",
                           "--seconds", "60", "--requests", "20", "--pid", str(server.proc.pid)],
                          capture_output=True, text=True, timeout=300, cwd=REPO, env={**os.environ, "NO_PROXY": "*"})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["requests"] == 20 and report["server_errors"] == 0 and report["errors_by_status"] == {}
    assert report["status_counts"] == {"200": 20}
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["p99"]
    assert report["throughput_rps"] > 0 and report["rss_mib"] > 0
