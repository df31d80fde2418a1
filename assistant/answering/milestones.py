"""The 2025 reform day and the election days, read once from the knowledge notes that state them.

They are legal facts, so they live with their source, not in code: the reform note's front matter says
``reform_day`` (the day the district level ended and Luật 83/2025/QH15 took effect) and the election
law note's says ``election_days`` (each general election's polling day). Both keys are documented in
``knowledge/README.md``; a note may only carry a date its own text states with its source. The question
reader (``period.py``) and the premise check (``premises.py``) use :data:`MILESTONES`, so changing the
front matter changes the dates they use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from assistant.ingest.documents import LoadError, read_front_matter

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"  # the notes shipped with the assistant
REFORM_KEY = "reform_day"
ELECTIONS_KEY = "election_days"


@dataclass(frozen=True)
class Milestones:
    reform_day: date  # the first day of two-level local government
    election_days: Mapping[int, date]  # election year -> polling day


def _iso(path: Path, key: str, line: int | None, value: Any) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise LoadError(path, f"front matter: '{key}': {value!r} không phải ngày dạng YYYY-MM-DD", line,
                        en=f"front matter: '{key}': {value!r} is not an ISO date") from None


def load_milestones(folder: Path = KNOWLEDGE) -> Milestones:
    """Scan the notes of ``folder`` (recursively) for ``reform_day`` and ``election_days``.

    Each must be stated exactly once across the notes: two notes disagreeing, or none saying it, is an
    error naming the file (and line), never a silent default.
    """
    reform: tuple[date, Path] | None = None
    elections: dict[int, date] = {}
    where: dict[int, Path] = {}
    for path in sorted(folder.rglob("*.md")):
        if path.name == "README.md" or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        meta, lines = read_front_matter(path)
        if REFORM_KEY in meta:
            day = _iso(path, REFORM_KEY, lines.get(REFORM_KEY), meta[REFORM_KEY])
            if reform is not None:
                raise LoadError(path, f"front matter: '{REFORM_KEY}' đã có trong {reform[1]}", lines.get(REFORM_KEY),
                                en=f"front matter: '{REFORM_KEY}' is already stated in {reform[1]}")
            reform = (day, path)
        if ELECTIONS_KEY in meta:
            values = meta[ELECTIONS_KEY]
            if not isinstance(values, list):
                raise LoadError(path, f"front matter: '{ELECTIONS_KEY}' phải là danh sách ngày",
                                lines.get(ELECTIONS_KEY), en=f"front matter: '{ELECTIONS_KEY}' must be a list of dates")
            for value in values:
                day = _iso(path, ELECTIONS_KEY, lines.get(ELECTIONS_KEY), value)
                if day.year in elections and elections[day.year] != day:
                    raise LoadError(path, f"front matter: ngày bầu cử năm {day.year} khác với {where[day.year]}",
                                    lines.get(ELECTIONS_KEY),
                                    en=f"front matter: the {day.year} election day differs from {where[day.year]}")
                elections[day.year], where[day.year] = day, path
    if reform is None:
        raise LoadError(folder, f"không ghi chú nào nêu '{REFORM_KEY}' trong front matter",
                        en=f"no note states '{REFORM_KEY}' in its front matter")
    return Milestones(reform[0], dict(sorted(elections.items())))


MILESTONES = load_milestones()  # once per process: the notes are read at import, like the lexicon
