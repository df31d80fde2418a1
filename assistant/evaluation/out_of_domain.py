"""The out-of-domain eval slice (``eval/out_of_domain.jsonl``): questions about other fields of law.

ALQAC rows name a held-out ALQAC 2023 question by id and are resolved in place from ``../shared``
(third-party text, never copied); handwritten rows carry their question. The domain gate's
calibration (``assistant/domain_calibrate.py``) draws its negatives from the same ALQAC questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import KiemnhiemError
from assistant.text import fold

REPO = Path(__file__).resolve().parents[2]
ALQAC_QUESTIONS = REPO.parent / "shared" / "datasets" / "alqac2023" / "train.json"
OOD_SLICE = REPO / "eval" / "out_of_domain.jsonl"
FORMS = ("accented", "folded")
# ALQAC questions that touch our own field are not negatives
_IN_FIELD_MARKERS = ("kiem nhiem", "nhat the hoa", "bau cu")

class OutOfDomainSetError(KiemnhiemError, ValueError):
    code = "invalid_out_of_domain_set"


@dataclass(frozen=True)
class OODQuestion:
    id: str
    question: str
    form: str  # accented | folded
    source: str  # alqac | handwritten


def in_form(text: str, form: str) -> str:
    return fold(text) if form == "folded" else text


def alqac_negatives(path: Path | str = ALQAC_QUESTIONS) -> dict[str, str]:
    """``{question_id: text}`` of the ALQAC questions usable as out-of-field negatives."""
    data = json.loads(Path(path).read_text("utf-8"))
    out: dict[str, str] = {}
    for q in data:
        laws = " ".join(fold(a.get("law_id", "")) for a in q.get("relevant_articles", []))
        text = str(q["text"])
        if any(m in fold(text) or m in laws for m in _IN_FIELD_MARKERS):
            continue
        out[str(q["question_id"])] = text
    return out


def load_out_of_domain(path: Path | str = OOD_SLICE, alqac_path: Path | str | None = ALQAC_QUESTIONS
                       ) -> list[OODQuestion]:
    """The out-of-domain eval slice; ALQAC rows are resolved from ``alqac_path`` (skipped when it is None)."""
    texts = alqac_negatives(alqac_path) if alqac_path is not None else {}
    out: list[OODQuestion] = []
    for n, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise OutOfDomainSetError(f"{path}:{n}: dòng JSON không hợp lệ: {exc}", f"{path}:{n}: invalid JSON: {exc}") from exc
        form, source = row.get("form"), row.get("source")
        if form not in FORMS or source not in ("alqac", "handwritten"):
            raise OutOfDomainSetError(f"{path}:{n}: form phải là accented|folded, source là alqac|handwritten")
        if source == "alqac":
            if alqac_path is None:
                continue
            if row["question_id"] not in texts:
                raise OutOfDomainSetError(f"{path}:{n}: không có câu ALQAC {row['question_id']!r}")
            out.append(OODQuestion(row["id"], in_form(texts[row["question_id"]], form), form, source))
        else:
            out.append(OODQuestion(row["id"], row["question"], form, source))
    return out
