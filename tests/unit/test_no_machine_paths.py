"""Docs and committed eval reports name files relative to the repository, never by a machine's path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.evaluation.report import shown_path
from tests.support import REPO

MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|tmp|root|Users)/[\w.-]+")
COMMITTED = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "eval").glob("*.md"),
                    *(p for p in (REPO / "eval" / "reports").glob("*") if p.suffix in (".md", ".json")
                      and "-local." not in p.name)])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(REPO)))
def test_no_machine_paths(path: Path) -> None:
    found = MACHINE_PATH.findall(path.read_text("utf-8"))
    assert not found, f"{path.relative_to(REPO)}: {found[:3]}"


def test_reports_show_paths_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eval").mkdir()
    assert shown_path(tmp_path / "eval" / "questions.jsonl") == "eval/questions.jsonl"
    assert shown_path("/somewhere/else/train.json") == "train.json"
