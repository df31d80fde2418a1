"""Lines that say which period a quote speaks for, and whether a named document is still in force.

:func:`period_prefix` heads a quote that is not simply today's undisputed rule ("Thời kỳ trước (áp
dụng đến 30/06/2025): …"); :func:`validity_line` answers "còn hiệu lực không?" from the document's
metadata, and :func:`validity_caveat` finds a source sentence that doubts it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from assistant.answering.dates import fmt_date, parse_date
from assistant.answering.provisions import doc_numbers, document_label, kind_name
from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.answering.validity import passage_period, period_phrase
from assistant.search.retrieval import ScoredPassage
from assistant.text import fold


def period_prefix(turn: Turn, lead: Candidate, docs: Mapping[str, Mapping[str, Any]] | None = None,
                  contested: bool = False) -> str:
    """Name the period a lead speaks for when it is not simply today's undisputed rule.

    ``contested``: the evidence holds the same kind of fact for another period (the rule changed),
    so even a current answer says since when it applies.
    """
    doc = (docs or {}).get(lead.passage.doc_id)
    phrase = period_phrase(lead.passage, doc)
    if not lead.in_period:
        start, end = passage_period(lead.passage, doc)
        when = "Thời kỳ sau" if start is not None and start > turn.asked_date else "Thời kỳ trước"
        return f"{when} ({phrase}): " if phrase else f"{when}: "
    label = str(getattr(turn.period, "label", "") or "") if turn.period is not None else ""
    asked_past = turn.asked_date < turn.as_of
    if turn.period is not None and label and label != "hiện nay" and (asked_past or turn.as_of < turn.today):
        # the period the question named, in its own words ("Trong năm 2022 (…)", "Trước ngày 01/7/2025 (…)"),
        # also when another day was chosen: the answer speaks for the question's period
        head = turn.period.heading
        return f"{head} ({phrase}): " if phrase else f"{head}: "
    if turn.as_of < turn.today and (contested or phrase):
        # asked "as of" a past day (the web's date control, ``--as-of``): not "hiện hành"
        at = f"Tại ngày {fmt_date(turn.asked_date)}"
        return f"{at} ({phrase}): " if phrase else f"{at}: "
    if contested and phrase:
        return f"Hiện hành ({phrase}): " if not asked_past else f"Theo quy định {phrase}: "
    return ""


_CAVEAT_RE = re.compile(r"\b(hieu luc|thay the)\b.*\b(chua xac minh|chua thay|chua ro)\b|"
                        r"\b(chua xac minh|chua thay|chua ro)\b.*\b(hieu luc|thay the)\b")


def validity_caveat(doc_number: str, cands: Sequence[Candidate]) -> Candidate | None:
    """A source sentence that doubts a document's status ("…còn hiệu lực sau 2025–2026: chưa xác minh")."""
    num = fold(doc_number).split("/")[0:2]
    key = "/".join(num)
    for c in cands:
        m = _CAVEAT_RE.search(c.folded)
        # the document's own note doubting its status, or a sentence whose doubt names the document
        # (not "… thay bằng NĐ 33/2023 (hiệu lực từ …; nguyên văn điều khoản bãi bỏ chưa xác minh)")
        if m and ((c.passage.number and fold(c.passage.number).startswith(key)) or key in m.group(0)):
            return c
    return None


def validity_line(turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    """``(doc_id, sentence)`` stating a named document's status from its metadata, for "còn hiệu lực không?"."""
    nums = turn.entities.document_numbers
    own = fold(turn.focus or turn.cleaned).strip()
    # the document must be what is asked about ("NĐ 92/2009 còn hiệu lực?"), not a time mark ("Sau KL 137, …")
    if not nums or not (re.search(r"\b(hieu luc|thay the|bai bo|sua doi|(con|het|khong con) ap dung)\b", own) or re.match(
            r"^(nghi dinh|nd|luat|thong tu|tt|quy dinh|qd|ket luan|kl|nghi quyet|nq|chi thi|ct|\d)", own)):
        return None

    def matches(number: str, n: str) -> bool:
        number = fold(number)
        return bool(number) and (number == n or number.startswith(n + "/") or number.startswith(n + "-")
                                 or n.startswith(number) or number.startswith(n.split("/nd")[0] + "/"))

    target, via = None, ""
    for h in hits:
        if any(matches(h.passage.number, n) for n in nums):
            target = h.passage
            break
    if target is None:  # an amending decree lives inside the note of the decree it amended
        for h in hits:
            amended = [a.strip() for a in h.passage.amended_by.split(",") if a.strip()]
            hit_num = next((a for a in amended if any(matches(a, n) for n in nums)), None)
            if hit_num:
                target, via = h.passage, hit_num
                break
    if target is None:
        return None
    doc = docs.get(target.doc_id, {})
    name = document_label(target)
    if via:
        name = f"{turn.entities.documents[0] if turn.entities.documents else via} (văn bản sửa đổi {name})"
    status = target.status
    effective = parse_date(str(doc.get("effective") or target.effective or ""))
    expired = parse_date(str(doc.get("expired") or ""))
    replaced = doc_numbers(doc.get("replaced_by"))
    parts: list[str] = []
    if status == "het-hieu-luc":
        ended = f"{name} đã hết hiệu lực" + (f" từ {fmt_date(expired + timedelta(days=1))}" if expired else "")
        if replaced:
            ended += f", đã được thay bằng {', '.join(kind_name(r) for r in replaced)}"
        parts.append(ended)
    elif status == "con-hieu-luc":
        amended = doc_numbers(doc.get("amended_by") or target.amended_by)
        parts.append(f"{name} còn hiệu lực" + (f" (có hiệu lực từ {fmt_date(effective)})" if effective else "")
                     + (f", đã được sửa đổi, bổ sung bởi {', '.join(kind_name(a) for a in amended)}" if amended else ""))
    elif status == "da-sua-doi":
        amended = doc_numbers(doc.get("amended_by") or target.amended_by)
        parts.append(f"{name} còn hiệu lực nhưng đã được sửa đổi, bổ sung"
                     + (f" (bởi {', '.join(kind_name(a) for a in amended)})" if amended else ""))
    elif status == "thi-diem":
        parts.append(f"{name} là quy định thí điểm")
    else:
        start, end = passage_period(target, doc)
        if end is not None and end < turn.as_of:
            parts.append(f"Theo các nguồn, {name} chỉ áp dụng đến {fmt_date(end)}")
        else:
            return None  # a reference note has no legal status of its own to state
    return target.doc_id, "; ".join(parts) + "."
