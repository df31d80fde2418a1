"""The shape of a quotable span: which sentences can stand alone, and what a quote must carry with it.

* a sentence that ends in ":" is shown with its list items or not at all; one that opens with a
  connective or an anaphor ("Vì vậy…", "Hai nghị định này…") carries the sentence it leans on or
  is dropped; a passage's heading line is never quoted as an answer;
* a note's own "chưa xác minh" is an honest gap, and a line addressed to maintainers is never quoted.

Pure functions over passages (no model, no I/O).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.models import Passage
from assistant.search.retrieval import ScoredPassage, SentenceHit
from assistant.text import collapse_ws, fold, split_sentences

# opens by pointing back at something said before: cannot stand alone
_ANAPHOR_RE = re.compile(
    r"^(theo|o|trong) (ban|phien ban|van ban|quy dinh|nghi dinh|luat|truong hop|giai doan|thoi gian|thoi diem)"
    r"( [^ ,.;:]+){0,3} (nay|do|tren|ay)\b|"
    r"^((vi vay|do do|nhu vay|tuy nhien|vi the|theo do|tu do|khi do|luc do|sau do|truoc do),? )?"
    r"((hai|ba|cac|nhung) (nghi dinh|van ban|chuc danh|mo hinh|truong hop|quy dinh|to chuc|nguoi) (nay|do|tren|ay)\b|"
    r"(nhom|nhom nguoi|quy dinh|khoan|dieu|van ban|nghi dinh|viec|cach tinh|muc|mo hinh|chuc danh|truong hop|"
    r"noi dung|tai lieu|ban tin|phien ban|nghi quyet|ket luan|thong tu|luat|thoi diem|thoi gian|giai doan)"
    r"( [^ ,.;:]+){0,5} "
    r"(nay|do|tren|ay)\b|(ong|ba|ho|no|day|do|dieu nay|dieu do) )"
)

# a demonstrative that points outside the sentence, wherever it stands ("…từ thời điểm đó")
_ANAPHOR_INSIDE_RE = re.compile(
    r"\b(thoi diem|thoi gian|giai doan|luc|nhom nguoi|nhom)( [^ ,.;:]+){0,4} (do|nay|ay|tren)\b(?! la)"
)

_CONNECTIVE_RE = re.compile(r"^(vi vay|do do|nhu vay|vi the|theo do|tu do|do vay|boi vay)\b")

# addressed to maintainers, not readers (kept out even if a note still has one in its body)
META_RE = re.compile(
    r"^(khi tra loi|khi trich dan|khong duoc ghep|ghi chu nay|khong dung ghi chu|can kiem tra lai|y nghia:|"
    r"phan nay|muc nay|nguoi tra loi|khi nguoi (dung |)hoi|neu nguoi (dung |)hoi)"
)

# the note says it does not know ("…: chưa xác minh"): an honest gap, not an answer
_UNVERIFIED_RE = re.compile(
    r"(:\s*chua xac minh|chua xac minh duoc|chua xac minh( nguyen van)?\.?$|^chua (xac minh|doc duoc|ro)|"
    r"\b(ban tin|nguon|van ban|bao) khong (cho biet|neu)\b)")


def is_unverified(folded: str) -> bool:
    """The note says it does not know: judged on the first clause, outside parentheses.

    "A chưa thấy văn bản thay thế; tình trạng sau 2026: chưa xác minh" still answers with A;
    "(… nguyên văn: chưa xác minh)" is a caveat on a stated fact, not the fact's absence.
    """
    body = re.sub(r"\([^()]*\)", " ", folded)
    clauses = [c for c in re.split(r";", body) if c.strip()]
    return bool(clauses) and bool(_UNVERIFIED_RE.search(clauses[0].strip()))


LIST_ITEM_RE = re.compile(r"^\s*(\d+\.|[a-zđ]\)|[-•*])\s+")

MAX_EXTENDED = 900  # characters: a list or antecedent longer than this is not worth quoting whole


@dataclass
class Candidate:
    """A quotable span (a sentence, possibly with its antecedent or list items) of one passage."""

    hit: ScoredPassage
    sent: SentenceHit
    start: int  # the quote: passage.text[start:end]
    end: int
    score: float
    unverified: bool = False
    meta: bool = False
    in_period: bool = True
    extended: bool = False  # carries its antecedent sentence or its list items
    # a part of the quote left out of what is shown ("…: cấp tỉnh 2, … cấp xã 180" -> "…: … cấp xã 180");
    # the citation still quotes passage.text[start:end] whole, so the shown words stay verifiable
    elide: tuple[int, int] | None = None

    @property
    def passage(self) -> Passage:
        return self.hit.passage

    @property
    def quote(self) -> str:
        return self.passage.text[self.start : self.end]

    @property
    def text(self) -> str:
        if self.elide is None:
            return self.quote
        t = self.passage.text
        return f"{t[self.start:self.elide[0]].rstrip()} … {t[self.elide[1]:self.end].lstrip()}"

    @property
    def folded(self) -> str:
        return fold(collapse_ws(self.text))


def display(text: str) -> str:
    """A quote as shown in an answer: whitespace folded, a leading list marker and a trailing ";" dropped."""
    return LIST_ITEM_RE.sub("", collapse_ws(text)).rstrip(" ;,")


def _spans(p: Passage) -> list[tuple[int, int]]:
    return split_sentences(p.text)


# "(Điều 40 Luật số 75/2015/QH13, có hiệu lực thi hành kể từ ngày 01/01/2016)": a codified text's note of
# where an article comes from, not what it says
# and "(Điều này có nội dung liên quan đến Điều 35.8.LQ.21. …)": a pointer to related articles
_PROVENANCE_RE = re.compile(r"^\((?:(?:dieu|khoan|diem|muc|chuong)\s+\d+[^()]*?\d+/(?:19|20)\d\d/[^()]*"
                            r"|dieu nay co noi dung lien quan den\b.*)\)[.;]?$")
# … unless it says the article changed: "có nội dung bị bãi bỏ bởi Điều 1 Luật số 83/2025/QH15 …" is the status
_CHANGED_RE = re.compile(r"\b(bai bo|sua doi|bo sung|het hieu luc|thay the|dinh chi)\b")


def is_provenance(text: str) -> bool:
    """A line that only says which article of which text a codified article comes from, or which articles
    relate to it (Bộ pháp điển writes them under every article). It is the passage's pedigree, not an answer:
    quoting it tells a reader nothing asked, and the article's own words (its "hiệu lực" clause included) say
    the same where it matters. A line saying the article was amended or repealed is kept: that is its status."""
    folded = fold(collapse_ws(text)).strip()
    return _PROVENANCE_RE.match(folded) is not None and (folded.startswith("(dieu nay")
                                                         or _CHANGED_RE.search(folded) is None)


def is_heading(p: Passage, start: int) -> bool:
    """The passage's heading line, or a provenance line (:func:`is_provenance`): neither is quoted."""
    return heading_at(p.text, start)


def heading_at(text: str, start: int) -> bool:
    """:func:`is_heading` on a passage's text."""
    nl = text.find("\n")
    if start == 0 and nl > 0:
        return True
    end = text.find("\n", start)
    return is_provenance(text[start:end if end >= 0 else len(text)])


def extend_span(p: Passage, start: int, end: int) -> tuple[int, int] | None:
    """The quotable span around one sentence, or None when it cannot stand alone.

    A sentence ending in ":" takes the list items that follow it; one opening with an anaphor takes
    the sentence before it (and that one's antecedent, once).
    """
    return _extend_span(p.text, start, end)


@lru_cache(maxsize=1 << 14)
def _extend_span(passage_text: str, start: int, end: int) -> tuple[int, int] | None:
    """:func:`extend_span` on the passage's text alone (cached: the same top passages come back answer after
    answer)."""
    spans = [s for s in split_sentences(passage_text) if not heading_at(passage_text, s[0])]
    idx = next((i for i, s in enumerate(spans) if s[0] <= start < s[1] or s == (start, end)), None)
    if idx is None:
        return start, end
    s0, s1 = start, end
    text = passage_text[start:end]
    f = fold(collapse_ws(LIST_ITEM_RE.sub("", text)))
    if _ANAPHOR_RE.match(f) or _CONNECTIVE_RE.match(f) or _ANAPHOR_INSIDE_RE.search(f):
        j, hops = idx, 0
        while True:
            j -= 1
            hops += 1
            if j < 0 or hops > 2:
                return None
            s0 = spans[j][0]
            prev = fold(collapse_ws(LIST_ITEM_RE.sub("", passage_text[spans[j][0] : spans[j][1]])))
            if not (_ANAPHOR_RE.match(prev) or _CONNECTIVE_RE.match(prev)):
                break
    if text.rstrip().endswith(":"):
        j = idx + 1
        items = 0
        while j < len(spans) and LIST_ITEM_RE.match(passage_text[spans[j][0] : spans[j][1]]):
            s1 = spans[j][1]
            items += 1
            j += 1
        if not items:
            return None
    if s1 - s0 > MAX_EXTENDED:
        return None
    return s0, s1


_ITEM_SPLIT = re.compile(r",\s+")


def list_items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The short figures listed after a colon ("…: cấp tỉnh 2, cấp huyện 26, cấp xã 180, ấp 809."), as spans.

    Only a run of three or more short items that each carry a number qualifies: a question about one
    level is answered by the head and that level's item, not by every level's figure.
    """
    body = text[start:end]
    colon = body.find(":")
    if colon < 0:
        return []
    a = start + colon + 1
    paren = text.find("(", a, end)  # a closing remark "(theo trả lời …)" ends the last item, nothing else may hold one
    if paren >= 0 and _ITEM_SPLIT.search(text, paren, end):
        return []
    stop = paren if paren >= 0 else end
    spans, pos = [], a
    for m in [*_ITEM_SPLIT.finditer(text, a, stop), None]:
        b = m.start() if m is not None else stop
        seg = text[pos:b]
        lead = len(seg) - len(seg.lstrip())
        item_end = pos + len(seg.rstrip().rstrip("."))
        spans.append((pos + lead, item_end))
        if m is not None:
            pos = m.end()
    if len(spans) < 3 or not all(re.search(r"\d", text[x:y]) and len(text[x:y].split()) <= 8 for x, y in spans):
        return []
    return spans


def clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The ";"-separated clauses of one sentence (outside parentheses), as verbatim spans.

    "Ban bầu cử cấp tỉnh có từ 11 đến 15 thành viên; … cấp xã có từ 9 đến 15" answers a question
    about the province with its first clause alone.
    """
    depth, cuts = 0, [start]
    for i in range(start, end):
        ch = text[i]
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch == ";" and depth == 0:
            cuts.append(i)
    if len(cuts) == 1 or ":" in text[start:cuts[1]]:
        return []  # no clauses, or a list after a colon: the list is read whole
    spans = []
    bounds = [*cuts, end]
    for a, b in zip(bounds, bounds[1:], strict=False):
        a = a + 1 if text[a] == ";" else a
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        seg_end = a + len(seg.rstrip())
        if seg_end - (a + lead) > 25:
            spans.append((a + lead, seg_end))
    return spans


def list_lead_in(text: str, start: int) -> str | None:
    """The line that introduces the numbered list a span at ``start`` belongs to ("Không được ứng cử … đối với:"),
    or None when the span is not a list item.

    Why: an item ("Người đang chấp hành hình phạt tù;") says nothing by itself; what it is an item *of* carries
    the rule ("không được ứng cử"), and a yes/no verdict read from the item alone is missing.
    """
    line_start = text.rfind("\n", 0, start) + 1
    if not LIST_ITEM_RE.match(text[line_start:start + 1] if start > line_start else text[line_start:]):
        return None
    pos = line_start
    while pos > 0:
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        line = text[prev_start:pos - 1].strip()
        if not line:
            return None
        if not LIST_ITEM_RE.match(line):
            return line if line.endswith(":") else None
        pos = prev_start
    return None
