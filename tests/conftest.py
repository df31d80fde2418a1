"""Shared fixtures: the real materialised model, a real Chroma index in a temp dir, real servers.

The model folder is materialised once into ``.kiemnhiem/model`` (or KIEMNHIEM_TEST_MODEL_DIR)
and shared by every test; every index lives in its own temporary data dir. Helpers that test
modules import live in ``tests/support.py``. Every test gets the marker of its tier folder
(``unit``, ``integration``, ``e2e``); a unit test asking for a real-model fixture is a collection error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings, configure_threads
from tests.support import BAD_INPUTS_TRIED, KNOWLEDGE, REPO, Server, make_settings, server_env

TIERS = ("unit", "integration", "e2e")
# fixtures that load the real model (directly or through the session index / server)
MODEL_FIXTURES = frozenset({"model_dir", "kb_settings", "assistant", "server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier folder; keep the model out of the unit tier."""
    tests_dir = Path(__file__).parent
    wrong: list[str] = []
    for item in items:
        if not item.path.is_relative_to(tests_dir):
            continue
        rel = item.path.parts[len(tests_dir.parts):]
        tier = rel[0] if len(rel) > 1 and rel[0] in TIERS else None
        if tier is None:
            wrong.append(f"{item.nodeid}: not in a tier folder ({', '.join(TIERS)})")
            continue
        item.add_marker(tier)
        if tier == "unit":
            heavy = MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))
            if heavy:
                wrong.append(f"{item.nodeid}: unit test uses real-model fixtures {sorted(heavy)}")
    if wrong:
        raise pytest.UsageError("tests in the wrong tier:\n  " + "\n  ".join(wrong))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many bad inputs the reliability tests tried (CLI, HTTP, injection), whatever ran and in what order."""
    if BAD_INPUTS_TRIED:
        terminalreporter.write_line(f"bad inputs tried: {len(BAD_INPUTS_TRIED)}")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from assistant.embed.embeddings import materialize_model

    target = Path(os.environ.get("KIEMNHIEM_TEST_MODEL_DIR", REPO / ".kiemnhiem" / "model"))
    return materialize_model(target)


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    """Settings of a session-wide index built from knowledge/ (read-only for tests)."""
    from assistant.ingest.pipeline import KnowledgeIndex

    settings = make_settings(tmp_path_factory.mktemp("kb-data"), model_dir)
    configure_threads(settings)
    report = KnowledgeIndex(settings).ingest([KNOWLEDGE])
    assert report.documents == 15 and not report.errors, report
    return settings


@pytest.fixture(scope="session")
def assistant(kb_settings: Settings):  # noqa: ANN201
    from assistant.answering.chain import Assistant

    return Assistant(kb_settings)


@pytest.fixture(scope="session")
def server(kb_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server over the session index, with an admin key for export tests."""
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    srv = Server(server_env(kb_settings, KIEMNHIEM_ADMIN_KEY="test-admin-key"), log_path=log).wait()
    yield srv
    srv.stop()
