"""A bounded load generator for a local ``kiemnhiem serve``: loopback targets only.

    python -m assistant.loadtest --url http://127.0.0.1:8000 --clients 16 --seconds 60 [--requests N]

``--clients`` threads each keep one keep-alive connection and send gold-set questions from
eval/questions.jsonl (with their follow-up history) to ``POST /ask`` until ``--seconds`` have
passed or ``--requests`` have been sent, whichever comes first. Prints one JSON object: request
count, status counts, errors by status, the number of 5xx, transport errors, latency percentiles
and throughput (and the server's RSS with ``--pid``). It refuses any host outside 127.0.0.0/8,
::1 and ``localhost``: load is never sent anywhere but this machine.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

GOLD = Path(__file__).resolve().parents[1] / "eval" / "questions.jsonl"
MAX_SECONDS = 3600
MAX_CLIENTS = 256


class LoadTestError(ValueError):
    pass


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
            addrs = [ipaddress.ip_address(info[4][0].split("%")[0])
                     for info in socket.getaddrinfo(host, parsed.port or 80, proto=socket.IPPROTO_TCP)]
        except OSError as exc:
            raise LoadTestError(f"cannot resolve {host!r}: {exc}") from exc
    if not addrs or not all(a.is_loopback for a in addrs):
        raise LoadTestError(f"refusing {host!r}: only loopback targets (127.0.0.0/8, ::1, localhost)")
    return url.rstrip("/")


def gold_requests(path: Path = GOLD) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out.append({"question": item["question"], "history": item.get("history", [])})
    return out


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def rss_mib(pid: int) -> float:
    """RSS of a process plus its direct children (uvicorn workers), from /proc."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(x) for x in children.read_text().split()]
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run(url: str, clients: int = 16, seconds: float = 60.0, requests: int | None = None,
        timeout: float = 120.0, path: str = "/ask", pid: int | None = None) -> dict[str, Any]:
    base = check_loopback(url)
    if not 1 <= clients <= MAX_CLIENTS:
        raise LoadTestError(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise LoadTestError(f"--seconds must be in (0, {MAX_SECONDS}]")
    if requests is not None and requests < 1:
        raise LoadTestError("--requests must be positive")
    bodies = gold_requests()
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    transport_errors: dict[str, int] = {}
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
                    dt = time.perf_counter() - t0
                    with lock:
                        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                        latencies.append(dt)
                except httpx.HTTPError as exc:
                    with lock:
                        name = type(exc).__name__
                        transport_errors[name] = transport_errors.get(name, 0) + 1

    threads = [threading.Thread(target=worker, daemon=True, name=f"load-{n}") for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + timeout + 30)
    elapsed = time.perf_counter() - t_start
    lat = sorted(x * 1000 for x in latencies)
    done = sum(statuses.values())
    report: dict[str, Any] = {
        "url": base + path,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": done + sum(transport_errors.values()),
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "errors_by_status": {str(k): v for k, v in sorted(statuses.items()) if not 200 <= k < 300},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "transport_errors": transport_errors,
        "latency_ms": {
            "p50": round(percentile(lat, 50), 1),
            "p95": round(percentile(lat, 95), 1),
            "p99": round(percentile(lat, 99), 1),
            "mean": round(sum(lat) / len(lat), 1) if lat else 0.0,
            "max": round(lat[-1], 1) if lat else 0.0,
        },
        "throughput_rps": round(done / elapsed, 2) if elapsed > 0 else 0.0,
    }
    if pid is not None:
        report["rss_mib"] = round(rss_mib(pid), 1)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.loadtest", description=__doc__.split("\n\n")[0])
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
