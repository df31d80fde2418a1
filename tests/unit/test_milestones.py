"""The reform day and the election days are read from the knowledge front matter
(``assistant/answering/milestones.py``), never set in code: a note states them, the assistant uses them."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from assistant.answering import period
from assistant.answering.milestones import KNOWLEDGE, MILESTONES, load_milestones
from assistant.ingest.documents import LoadError

TODAY = date(2026, 11, 30)


def _copy_knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def test_the_shipped_notes_state_the_dates_used():
    assert MILESTONES.reform_day == date(2025, 7, 1)
    assert MILESTONES.election_days == {2016: date(2016, 5, 22), 2021: date(2021, 5, 23), 2026: date(2026, 3, 15)}


@pytest.mark.parametrize("key", ["reform_day", "election_days"])
def test_every_date_is_written_in_the_body_of_the_note_that_carries_it(key):
    """A note carries only a date its own text states (knowledge/README.md): dd/m/yyyy in its body."""
    days = [MILESTONES.reform_day] if key == "reform_day" else list(MILESTONES.election_days.values())
    carriers = [p for p in KNOWLEDGE.glob("*.md") if re.search(rf"^{key}:", p.read_text("utf-8"), re.M)]
    assert len(carriers) == 1
    body = carriers[0].read_text("utf-8").split("\n---\n", 1)[1]
    for d in days:
        assert re.search(rf"\b0?{d.day}/0?{d.month}/{d.year}\b", body), (carriers[0].name, d)


def test_changing_the_front_matter_changes_the_dates_the_answers_use(tmp_path, monkeypatch):
    folder = _copy_knowledge(tmp_path)
    _edit(folder / "cai-cach-2025-tac-dong-kiem-nhiem.md", "reform_day: 2025-07-01", "reform_day: 2025-08-01")
    _edit(folder / "luat-bau-cu-85-2015-qh13.md", "2021-05-23", "2021-05-30")
    moved = load_milestones(folder)
    assert moved.reform_day == date(2025, 8, 1) and moved.election_days[2021] == date(2021, 5, 30)

    before = period.detect_period("Sau sáp nhập, ban bầu cử xã có bao nhiêu người?", TODAY)
    assert before is not None and before.start == date(2025, 7, 1)
    monkeypatch.setattr(period, "MILESTONES", moved)
    for question in ("Sau sáp nhập, ban bầu cử xã có bao nhiêu người?",
                     "Ở xã Tân Phú năm 2026 ông Ba hỏi: khi còn cấp huyện thì ai thành lập ban bầu cử?",
                     "truoc cai cach 2025 thi uy ban bau cu huyen con khong"):
        got = period.detect_periods(question, TODAY)
        assert any(p.start == date(2025, 8, 1) or p.end == date(2025, 7, 31) for p in got), (question, got)
        assert not any(date(2025, 7, 1) in (p.start, p.end) or p.end == date(2025, 6, 30) for p in got)
    election = period.detect_period("Trong cuộc bầu cử năm 2021, tổ bầu cử có mấy người?", TODAY)
    assert election is not None and election.start == date(2021, 5, 30)
    term = period.detect_period("nhiem ky 2016-2021 thi sao", TODAY)
    assert term is not None and term.end == date(2021, 5, 29)



def test_a_missing_reform_day_is_an_error_naming_the_folder(tmp_path):
    folder = _copy_knowledge(tmp_path)
    _edit(folder / "cai-cach-2025-tac-dong-kiem-nhiem.md", "reform_day: 2025-07-01", "")
    with pytest.raises(LoadError, match="reform_day"):
        load_milestones(folder)


def test_a_bad_date_is_an_error_naming_file_and_line(tmp_path):
    folder = _copy_knowledge(tmp_path)
    _edit(folder / "luat-bau-cu-85-2015-qh13.md", "2016-05-22", "22/5/2016")
    with pytest.raises(LoadError) as err:
        load_milestones(folder)
    assert "luat-bau-cu-85-2015-qh13.md:12" in str(err.value) and "election_days" in str(err.value)


def test_two_notes_disagreeing_is_an_error(tmp_path):
    folder = _copy_knowledge(tmp_path)
    (folder / "khac.md").write_text("---\nid: khac\nelection_days: [2021-05-30]\n---\n# Khác\n\nNgày 30/5/2021.\n",
                                    "utf-8")
    with pytest.raises(LoadError, match="2021"):
        load_milestones(folder)
