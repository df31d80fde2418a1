"""A real ``kiemnhiem serve`` in a child process, on a free loopback port.

``make bench`` measures it and the tests talk to it; both need the same start, health wait and
clean stop, so they live here once (the tests import this module, the library never imports tests).
Memory is read from ``/proc/<pid>/status`` over the server and its workers, here once too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from assistant.config import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a child process use ``settings`` (and nothing of the parent's KIEMNHIEM_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIEMNHIEM_")}
    env.update({
        "KIEMNHIEM_DATA_DIR": str(settings.data_dir),
        "KIEMNHIEM_MODEL_PATH": str(settings.model_dir),
        "KIEMNHIEM_COLLECTION": settings.collection,
        "KIEMNHIEM_THREADS": str(settings.threads),
        "KIEMNHIEM_EMBED_BACKEND": str(getattr(settings, "embed_backend", "auto")),
        "KIEMNHIEM_EMBED_INT8": "true" if getattr(settings, "embed_int8", True) else "false",
        "KIEMNHIEM_FOLDED_VECTORS": "true" if settings.folded_vectors else "false",
        "KIEMNHIEM_SENTENCE_VECTORS": settings.sentence_vectors,
        "KIEMNHIEM_KNOWLEDGE_PATHS": json.dumps([str(p) for p in settings.knowledge_paths]),
        # what a measurement must be able to turn off: a warm cache is not a cold answer
        "KIEMNHIEM_QUERY_CACHE": str(settings.query_cache),
        "KIEMNHIEM_ANSWER_CACHE": str(settings.answer_cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    })
    if settings.chroma_url:
        env["KIEMNHIEM_CHROMA_URL"] = settings.chroma_url
    env.update(extra)
    return env


def stop_process(proc: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class ServeProcess:
    """``python -m assistant.cli serve`` with its output in ``log_path`` (or discarded)."""

    def __init__(self, env: dict[str, str], workers: int = 1, log_path: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.startup_s: float | None = None
        self._log: IO[bytes] | int = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 180.0, healthy: bool = True) -> ServeProcess:
        """Block until ``/health`` answers 200 (or 503 with ``healthy=False``); ``startup_s`` records how long."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; log: {self.log_text()}")
            try:
                r = httpx.get(self.url + "/health", timeout=5)
                if r.status_code == 200 or (not healthy and r.status_code == 503):
                    self.startup_s = time.monotonic() - t0
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"server not ready in {timeout} s; log: {self.log_text()}")

    def log_text(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text("utf-8", errors="replace")[-4000:]
        return ""

    def stop(self) -> None:
        stop_process(self.proc)
        if not isinstance(self._log, int):
            self._log.close()


def proc_status_kib(pid: int, key: str) -> int:
    """One ``/proc/<pid>/status`` field in KiB (``VmRSS``, ``VmHWM``); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """All descendant pids (via /proc/<pid>/task/*/children): uvicorn workers and what they start."""
    out: list[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            for k in kids:
                if k.isdigit() and int(k) not in out:
                    out.append(int(k))
                    stack.append(int(k))
    return out


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    """``key`` summed over a process and all its descendants, in KiB (current RSS by default)."""
    return sum(proc_status_kib(p, key) for p in (pid, *descendants(pid)))


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM of the process and the sum over it and its children (workers), in MiB."""
    return {"process_mb": proc_status_kib(pid, "VmHWM") / 1024, "total_mb": rss_kib(pid, "VmHWM") / 1024,
            "children": len(descendants(pid))}
