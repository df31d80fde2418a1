"""Provisions and documents as an answer names them: "Khoản 1 Điều 10, Nghị định 92/2009/NĐ-CP"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.answering.validity import RULE_KINDS
from assistant.models import Passage


def governing_provision(turn: Turn, quotes: Sequence[Candidate]) -> Candidate | None:
    """The quote that comes from an article of a legal text in force at the asked date, if any.

    A summary or a note's own section ("Phân biệt với …") names no provision and is not one.
    """
    for c in quotes:
        p = c.passage
        if p.kind in RULE_KINDS and c.in_period and re.match(r"(Điều|Khoản|Điểm)\b", p.label):
            return c
    return None


def provision_name(p: Passage, when: date) -> str:
    """"Khoản 1 Điều 10, Nghị định 92/2009/NĐ-CP (sửa đổi bởi Nghị định 34/2019/NĐ-CP)": the label, and
    the amending texts issued by ``when`` (a 2026 amendment does not speak for 2020)."""
    amended = [a for a in doc_numbers(p.amended_by)
               if (m := re.search(r"/((?:19|20)\d\d)\b", a)) is None or int(m.group(1)) <= when.year]
    # the amendment is the document's: it need not touch this article
    return p.label + (f" (văn bản đã được sửa đổi, bổ sung bởi {', '.join(kind_name(a) for a in amended)})"
                      if amended else "")


def doc_numbers(value: Any) -> list[str]:
    """Document numbers from front matter (a list) or passage metadata (comma-separated)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [str(v).strip() for v in items if str(v).strip()]


def kind_name(number: str) -> str:
    """"33/2023/NĐ-CP" -> "Nghị định 33/2023/NĐ-CP": a bare number names its kind by its suffix."""
    for suffix, kind in (("NĐ-CP", "Nghị định"), ("/QH", "Luật"), ("TT-", "Thông tư"), ("-QĐ/", "Quy định"),
                         ("-KL/", "Kết luận"), ("-CT/", "Chỉ thị"), ("-NQ/", "Nghị quyết")):
        if suffix in number:
            return f"{kind} {number}"
    return number


def document_label(p: Passage) -> str:
    """The document part of a citation label ("Khoản 1 Điều 10, Nghị định 92/2009/NĐ-CP" -> the decree)."""
    if p.section and p.label.startswith(f"{p.section}, "):
        return p.label[len(p.section) + 2:]  # a section title may hold a comma: "Ở thôn, tổ dân phố: …"
    head, sep, rest = p.label.partition(", ")
    if sep and (p.section in head or head in p.section or re.match(r"(Khoản|Điều|Mục|Điểm)\b", head)):
        return rest
    return p.label if not sep else rest
