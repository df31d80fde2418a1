"""A bounded load generator for a local ``kiemnhiem serve``: loopback targets only.

    kiemnhiem dev load --url http://127.0.0.1:8000 --clients 16 --seconds 60 [--requests N]
    (or python -m assistant.tools.loadtest with the same options)

``--clients`` threads each keep one keep-alive connection and send gold-set questions from
eval/questions.jsonl (with their follow-up history) to ``POST /ask`` until ``--seconds`` have
passed or ``--requests`` have been sent, whichever comes first. Prints one JSON object: request
count, status counts, errors by status, the number of 5xx, transport errors, latency percentiles
and throughput (and the server's RSS with ``--pid``). It refuses any host outside 127.0.0.0/8,
::1 and ``localhost``: load is never sent anywhere but this machine.

:func:`generate` is the one load loop: ``make bench`` drives its sequential (one client) and
concurrent phases through it too.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from assistant.errors import KiemnhiemError
from assistant.evaluation.gold import load_questions
from assistant.evaluation.metrics import mean, percentile
from assistant.tools.serverproc import rss_kib

GOLD = Path(__file__).resolve().parents[2] / "eval" / "questions.jsonl"
MAX_SECONDS = 3600
MAX_CLIENTS = 256


class LoadTestError(KiemnhiemError, ValueError):
    """A target or bound the load generator refuses (developer-facing: English)."""

    code = "invalid_load"


def check_loopback(url: str) -> str:
    """Return the base URL if its host is a loopback address; raise otherwise (names must resolve only there)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise LoadTestError(f"not an http(s) URL: {url!r}")
    host = parsed.hostname
    try:
        addrs = [ipaddress.ip_address(host)]
    except ValueError:
        if host != "localhost":
            raise LoadTestError(f"refusing {host!r}: only loopback targets (127.0.0.0/8, ::1, localhost)") from None
        try:
            addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0])
                     for info in socket.getaddrinfo(host, parsed.port or 80, proto=socket.IPPROTO_TCP)]
        except OSError as exc:
            raise LoadTestError(f"cannot resolve {host!r}: {exc}") from exc
    if not addrs or not all(a.is_loopback for a in addrs):
        raise LoadTestError(f"refusing {host!r}: only loopback targets (127.0.0.0/8, ::1, localhost)")
    return url.rstrip("/")


def gold_requests(path: Path = GOLD) -> list[dict[str, Any]]:
    """The gold-set questions as ``/ask`` bodies (question + follow-up history), in file order."""
    return [{"question": q.question, "history": q.history} for q in load_questions(path)]


@dataclass
class LoadResult:
    """What one bounded run saw: a latency per answered request, status counts, transport errors."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.transport_errors.values())

    @property
    def errors(self) -> int:
        """Requests that did not get a 200: other statuses and transport errors."""
        return self.requests - self.statuses.get(200, 0)


def generate(base: str, bodies: Sequence[dict[str, Any]], *, clients: int, seconds: float,
             requests: int | None = None, timeout: float = 120.0, path: str = "/ask") -> LoadResult:
    """``clients`` threads, each with one keep-alive connection, POST ``bodies`` (cycled) to
    ``base + path`` until ``seconds`` have passed or ``requests`` have been issued. No target check:
    callers pass a URL that :func:`check_loopback` accepted or a server they started themselves."""
    lock = threading.Lock()
    issued = 0
    res = LoadResult()
    t_start = time.perf_counter()
    deadline = t_start + seconds

    def next_index() -> int | None:
        nonlocal issued
        with lock:
            if time.perf_counter() >= deadline or (requests is not None and issued >= requests):
                return None
            issued += 1
            return issued - 1

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=timeout, trust_env=False) as client:
            while (i := next_index()) is not None:
                body = bodies[i % len(bodies)]
                t0 = time.perf_counter()
                try:
                    r = client.post(path, json=body)
                    _ = r.content
                    dt = (time.perf_counter() - t0) * 1000
                    with lock:
                        res.statuses[r.status_code] = res.statuses.get(r.status_code, 0) + 1
                        res.latencies_ms.append(dt)
                except httpx.HTTPError as exc:
                    with lock:
                        name = type(exc).__name__
                        res.transport_errors[name] = res.transport_errors.get(name, 0) + 1

    threads = [threading.Thread(target=worker, daemon=True, name=f"load-{n}") for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + timeout + 30)
    with lock:
        res.seconds = time.perf_counter() - t_start
        return LoadResult(list(res.latencies_ms), dict(res.statuses), dict(res.transport_errors), res.seconds)


def _ms(v: float | None) -> float:
    return round(v, 1) if v is not None else 0.0


def run(url: str, clients: int = 16, seconds: float = 60.0, requests: int | None = None,
        timeout: float = 120.0, path: str = "/ask", pid: int | None = None) -> dict[str, Any]:
    base = check_loopback(url)
    if not 1 <= clients <= MAX_CLIENTS:
        raise LoadTestError(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise LoadTestError(f"--seconds must be in (0, {MAX_SECONDS}]")
    if requests is not None and requests < 1:
        raise LoadTestError("--requests must be positive")
    res = generate(base, gold_requests(), clients=clients, seconds=seconds, requests=requests, timeout=timeout,
                   path=path)
    lat, statuses, elapsed = res.latencies_ms, res.statuses, res.seconds
    done = sum(statuses.values())
    report: dict[str, Any] = {
        "url": base + path,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": res.requests,
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "errors_by_status": {str(k): v for k, v in sorted(statuses.items()) if not 200 <= k < 300},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "transport_errors": res.transport_errors,
        "latency_ms": {
            "p50": _ms(percentile(lat, 50)),
            "p95": _ms(percentile(lat, 95)),
            "p99": _ms(percentile(lat, 99)),
            "mean": _ms(mean(lat)),
            "max": _ms(max(lat, default=None)),
        },
        "throughput_rps": round(done / elapsed, 2) if elapsed > 0 else 0.0,
    }
    if pid is not None:
        report["rss_mib"] = round(rss_kib(pid) / 1024, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="kiemnhiem dev load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="base URL of a local server, e.g. http://127.0.0.1:8000")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    ap.add_argument("--seconds", type=float, default=60.0, help="stop after this many seconds")
    ap.add_argument("--requests", type=int, default=None, help="stop after this many requests")
    ap.add_argument("--timeout", type=float, default=120.0, help="per-request timeout in seconds")
    ap.add_argument("--path", default="/ask", choices=["/ask", "/ask/stream"], help="endpoint to load")
    ap.add_argument("--pid", type=int, default=None, help="server PID: report its RSS (plus workers) at the end")
    args = ap.parse_args(argv)
    try:
        report = run(args.url, args.clients, args.seconds, args.requests, args.timeout, args.path, args.pid)
    except LoadTestError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False))
    return 1 if report["server_errors"] or report["transport_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
