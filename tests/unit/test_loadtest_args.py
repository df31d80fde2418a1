"""The load generator refuses targets that are not loopback (it never loads anything elsewhere)."""

from __future__ import annotations

import pytest

from assistant.tools import loadtest
from assistant.tools.loadtest import LoadTestError, check_loopback


def test_loadtest_refuses_non_loopback_targets(capsys: pytest.CaptureFixture[str]) -> None:
    for url in ("http://10.0.0.1:8000", "http://192.168.1.5", "http://example.com", "https://8.8.8.8",
                "ftp://127.0.0.1", "http://127.0.0.1.example.com:80"):
        with pytest.raises(LoadTestError):
            check_loopback(url)
    for url in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:9000", "http://127.1.2.3"):
        check_loopback(url)
    # the command itself (`kiemnhiem dev load` / `python -m assistant.tools.loadtest` run this main): exit 2,
    # the reason on stderr, nothing sent; in-process, so the unit tier does not pay a second interpreter
    assert loadtest.main(["--url", "http://10.1.2.3:8000", "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert "loopback" in err
