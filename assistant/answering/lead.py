"""Does the answer's first line answer the question? (``AskResponse.lead``: how a reader is shown it.)

Principle: a first line is presented as *the* answer (the web chat sets it in bold) only when it states
what the question's intent asks for: the yes/no word for a yes/no question, a figure for "how many / how
much" (and, when the asker names a level or body, a figure said of that level or body), a date for "when",
the governing provision for "which text", the document's status for "still in force?". Anything else (a
related sentence, one that leans on a sentence before it, the second half of a "what changed" answer)
opens with a neutral line instead. When the answer quotes different rates for different groups and the
question names no group, no single rate is the answer: the reader is told there are several, each line
for whom its source says.

Judged on the final text (extractive or LLM alike), from the turn's intent and entities: no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.figures import amount_ask, answers_amount_text, asks_rate
from assistant.answering.intent import WHEN_RE
from assistant.answering.mentions import mentions_level
from assistant.answering.turn import Turn
from assistant.text import collapse_ws, fold

# what ``AskResponse.lead`` says of the first line
ANSWER = "answer"  # it answers the question: shown as the verdict
CONTEXT = "context"  # it is relevant but does not answer the intent: a neutral line opens the answer
GROUPS = "groups"  # several rates for different groups, the question names none: say so, each line for whom
NONE = ""  # no lead to judge (a refusal, small talk)
LEADS = (ANSWER, CONTEXT, GROUPS, NONE)

_VERDICT_WORD_RE = re.compile(r"^(Được|Không|Còn|Có)\.\s+")
# the period label the composer puts before a quote: "Hiện hành (áp dụng từ 01/07/2025): ",
# "Thời kỳ trước (…): ", "Trong cuộc bầu cử năm 2016 (…): ", "Trước tháng 8/2023: "
_PERIOD_LABEL_RE = re.compile(r"^(Hiện hành|Thời kỳ (trước|sau)|Trong|Trước|Từ|Sau|Năm)\b[^:]{0,60}(\([^()]*\))?:\s+")
_MARKERS_RE = re.compile(r"\s*(\[\d+\])+")
# opens by leaning on something not said: "Cũng tại khoản 6, …", "Ngoài ra, …", "Riêng …"
_LEANS_RE = re.compile(r"^(cung (tai|theo|o|trong)|ngoai ra|riêng|rieng|con lai|mat khac|tuy nhien|dong thoi)\b")
# the source says it does not know ("bản tin không cho biết …", "chưa xác minh"): an honest gap, not an answer
_UNKNOWN_RE = re.compile(r"\b(khong cho biet|khong neu ro|chua xac minh|chua ro)\b")
_DATE_RE = re.compile(r"^khi\b|\b(khi|sau khi|ngay khi)\b [^.;]{0,80}\b(da|xong|ket thuc|cong bo|hoan thanh)\b|\b\d{1,2}/\d{1,2}(/\d{4})?\b|\b(ngay|thang|nam) \d{1,4}\b|\b\d+ ngay (truoc|sau|ke tu)\b|"
                      r"\b(cham nhat|truoc|sau|tu|den|ke tu)\b[^.;]{0,30}\b(19|20)\d{2}\b")
_PROVISION_RE = re.compile(r"^quy dinh ap dung:|\b(dieu|khoan|diem) \d+|\b(nghi dinh|luat|thong tu|quy dinh|ket luan|"
                           r"nghi quyet|chi thi|quyet dinh)\b[^.;]{0,12}\d")
_STATUS_RE = re.compile(r"\b(con hieu luc|het hieu luc|da duoc sua doi|da bi sua doi|da duoc thay|bi bai bo|"
                        r"khong con (ap dung|hieu luc)|van con|con ap dung)\b")
_AUTHORITY_RE = re.compile(r"\b(do|boi|cua)\b[^.;]{0,60}\b(quyet dinh|thanh lap|bo nhiem|phe duyet|ban hanh|chi dinh|"
                           r"cong nhan)\b|\b(uy ban|hoi dong|bo|chinh phu|quoc hoi|thu tuong|ban thuong vu|tinh uy|"
                           r"bo chinh tri|ban bi thu)\b[^.;]{0,60}\b(quyet dinh|thanh lap|bo nhiem|phe duyet|ban hanh)\b")
# a rate or a sum of money, as "how much" asks for: "50%", "hệ số 0,60", "6,0 lần mức lương cơ sở", "1.500.000 đồng"
_RATE_RE = re.compile(r"\b\d+(?:[.,]\d+)?\s?(%|phan tram|lan muc luong)|\bhe so\b[^.;]{0,40}\d|\b\d+,\d+\b|"
                      r"\b\d{1,3}(?:\.\d{3})+\s?(dong|d\b|vnd)|\b\d+(?:[.,]\d+)?\s?(trieu|nghin|ngan) dong")
_LIST_RE = re.compile(r":\s*\S|\b(gom|bao gom)\b|;\s")


def first_line(text: str) -> str:
    """The answer's first line without its markers."""
    line = next((ln for ln in text.replace("\r", "").split("\n") if ln.strip()), "")
    return _MARKERS_RE.sub("", line).strip()


_NOT_EVENT = {"duoc", "da", "se", "co", "tu", "vao", "la", "thi", "bat", "dau", "chinh", "thuc", "cua", "the", "do",
              "dien", "xay", "ra"}  # "diễn ra", "xảy ra" say only that it happened: the thing is before them


def when_event(folded_question: str) -> tuple[str, ...]:
    """The words naming what a "when" question asks the date of: the two content words just before "khi
    nào / năm nào / …" ("ban hành năm nào" -> ban, hanh), else, when the question opens with it, its last
    two ("Từ ngày nào cấp huyện kết thúc hoạt động?" -> hoat, dong). A date said of something else (a
    2025 merger, for a resolution's issue year) does not answer it."""
    m = WHEN_RE.search(folded_question)
    if m is None:
        return ()
    before = [w for w in re.findall(r"[a-z0-9đ]+", folded_question[: m.start()]) if w not in _NOT_EVENT]
    if len(before) >= 2 and not re.search(r"[,.;:]\s*$", folded_question[: m.start()].rstrip()):
        return tuple(before[-2:])
    after = [w for w in re.findall(r"[a-z0-9đ]+", folded_question[m.end():]) if w not in _NOT_EVENT]
    return tuple(after[-2:])


def _body(line: str) -> tuple[str, str]:
    """``(verdict word or "", the quoted words)``: the composer's verdict word and period label removed."""
    m = _VERDICT_WORD_RE.match(line)
    word = m.group(1) if m else ""
    rest = line[m.end():] if m else line
    return word, _PERIOD_LABEL_RE.sub("", rest, count=1)


def _rates(folded: str) -> set[str]:
    return {re.sub(r"\s", "", m.group(0)) for m in _RATE_RE.finditer(folded)}


def _names_group(turn: Turn) -> bool:
    """The question says whose rate it asks for (a level, a post, a body)."""
    e = turn.entities
    return bool(e.levels or e.posts or e.bodies)


def _other_group_only(turn: Turn, folded: str) -> bool:
    """The line speaks of another level or body than the asked one (its figure is someone else's)."""
    asked = [lv for lv in turn.entities.levels if lv in ("tinh", "huyen", "xa", "thon")]
    said = {lv for lv in ("tinh", "huyen", "xa", "thon") if mentions_level(folded, lv, explicit=True)}
    if asked and said and not said & set(asked):
        return True
    heads = re.search(r"\bnguoi dung dau\b", folded) is not None
    return heads and not re.search(r"\bdung dau\b", turn.folded) and "xa" in asked


def lead_kind(turn: Turn, text: str, refused: bool, lines_rates: Sequence[str] | None = None) -> str:
    """How the first line of ``text`` stands to ``turn`` (one of ``LEADS``; see the module docstring)."""
    if refused or not text.strip():
        return NONE
    line = first_line(text)
    word, body = _body(line)
    f = fold(collapse_ws(body)).lower()
    intent = turn.intent
    if intent == "yesno":
        return ANSWER if word else CONTEXT
    if _LEANS_RE.search(f) or _UNKNOWN_RE.search(f):
        return CONTEXT  # "Cũng tại khoản 6, …" alone, or "the source does not say": neither is the answer
    if intent == "amount":
        rate = asks_rate(amount_ask(turn))
        if not answers_amount_text(turn, f) or (rate and not _RATE_RE.search(f)) or _other_group_only(turn, f):
            return CONTEXT
        all_rates = set().union(*(_rates(fold(x)) for x in (lines_rates or text.split("\n"))))
        if rate and len(all_rates) > 1 and not _names_group(turn):
            return GROUPS
        return ANSWER
    if intent == "when":
        event = when_event(turn.folded)
        said = not event or any(re.search(rf"\b{re.escape(w)}\b", f) for w in event)
        return ANSWER if _DATE_RE.search(f) and said else CONTEXT
    if intent == "source":
        return ANSWER if _PROVISION_RE.search(f) else CONTEXT
    if intent == "validity":
        return ANSWER if _STATUS_RE.search(f) else CONTEXT
    if intent == "authority":
        return ANSWER if _AUTHORITY_RE.search(f) else CONTEXT
    if intent == "list":
        return ANSWER if _LIST_RE.search(body) and len(body) > 40 else CONTEXT
    return CONTEXT  # "what changed" has two halves, "other" no checkable shape: neither is one bold line
