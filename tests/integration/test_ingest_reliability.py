"""Reliability of the index: failed and killed ingests, locking, model mismatch, backup and restore.

Bad input at the CLI is in ``test_cli_input.py``, prompt injection in ``test_prompt_injection.py``, input
normalisation over HTTP and memory under load in ``tests/e2e/test_http_input.py`` and ``tests/e2e/test_load.py``.

Every test that writes works on its own copy of the session index (``clone_index``) and on a temp
copy of knowledge/; the repository's knowledge/ is never modified.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from tests.support import (
    EDIT_TO,
    KNOWLEDGE,
    QUESTIONS,
    REPO,
    SHARED,
    assert_consistent,
    clone_index,
    fingerprint,
    knowledge_copy,
    make_settings,
    require_shared,
    run_kn,
    server_env,
)

# Run in a fresh interpreter so no Chroma state is shared with a process that was killed or wrote meanwhile.
VERIFY = r"""
import json, sys
from pathlib import Path
from assistant.answering.chain import Assistant
from tests.support import assert_consistent, make_settings
settings = make_settings(Path(sys.argv[1]), Path(sys.argv[2]), threads=1)
state = assert_consistent(settings)
assistant = Assistant(settings)
answers = [assistant.ask(q).to_json() for q in json.loads(sys.argv[3])]
print(json.dumps({"generation": state["generation"], "passages": len(state["ids"]),
                  "texts": state["texts"], "answers": answers}, ensure_ascii=False))
"""


def verify_in_subprocess(settings: Settings, questions: list[str] = QUESTIONS) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", VERIFY, str(settings.data_dir), str(settings.model_dir),
                           json.dumps(questions, ensure_ascii=False)],
                          cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=server_env(settings, KIEMNHIEM_THREADS="2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- failed and killed ingests ---------------------------------------------------------------------
def test_failed_ingest_keeps_previous_index_and_rerun_reuses_vectors(kb_settings: Settings, tmp_path: Path) -> None:
    from assistant.answering.chain import Assistant
    from assistant.ingest.pipeline import IngestError, KnowledgeIndex

    settings = clone_index(kb_settings, tmp_path / "data")
    before = assert_consistent(settings)
    old = [fingerprint(Assistant(settings).ask(q).to_json()) for q in QUESTIONS]

    src = knowledge_copy(tmp_path / "knowledge", edit=True)
    stages: list[str] = []
    with pytest.raises(IngestError, match="injected failure"):
        KnowledgeIndex(settings).ingest([src], _fail_after_batches=1,
                                        progress=lambda stage, done, total: stages.append(stage))
    assert "embed" in stages and "store" in stages, "the failure must hit after writing started"

    # a new Assistant on the same data dir: same generation, same answers, Chroma and BM25 agree
    after = assert_consistent(settings)
    assert after["generation"] == before["generation"] and after["ids"] == before["ids"]
    assert after["texts"] == before["texts"], "text of the failed generation leaked into the active one"
    assert [fingerprint(Assistant(settings).ask(q).to_json()) for q in QUESTIONS] == old

    # the failed generation is left behind; find out whether the edited passage was already written to it
    idx = KnowledgeIndex(settings)
    leftovers = [n for g, n in idx._generation_names() if g > before["generation"]]
    assert leftovers, "the failed ingest should leave its partial generation for harvesting"
    written = idx._collection(leftovers[-1]).get(where={"variant": "orig"}, include=["documents"])
    harvested = any(EDIT_TO in (d or "") for d in written["documents"])

    report = KnowledgeIndex(settings).ingest([src])
    assert not report.errors
    assert report.updated >= 1 and report.added == 0 and report.removed == 0, report
    assert report.unchanged == report.passages - report.updated
    # vectors embedded by the failed run were harvested: nothing (or only the one edited passage) re-embedded
    assert report.embedded == (0 if harvested else 1), (harvested, report)
    final = assert_consistent(settings)
    assert final["generation"] == report.generation > before["generation"]
    assert any(EDIT_TO in t for t in final["texts"].values())
    # the leftover was harvested and then cleaned up: only the active generation and its predecessor remain
    assert {g for g, _ in KnowledgeIndex(settings)._generation_names()} <= {before["generation"], report.generation}


def _collections(sqlite_path: Path) -> set[str]:
    try:
        con = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=0.2)
        try:
            return {r[0] for r in con.execute("SELECT name FROM collections")}
        finally:
            con.close()
    except sqlite3.Error:
        return set()


def _sigkill_mid_ingest(kb_settings: Settings, tmp_path: Path, extra: list[Path]) -> None:
    settings = clone_index(kb_settings, tmp_path / "data")
    before = verify_in_subprocess(settings)
    src = knowledge_copy(tmp_path / "knowledge", edit=True)
    db = settings.chroma_dir / "chroma.sqlite3"
    existing = _collections(db)
    assert existing

    env = server_env(settings, KIEMNHIEM_THREADS="2")
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", "--replace", "--json", str(src), *map(str, extra)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    new_gen: set[str] = set()
    deadline = time.monotonic() + 900
    try:
        # the next generation's collection appears once embedding is done and writing starts
        while time.monotonic() < deadline and proc.poll() is None:
            new_gen = {n for n in _collections(db) - existing if re.search(r"__g\d{4,}$", n)}
            if new_gen:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None and not new_gen:
            proc.kill()
        proc.wait(timeout=60)
        out, err = proc.communicate()
    assert new_gen, f"the ingest ended (rc={proc.returncode}) before writing a new generation: {err[-2000:]!r}"
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out, err[-2000:])

    # the previous index is whole: same generation, same answers, BM25 == Chroma's active generation
    after = verify_in_subprocess(settings)
    assert after["generation"] == before["generation"] and after["texts"] == before["texts"]
    assert [fingerprint(a) for a in after["answers"]] == [fingerprint(a) for a in before["answers"]]

    rerun = run_kn(settings, "ingest", "--replace", "--json", str(src), *map(str, extra))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    report = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert not report["errors"] and report["updated"] >= 1 and report["removed"] == 0, report
    final = verify_in_subprocess(settings)
    assert final["generation"] > before["generation"]
    assert final["passages"] == report["passages"]
    assert any(EDIT_TO in t for t in final["texts"].values())
    for a in final["answers"][1:]:  # questions the edit does not touch are still answered the same way
        assert not a["refused"] and a["citations"]


def test_sigkill_mid_ingest_keeps_previous_index(kb_settings: Settings, tmp_path: Path) -> None:
    """SIGKILL while the next generation is being written (knowledge/ with one edited note)."""
    _sigkill_mid_ingest(kb_settings, tmp_path, [])


@pytest.mark.slow  # `make test` deselects it; `make test-all` runs it
def test_sigkill_mid_ingest_large_input(kb_settings: Settings, tmp_path: Path) -> None:
    """The same with knowledge/ + ../shared/corpus/official/ (about 1,300 more records to embed)."""
    official = require_shared(SHARED / "corpus" / "official")
    _sigkill_mid_ingest(kb_settings, tmp_path, [official])


def test_second_ingest_waits_then_fails_naming_the_lock(tmp_path: Path, model_dir: Path) -> None:
    from filelock import FileLock

    settings = make_settings(tmp_path / "data", model_dir)
    settings.data_dir.mkdir(parents=True)
    with FileLock(str(settings.lock_path)):
        t0 = time.monotonic()
        proc = run_kn(settings, "ingest", "--wait", "1", str(KNOWLEDGE))
        waited = time.monotonic() - t0
    assert proc.returncode != 0
    assert str(settings.lock_path) in proc.stderr and "Một tiến trình ingest khác đang chạy" in proc.stderr, proc.stderr
    assert waited >= 1.0
    assert not (settings.chroma_dir / "chroma.sqlite3").exists(), "nothing may be written without the lock"


def test_model_mismatch_refuses_until_rebuild(tmp_path: Path, model_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from assistant.ingest.pipeline import KnowledgeIndex

    notes = tmp_path / "notes"
    notes.mkdir()
    shutil.copy(KNOWLEDGE / "nghi-quyet-02-nq-tu-ben-tre.md", notes)  # one small note: --rebuild stays cheap
    settings = make_settings(tmp_path / "data", model_dir)
    idx = KnowledgeIndex(settings)
    assert idx.ingest([notes]).passages > 0

    # tamper with the pointer as if another embedding model had built the index
    meta_col = idx.client.get_collection(idx.meta_name)
    meta = dict(meta_col.metadata)
    meta["model"] = "another-embedding-model@v0"
    meta_col.modify(metadata=meta)
    assert idx._pointer()["model"] == "another-embedding-model@v0"
    # an index really built by another model comes with that ingest's state, whose key names the other
    # model's manifest: the no-op shortcut does not apply. Tampering with the pointer alone leaves ours.
    (settings.data_dir / "kiemnhiem.ingest-state.json").unlink()

    with TestClient(create_app(settings)) as client:  # the API refuses too, and says so in /health
        health = client.get("/health")
        assert health.status_code == 503 and "--rebuild" in health.json()["reason"], health.text
        r = client.post("/ask", json={"question": "Bến Tre có bao nhiêu cán bộ kiêm nhiệm?"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "index_model_mismatch", r.text
        assert "--rebuild" in r.json()["error"]["message_en"]

    ingest = run_kn(settings, "ingest", "--replace", str(notes))
    assert ingest.returncode != 0 and "--rebuild" in ingest.stderr, ingest.stderr
    assert "another-embedding-model@v0" in ingest.stderr
    ask = run_kn(settings, "ask", "Bến Tre có bao nhiêu cán bộ kiêm nhiệm?")
    assert ask.returncode != 0 and "--rebuild" in ask.stderr, ask.stderr

    rebuild = run_kn(settings, "ingest", "--replace", "--rebuild", "--json", str(notes))
    assert rebuild.returncode == 0, rebuild.stderr[-3000:]
    assert json.loads(rebuild.stdout)["embedded"] > 0
    ask = run_kn(settings, "ask", "--json", "Nghị quyết 02-NQ/TU của Tỉnh ủy Bến Tre quy định gì?")
    assert ask.returncode == 0, ask.stderr[-3000:]
    assert "answer" in json.loads(ask.stdout)


# --- backups as docs/operations.md tells operators to take them ------------------------------------
def test_flock_backup_blocks_ingest(tmp_path: Path, model_dir: Path) -> None:
    """The backup recipe holds the ingest lock with flock(1): an ingest must wait for it."""
    if not shutil.which("flock"):
        pytest.skip("flock(1) not installed")
    settings = make_settings(tmp_path / "data", model_dir)
    settings.data_dir.mkdir(parents=True)
    holder = subprocess.Popen(["flock", str(settings.lock_path), "sleep", "60"])
    try:
        time.sleep(0.5)
        proc = run_kn(settings, "ingest", "--wait", "1", str(KNOWLEDGE))
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode != 0 and str(settings.lock_path) in proc.stderr, proc.stderr


def test_backup_and_restore_embedded(kb_settings: Settings, tmp_path: Path) -> None:
    """tar of chroma/ + bm25/ taken under the lock, restored into a data dir, serves the old answers."""
    from assistant.answering.chain import Assistant
    from assistant.ingest.pipeline import KnowledgeIndex

    if not shutil.which("flock"):
        pytest.skip("flock(1) not installed")
    settings = clone_index(kb_settings, tmp_path / "data")
    old = [fingerprint(Assistant(settings).ask(q).to_json()) for q in QUESTIONS]
    before = assert_consistent(settings)
    archive = tmp_path / "backup.tgz"
    subprocess.run(["flock", "-w", "60", str(settings.lock_path), "tar", "czf", str(archive), "chroma", "bm25"],
                   cwd=settings.data_dir, check=True, timeout=300)

    report = KnowledgeIndex(settings).ingest([knowledge_copy(tmp_path / "knowledge", edit=True)])
    assert report.generation > before["generation"]

    restored = make_settings(tmp_path / "restored", settings.model_dir)
    restored.data_dir.mkdir()
    subprocess.run(["tar", "xzf", str(archive)], cwd=restored.data_dir, check=True, timeout=300)
    state = assert_consistent(restored)
    assert state["generation"] == before["generation"] and state["texts"] == before["texts"]
    assert [fingerprint(Assistant(restored).ask(q).to_json()) for q in QUESTIONS] == old
