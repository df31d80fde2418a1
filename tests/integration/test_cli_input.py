"""Bad input at the CLI: questions, JSON lines and a malformed note are reported with file and line,
and never leave the index half-changed. Works on its own copy of the session index (``clone_index``)
and on a temp copy of knowledge/; the repository's knowledge/ is never modified.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.support import BAD_INPUTS_TRIED, KNOWLEDGE, QUESTIONS, clone_index, knowledge_copy, run_kn


@pytest.fixture(scope="module")
def cli_index(kb_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return clone_index(kb_settings, tmp_path_factory.mktemp("cli-data"))


@pytest.mark.parametrize("question, needle", [
    ("", "empty question"),
    ("   \t ", "empty question"),
    ("\x01\x02\x7f", "empty question"),
    ("x" * 2001, "longer than 2000"),
    ("Thành viên Ban bầu cử " + "ạ" * 1990, "longer than 2000"),
])
def test_cli_ask_rejects_bad_questions(cli_index: Settings, question: str, needle: str) -> None:
    BAD_INPUTS_TRIED.append(f"cli ask {question[:20]!r}")
    proc = run_kn(cli_index, "ask", question)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert needle in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_cli_ask_jsonl_reports_bad_lines_and_answers_the_rest(cli_index: Settings) -> None:
    lines = [
        json.dumps({"question": QUESTIONS[1]}, ensure_ascii=False),
        '{"question": "Ban bầu cử có bao nhiêu',                   # 2: truncated JSON
        json.dumps({"question": 5}),                                # 3: not a string
        json.dumps({"question": "   "}),                            # 4: empty
        json.dumps({"question": "x" * 2001}),                       # 5: too long
        json.dumps(["a list"]),                                     # 6: not an object
        json.dumps({"question": "Còn cấp xã thì sao?", "history": [{"role": "system", "content": "x"}]}),  # 7
        "",                                                         # blank lines are skipped
        json.dumps({"question": QUESTIONS[0]}, ensure_ascii=False),  # 9
    ]
    BAD_INPUTS_TRIED.extend(f"cli jsonl line {i}" for i in (2, 3, 4, 5, 6, 7))
    proc = run_kn(cli_index, "ask", "--jsonl", input="\n".join(lines) + "\n")
    assert proc.returncode == 3, proc.stderr[-2000:]
    out = [json.loads(x) for x in proc.stdout.strip().splitlines()]
    assert len(out) == 8
    errors = [o["error"] for o in out if "error" in o]
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6, 7]
    for e in errors:
        assert e["message"].startswith(f"stdin:{e['line']}:")
    answers = [o for o in out if "error" not in o]
    assert len(answers) == 2 and all(not a["refused"] and a["citations"] for a in answers)
    assert "Traceback" not in proc.stderr


BAD_NOTE = """---
id: ghi-chu-hong
title: "Ghi chú có phần đầu YAML hỏng
kind: huong-dan
status: tham-khao
---
# Ghi chú hỏng

Nội dung không bao giờ được nạp.
"""


def test_cli_ingest_with_one_malformed_note(cli_index: Settings, tmp_path: Path) -> None:
    src = knowledge_copy(tmp_path / "knowledge")
    extra = tmp_path / "extra"
    extra.mkdir()
    good = (KNOWLEDGE / "nghi-quyet-02-nq-tu-ben-tre.md").read_text("utf-8")
    good = good.replace("id: nghi-quyet-02-nq-tu-ben-tre", "id: ghi-chu-kiem-thu-moi", 1)
    assert "ghi-chu-kiem-thu-moi" in good
    (extra / "ghi-chu-moi.md").write_text(good, "utf-8")
    (extra / "ghi-chu-hong.md").write_text(BAD_NOTE, "utf-8")
    BAD_INPUTS_TRIED.extend(["ingest --strict with a malformed note", "ingest with a malformed note"])
    gens_before = sorted(p.name for p in (cli_index.bm25_dir / cli_index.collection).iterdir())

    strict = run_kn(cli_index, "ingest", "--replace", "--strict", str(src), str(extra))
    assert strict.returncode not in (0, 3), strict.stderr
    assert re.search(r"ghi-chu-hong\.md:\d+:", strict.stderr), strict.stderr
    assert "--strict" in strict.stderr
    assert sorted(p.name for p in (cli_index.bm25_dir / cli_index.collection).iterdir()) == gens_before
    listed = run_kn(cli_index, "sources", "--json")
    ids = {d["id"] for d in json.loads(listed.stdout)}
    assert "ghi-chu-kiem-thu-moi" not in ids and len(ids) == 15, "--strict must leave the index unchanged"

    loose = run_kn(cli_index, "ingest", "--replace", "--json", str(src), str(extra))
    assert loose.returncode == 3, loose.stderr[-3000:]
    report = json.loads(loose.stdout)
    assert len(report["errors"]) == 1 and re.search(r"ghi-chu-hong\.md:\d+: ", report["errors"][0]), report
    assert report["documents"] == 16 and report["added"] > 0 and report["removed"] == 0
    listed = run_kn(cli_index, "sources", "--json")
    ids = {d["id"] for d in json.loads(listed.stdout)}
    assert "ghi-chu-kiem-thu-moi" in ids and "ghi-chu-hong" not in ids and len(ids) == 16

    # the human-readable form names the file and line too, and exits 3
    human = run_kn(cli_index, "ingest", "--replace", str(src), str(extra))
    assert human.returncode == 3 and re.search(r"ghi-chu-hong\.md:\d+:", human.stderr), human.stderr


def test_ingest_path_adds_and_replace_is_explicit(tmp_path: Path, model_dir: Path) -> None:
    """Issue #26, N7: ``ingest PATH`` adds PATH (and later ingests keep it); ``--replace`` lists what it removes."""
    from tests.support import make_settings

    base, extra = tmp_path / "base", tmp_path / "extra"
    base.mkdir()
    extra.mkdir()
    (base / "a.md").write_text("---\nid: ghi-chu-a\ntitle: Ghi chú A\n---\n# A\n\nBí thư chi bộ kiêm trưởng thôn.\n", "utf-8")
    (extra / "b.md").write_text("---\nid: ghi-chu-b\ntitle: Ghi chú B\n---\n# B\n\nThành viên Tổ bầu cử.\n", "utf-8")
    settings = make_settings(tmp_path / "data", model_dir, knowledge_paths=[base])

    def indexed() -> set[str]:
        proc = run_kn(settings, "sources", "--json")
        assert proc.returncode == 0, proc.stderr
        return {d["id"] for d in json.loads(proc.stdout)}

    assert run_kn(settings, "ingest").returncode == 0
    proc = run_kn(settings, "ingest", str(extra))
    assert proc.returncode == 0, proc.stderr
    assert indexed() == {"ghi-chu-a", "ghi-chu-b"}, "adding a folder keeps what was there"
    assert run_kn(settings, "ingest").returncode == 0
    assert indexed() == {"ghi-chu-a", "ghi-chu-b"}, "a later default ingest keeps the added folder"
    proc = run_kn(settings, "ingest", "--replace", str(extra))
    assert proc.returncode == 0, proc.stderr
    assert "removing 1 document" in proc.stderr and "ghi-chu-a" in proc.stderr, proc.stderr
    assert indexed() == {"ghi-chu-b"}


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    from assistant.ingest.pipeline import KnowledgeIndex
    from tests.support import make_settings

    root = tmp_path_factory.mktemp("tiny")
    kb = root / "kb"
    kb.mkdir()
    (kb / "hoi-dap.md").write_bytes((KNOWLEDGE / "hoi-dap-thanh-vien-ban-bau-cu-kiem-nhiem.md").read_bytes())
    settings = make_settings(root / "data", model_dir, knowledge_paths=[kb])
    assert not KnowledgeIndex(settings).ingest([kb]).errors
    return settings


def test_jsonl_bad_lines_of_every_kind_never_end_the_batch(tiny_index: Settings) -> None:
    """Issue #26, N2: a lone surrogate in history, a deeply nested line, invalid UTF-8 and an over-long history
    are each one error line; the good lines around them are answered."""
    good = json.dumps({"question": "Thành viên Ban bầu cử có được kiêm nhiệm không?"}, ensure_ascii=False)
    lines = [good,
             '{"question": "q", "history": [{"role": "user", "content": "\\ud800"}]}',
             "[" * 100_000 + "]" * 100_000,
             json.dumps({"question": "q", "history": [{"role": "user", "content": "x" * 9000}]}),
             good]
    data = ("\n".join(lines[:3]) + "\n").encode() + b"\xff\xfe bad bytes\n" + ("\n".join(lines[3:]) + "\n").encode()
    import subprocess
    import sys

    from tests.support import REPO, server_env
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "--jsonl"], input=data, cwd=REPO,
                          env=server_env(tiny_index, KIEMNHIEM_THREADS="2"), capture_output=True, timeout=600)
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    errors = [o["error"]["line"] for o in out if "error" in o]
    answers = [o for o in out if "answer" in o]
    assert errors == [2, 3, 4, 5] and len(answers) == 2, (out, proc.stderr.decode()[-2000:])
    assert "Traceback" not in proc.stderr.decode()


def test_chat_survives_a_line_of_invalid_utf8(tiny_index: Settings) -> None:
    import subprocess
    import sys

    from tests.support import REPO, server_env
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "chat"], input=b"\xff\xfe\x80\n/thoat\n", cwd=REPO,
                          env=server_env(tiny_index), capture_output=True, timeout=300)
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0 and "not valid UTF-8" in out and "Traceback" not in out, out[-2000:]
