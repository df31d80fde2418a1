"""Shared fixtures: the real materialised model, a real Chroma index in a temp dir, real servers.

The model folder is materialised once into ``.kiemnhiem/model`` (or KIEMNHIEM_TEST_MODEL_DIR)
and shared by every test; every index lives in its own temporary data dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings, configure_threads
from assistant.tools.serverproc import ServeProcess, free_port, serve_env, stop_process  # noqa: F401 - re-exported to tests

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
SHARED = REPO.parent / "shared"
OFFICIAL = SHARED / "corpus" / "official" / "phap-dien-35-1-luat-bau-cu.md"
ALQAC = SHARED / "datasets" / "alqac2023"
ARTIFACTS = REPO / "test-artifacts"


def require_shared(path: Path = SHARED) -> Path:
    """Skip cleanly when ../shared is absent; in CI (KIEMNHIEM_REQUIRE_SHARED=1) that is a failure."""
    if not path.exists():
        if os.environ.get("KIEMNHIEM_REQUIRE_SHARED"):
            pytest.fail(f"{path} is required in CI but missing")
        pytest.skip(f"{path} not present (third-party data is read in place from ../shared)")
    return path


def make_settings(data_dir: Path, model_dir: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "data_dir": data_dir, "model_path": model_dir, "knowledge_paths": [KNOWLEDGE], "threads": 2,
        "chroma_url": None, "admin_key": None, "llm_url": None,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from assistant.embeddings import materialize_model

    target = Path(os.environ.get("KIEMNHIEM_TEST_MODEL_DIR", REPO / ".kiemnhiem" / "model"))
    return materialize_model(target)


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    """Settings of a session-wide index built from knowledge/ (read-only for tests)."""
    from assistant.index import KnowledgeIndex

    settings = make_settings(tmp_path_factory.mktemp("kb-data"), model_dir)
    configure_threads(settings)
    report = KnowledgeIndex(settings).ingest([KNOWLEDGE])
    assert report.documents == 15 and not report.errors, report
    return settings


@pytest.fixture(scope="session")
def assistant(kb_settings: Settings):  # noqa: ANN201
    from assistant.chain import Assistant

    return Assistant(kb_settings)


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Child-process environment for ``settings``; one torch thread per test server unless told otherwise."""
    return serve_env(settings, **{"KIEMNHIEM_THREADS": "1", **extra})


class Server(ServeProcess):
    """A real ``kiemnhiem serve`` process on a free loopback port (``assistant/tools/serverproc.py``)."""


@pytest.fixture(scope="session")
def server(kb_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server over the session index, with an admin key for export tests."""
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    srv = Server(server_env(kb_settings, KIEMNHIEM_ADMIN_KEY="test-admin-key"), log_path=log).wait()
    yield srv
    srv.stop()


# --- reliability helpers (tests/test_reliability.py, tests/test_chroma_server.py) ----------------------
def clone_index(src: Settings, data_dir: Path, **overrides: object) -> Settings:
    """Copy an index (Chroma store + BM25 cache, not the model) into a new data dir: a private,
    writable twin of the session index for tests that modify or break it, without re-embedding."""
    import shutil

    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src.chroma_dir, data_dir / "chroma")
    if src.bm25_dir.exists():
        shutil.copytree(src.bm25_dir, data_dir / "bm25")
    return make_settings(data_dir, src.model_dir, **overrides)


def run_kn(settings: Settings, *args: str, input: str | None = None, timeout: float = 600,
           **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``kiemnhiem ARGS`` in a subprocess configured like ``settings``."""
    full_env = server_env(settings, KIEMNHIEM_THREADS="2", COLUMNS="200", **env)
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], env=full_env, cwd=REPO, input=input,
                          capture_output=True, text=True, timeout=timeout)
