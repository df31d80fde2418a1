"""The load generator refuses targets that are not loopback (it never loads anything elsewhere)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import REPO


def test_loadtest_refuses_non_loopback_targets() -> None:
    from assistant.tools.loadtest import LoadTestError, check_loopback

    for url in ("http://10.0.0.1:8000", "http://192.168.1.5", "http://example.com", "https://8.8.8.8",
                "ftp://127.0.0.1", "http://127.0.0.1.example.com:80"):
        with pytest.raises(LoadTestError):
            check_loopback(url)
    for url in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:9000", "http://127.1.2.3"):
        check_loopback(url)
    proc = subprocess.run([sys.executable, "-m", "assistant.tools.loadtest", "--url", "http://10.1.2.3:8000",
                           "--seconds", "1"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "loopback" in proc.stderr
