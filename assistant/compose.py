"""Composition rules for the extractive answer: which quoted sentence comes first, and which may follow.

Pure functions over retrieved passages and a ``Turn`` (no model, no I/O), each rule unit-tested:

* a sentence that ends in ":" is shown with its list items or not at all; one that opens with a
  connective or an anaphor ("Vì vậy…", "Hai nghị định này…") carries the sentence it leans on or
  is dropped; a passage's heading line is never quoted as an answer;
* the lead sentence is chosen by intent: the verdict for a yes/no question, the figure for the
  asked level and body for an amount question, the deciding authority for a "who decides" one;
* evidence valid on the asked date leads; evidence from another period is used only when nothing
  valid answers, and is then labelled with its period;
* the same fact from several notes becomes one sentence with several markers, the primary text
  (law, decree) first; a note's own "chưa xác minh" never pads an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from assistant.models import Passage
from assistant.period import RULE_KINDS
from assistant.retrieval import QUESTION_SECTION, STOPWORDS_FOLDED, ScoredPassage, SentenceHit
from assistant.safety import unsafe_quote
from assistant.text import collapse_ws, fold, split_sentences, tokenize_folded
from assistant.turn import GENERIC_POSTS, POSTS, STILL_THERE_RE, Turn

# --- sentence shape ------------------------------------------------------------------------------
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
_META_RE = re.compile(
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
_NUMERALS = r"(mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi)"
_QUANTITY_WORDS = r"(mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|nhieu)"
_SHARE = rf"\b({_QUANTITY_WORDS} phan {_QUANTITY_WORDS}|qua nua|mot nua)\b"  # "hai phần ba", "quá nửa": a figure too
_LIST_ITEM_RE = re.compile(r"^\s*(\d+\.|[a-zđ]\)|[-•*])\s+")
_NUMBER_RE = re.compile(r"\d+(?:[.,/]\d+)*")
MAX_EXTENDED = 900  # characters: a list or antecedent longer than this is not worth quoting whole

# --- verdicts -------------------------------------------------------------------------------------
# a sentence that states a yes/no outcome; "không có điều khoản nào cấm" is a permission
_VERDICT_RE = re.compile(
    r"\b(duoc|khong duoc|khong the|co the|phai|khong phai|khong co|cam|khong cam|hop phap|khuyen khich|"
    r"cho phep|khong cho phep|chi huong|khong con|van con|con ap dung|het hieu luc)\b"
)
_YES_PATTERNS = (
    re.compile(r"^ve nguyen tac (la )?duoc"),
    re.compile(r"\bkhong co (dieu khoan|dieu|quy dinh) nao cam\b"),
    re.compile(r"\b(la hop phap|duoc khuyen khich|duoc phep)\b"),
    re.compile(r"\bkhuyen khich\b.*\bkiem( nhiem)?\b"),  # a rule that encourages holding both posts allows it
)
_NO_PATTERNS = (
    re.compile(r"^(khong duoc|khong the|khong phai)\b"),
    re.compile(r"\b(khong duoc (lam|tham gia|dong thoi|kiem|la|ung cu))\b"),
    re.compile(r"\bkhong con (co so|doi tuong|uy ban|ban bau cu|to chuc|cap huyen)\b"),
    re.compile(r"\bkhong lien quan den\b"),
)

# "Thôn, tổ dân phố có còn không?" asks whether a thing still exists: "được khuyến khích" is no answer
_MAY_Q = re.compile(r"\b(co duoc|duoc khong|duoc nua khong)\b")
_GONE_PATTERNS = (re.compile(r"\b(khong con|(ket thuc|thoi|cham dut) hoat dong|da bi bo|bi bai bo)\b"),)
_STILL_PATTERNS = (re.compile(r"\b(van (duoc )?(giu nguyen|xac dinh|con|tiep tuc|la)|giu nguyen|van con)\b"),)

_POST_CANON = (("ubnd", "uy ban nhan dan"), ("hdnd", "hoi dong nhan dan"), ("truong ap", "truong thon"))
_UNNAMED_HOLDERS = ("chu tich", "thanh vien", "can bo", "cong chuc", "dai bieu", "truong ban", "nguoi ung cu",
                  "nguoi hoat dong khong chuyen trach")
POST_NAMES = {"bi thu chi bo": "Bí thư chi bộ", "bi thu": "Bí thư cấp ủy", "pho bi thu": "Phó Bí thư cấp ủy",
              "chu tich uy ban nhan dan": "Chủ tịch Ủy ban nhân dân", "chu tich hoi dong nhan dan": "Chủ tịch Hội đồng nhân dân",
              "truong thon": "Trưởng thôn", "to truong to dan pho": "Tổ trưởng tổ dân phố",
              "truong ban cong tac mat tran": "Trưởng Ban công tác Mặt trận", "giam doc": "Giám đốc",
              "pho giam doc": "Phó Giám đốc", "truong ban tuyen giao": "Trưởng ban tuyên giáo"}


def _canon_posts(folded: str) -> str:
    for short, full in _POST_CANON:
        folded = re.sub(rf"\b{short}\b", full, folded)
    return folded


def unanswered_pair(turn: Turn, cands: Sequence[Candidate]) -> tuple[str, str] | None:
    """The two posts a "may A hold B?" question names, when no sentence weighed names both.

    Why: "Chủ tịch UBND xã có được kiêm Chủ tịch HĐND xã không?" has no source; the nearest sentences
    (a pilot of Bí thư kiêm Chủ tịch UBND, Bí thư kiêm Chủ tịch HĐND) answer other pairs, and quoting
    them as the answer misleads. The answer then says so first and gives no yes or no.
    """
    if turn.intent != "yesno" or not re.search(r"\b(kiem|dong thoi|vua la)\b", turn.folded):
        return None
    named = [_canon_posts(p) for p in turn.entities.posts]
    posts = list(dict.fromkeys(p for p in named if p not in _UNNAMED_HOLDERS))
    posts = [p for p in posts if not any(p != q and p in q for q in posts)]  # "bi thu" inside "bi thu chi bo"
    if len(posts) != 2:
        return None
    if any(_holds(_canon_posts(c.folded), *posts) or _holds(_canon_posts(c.folded), *posts[::-1]) for c in cands):
        return None
    return posts[0], posts[1]


_HOLDS_BOTH_RE = re.compile(r"\b(kiem nhiem|kiem|dong thoi la|dong thoi giu|vua la)\b")


def _holds(folded: str, holder: str, held: str) -> bool:
    """The text says ``holder`` holds ``held`` too: the holder is the post named last before a "kiêm /
    đồng thời là / vừa là", and ``held`` comes after it ("Bí thư chi bộ kiêm nhiệm chức danh Trưởng thôn").
    A list of both posts, or "bí thư đồng thời là chủ tịch HĐND hoặc chủ tịch UBND", does not."""
    for m in _HOLDS_BOTH_RE.finditer(folded):
        found = [(start + n, n, p) for start, n, p in _posts_named(folded[: m.start()])]
        named = _canon_posts(max(found)[2]) if found else None  # the longest of those ending last: "phó bí thư"
        if named is not None and (holder in named or named in holder) and re.search(rf"\b{held}\b", folded[m.end():]):
            return True
    return False


_MUST_DO_Q = re.compile(r"\b(phai|can) lam (gi|sao|the nao|nhu the nao)\b")

PRIMARY_KINDS = {"luat": 3, "nghi-dinh": 3, "thong-tu": 3, "nghi-quyet": 2, "quy-dinh": 2, "ket-luan": 2,
                 "chi-thi": 2, "huong-dan": 1, "hoi-dap": 1, "tin-tuc": 0, "khac": 0}
OTHER_PERIOD_PENALTY = 0.2


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
    return _LIST_ITEM_RE.sub("", collapse_ws(text)).rstrip(" ;,")


# --- periods --------------------------------------------------------------------------------------

def _parse(value: str) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def passage_period(p: Passage, doc: Mapping[str, Any] | None = None) -> tuple[date | None, date | None]:
    """``(valid_from, valid_to)`` of a passage: its section's own period, else its document's."""
    start = _parse(str(getattr(p, "valid_from", "") or "")) or _parse(p.effective)
    end = _parse(str(getattr(p, "valid_to", "") or ""))
    if end is None and doc is not None:
        end = _parse(str(doc.get("expired", "") or ""))
    return start, end


def valid_on(p: Passage, when: date, doc: Mapping[str, Any] | None = None,
             period: tuple[date | None, date | None] | None = None) -> bool:
    """Whether the passage's rule applies on ``when`` (or overlaps the asked ``period``)."""
    start, end = passage_period(p, doc)
    if end is None and p.status == "het-hieu-luc":
        return False  # expired with no date: not a rule of today, and no period to match a past one
    if period is not None and (period[0] or period[1]):
        a, b = period
        return (end is None or a is None or end >= a) and (start is None or b is None or start <= b)
    return (start is None or start <= when) and (end is None or end >= when)


def fmt_date(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def period_phrase(p: Passage, doc: Mapping[str, Any] | None = None) -> str:
    """How an answer names the period a quote speaks for: "áp dụng đến 30/06/2025 (bầu cử 2016, 2021)"."""
    start, end = passage_period(p, doc)
    elections = ", ".join(y.strip() for y in str(getattr(p, "elections", "") or "").split(",") if y.strip())
    parts = []
    if end is not None:
        parts.append(f"áp dụng đến {fmt_date(end)}")
    elif start is not None and start > date(2000, 1, 1):
        parts.append(f"áp dụng từ {fmt_date(start)}")
    if elections:
        parts.append(f"bầu cử {elections}")
    if not parts and p.status == "het-hieu-luc":
        parts.append("quy định đã hết hiệu lực")
    return ", ".join(parts)


# --- candidates -----------------------------------------------------------------------------------

def _spans(p: Passage) -> list[tuple[int, int]]:
    return split_sentences(p.text)


def _is_heading(p: Passage, start: int) -> bool:
    nl = p.text.find("\n")
    return start == 0 and nl > 0


def extend_span(p: Passage, start: int, end: int) -> tuple[int, int] | None:
    """The quotable span around one sentence, or None when it cannot stand alone.

    A sentence ending in ":" takes the list items that follow it; one opening with an anaphor takes
    the sentence before it (and that one's antecedent, once).
    """
    spans = [s for s in _spans(p) if not _is_heading(p, s[0])]
    idx = next((i for i, s in enumerate(spans) if s[0] <= start < s[1] or s == (start, end)), None)
    if idx is None:
        return start, end
    s0, s1 = start, end
    text = p.text[start:end]
    f = fold(collapse_ws(_LIST_ITEM_RE.sub("", text)))
    if _ANAPHOR_RE.match(f) or _CONNECTIVE_RE.match(f) or _ANAPHOR_INSIDE_RE.search(f):
        j, hops = idx, 0
        while True:
            j -= 1
            hops += 1
            if j < 0 or hops > 2:
                return None
            s0 = spans[j][0]
            prev = fold(collapse_ws(_LIST_ITEM_RE.sub("", p.text[spans[j][0] : spans[j][1]])))
            if not (_ANAPHOR_RE.match(prev) or _CONNECTIVE_RE.match(prev)):
                break
    if text.rstrip().endswith(":"):
        j = idx + 1
        items = 0
        while j < len(spans) and _LIST_ITEM_RE.match(p.text[spans[j][0] : spans[j][1]]):
            s1 = spans[j][1]
            items += 1
            j += 1
        if not items:
            return None
    if s1 - s0 > MAX_EXTENDED:
        return None
    return s0, s1


# how a sentence names a level (folded, whole words): "thôn" is not "thông tư", "ấp" is not "áp dụng"
_LEVEL_MENTION = {
    "tinh": re.compile(r"\b(cap tinh|o tinh|tinh uy)\b|\btinh[,)]"),
    "huyen": re.compile(r"\b(cap huyen|huyen)\b"),
    "xa": re.compile(r"\b(cap xa|o xa)\b|\bxa(, phuong|[,)])"),
    "thon": re.compile(r"\b(thon|to dan pho|truong ap|khu pho|ap, khu pho|o ap|cac ap)\b"),
    "trung-uong": re.compile(r"\b(quoc hoi|trung uong)\b"),
}
# the explicit "cấp …" forms only: a sentence that says "cấp xã" speaks of that level, not in passing
_LEVEL_EXPLICIT = {"tinh": re.compile(r"\bcap tinh\b"), "huyen": re.compile(r"\bcap huyen\b"),
                   "xa": re.compile(r"\bcap xa\b"), "thon": _LEVEL_MENTION["thon"]}


def mentions_level(folded: str, level: str, explicit: bool = False) -> bool:
    rule = (_LEVEL_EXPLICIT if explicit else _LEVEL_MENTION).get(level)
    return bool(rule and rule.search(folded))


def _has_body(folded: str, body: str) -> bool:
    if body == "ban bau cu":
        return re.search(r"(?<!uy )ban bau cu", folded) is not None
    return body in folded


_BODY_PHRASE = re.compile(r"(uy ban bau cu|(?<!uy )ban bau cu|to bau cu)"
                          r"(?: (?:dai bieu |dbqh|dbhdnd)?(quoc hoi|hoi dong nhan dan|hdnd))?")


@lru_cache(maxsize=1024)
def _bodies_named(folded: str) -> frozenset[tuple[str, str]]:
    """``(body, for what)`` pairs a text names: ("ban bau cu", "quoc hoi"), ("to bau cu", "").

    "Ban bầu cử cấp xã" is the HĐND's: the ĐBQH board is formed per constituency, not per level.
    """
    out = set()
    for m in _BODY_PHRASE.finditer(folded):
        what = {"hdnd": "hoi dong nhan dan"}.get(m.group(2) or "", m.group(2) or "")
        if not what and m.group(1) == "ban bau cu" and _LEVEL_AFTER.match(folded, m.end()):
            what = "hoi dong nhan dan"
        out.add((m.group(1), what))
    # "… Ban bầu cử cấp xã …, trong số đó có các thành viên của Ban bầu cử": the bare name refers back
    return frozenset((b, q) for b, q in out if q or not any(b2 == b and q2 for b2, q2 in out))


_LEVEL_AFTER = re.compile(r" (o )?cap (xa|huyen|tinh)\b")


def other_body_only(turn: Turn, c: Candidate, strict: bool = False) -> bool:
    """The sentence is about another election body than the one asked (its figure answers nothing here).

    "Ban bầu cử đại biểu Hội đồng nhân dân" is not "Ban bầu cử đại biểu Quốc hội"; a sentence that
    names no body at all is not excluded.
    """
    asked = _bodies_named(fold(turn.focus or turn.cleaned))
    if not asked and turn.focus is not None and strict:
        asked = _bodies_named(turn.folded)  # a supporting line keeps to the conversation's body exactly
    elif not asked and turn.focus is not None:
        # a follow-up carries the body over, not what it was for: "Ban bầu cử ĐBQH …? — Còn cấp xã?"
        # asks about the commune's board, which exists only for the HĐND
        asked = frozenset((b, "") for b, _ in _bodies_named(turn.folded))
    said = _bodies_named(fold(c.passage.text[c.sent.start:c.sent.end]) if c.sent.start <= c.start else c.folded)
    if not asked or not said:
        return False
    return not any(b == ab and (not q or not aq or q == aq) for b, q in said for ab, aq in asked)


_UNITS = {"thanh vien": "thanh vien|nguoi", "nguoi": "nguoi|thanh vien", "truong hop": "truong hop|nguoi",
          "can bo": "truong hop|nguoi|can bo", "dong": "dong|trieu|nghin", "tien": "dong|trieu|nghin",
          "chuc danh": "chuc danh|nguoi", "ngay": "ngay", "muc": "muc|%", "phan tram": "%"}


def asked_unit(folded_question: str) -> str | None:
    """The unit an amount question counts ("bao nhiêu thành viên" -> thành viên|người), as a regex."""
    m = re.search(r"\b(bao nhieu|may|so)\s+(thanh vien|nguoi|truong hop|chuc danh|ngay|muc|phan tram|can bo|dong|tien)", folded_question)
    if m and m.group(1) == "may" and m.group(2) == "muc":
        return "muc"  # "hưởng mấy mức phụ cấp": how many allowances ("một mức"), not a rate ("50% mức lương")
    return _UNITS.get(m.group(2)) if m else None


def primacy(p: Passage) -> int:
    """How primary a source is: a law's article before a summary, a summary before news or Q&A."""
    score = PRIMARY_KINDS.get(p.kind, 0)
    if p.status != "tham-khao":
        score += 1
    if re.match(r"(Điều|Khoản|Mục|Chương)\b", p.section):
        score += 1
    return score


_FIGURES_REMARK_RE = re.compile(r"\bso lieu\b[^.;]*\b(khong con phan anh|khong phan anh|chi con gia tri lich su|"
                                r"chua duoc cap nhat|chua cap nhat)\b")


def _bonus(c: Candidate, turn: Turn) -> float:
    """Intent- and entity-aware adjustment of a candidate's retrieval score."""
    f = c.folded
    head = fold(f"{c.passage.heading} {c.passage.section}")
    ents = turn.entities
    b = 0.0
    has_number = _has_quantity(f)
    if turn.intent == "yesno":
        if verdict_word(turn, c.text) is not None:
            b += 0.06  # states the outcome outright
        elif verdict_word(turn, c.text, any_level=True) is not None:
            b -= 0.04  # states an outcome, but for another level than the one asked
        elif _VERDICT_RE.search(f):
            b += 0.02
    if turn.intent == "amount":
        rate = asks_rate(turn.folded)
        if rate:
            has_number = _has_rate(f)  # "chỉ hưởng một mức phụ cấp" counts allowances, it is not how much
        if has_number:
            b += 0.06
        elif not rate and re.search(rf"\b{_QUANTITY_WORDS} (muc|nguoi|chuc danh|thanh vien)\b", f):
            b += 0.03
        else:
            b -= 0.04
        unit = asked_unit(turn.folded)
        if unit and counts_unit(f, unit) and not _total_for_level(turn, f):
            b += 0.1  # counts what was asked ("9 đến 17 người"), not a deadline or an article number
        if not ents.levels and sum(mentions_level(f, lv, explicit=True) for lv in ("tinh", "huyen", "xa")) == 1:
            b -= 0.03  # one level's figure ("26 trường hợp ở cấp huyện") is not the total asked for
        if _FIGURES_REMARK_RE.search(f):
            b -= 0.1  # "Số liệu … không còn phản ánh tình hình hiện tại" speaks about figures, it gives none
    if turn.intent == "authority" and re.search(
            r"\b(uy ban nhan dan|hoi dong nhan dan|chinh phu|quoc hoi|bo noi vu|bo chinh tri|ban thuong vu|"
            r"cap uy|thu tuong|hoi dong bau cu)\b", f) and re.search(r"\b(thanh lap|quyet dinh|bo nhiem|phe duyet)\b", f):
        b += 0.08
    if turn.intent == "validity":
        if re.search(r"\b(thay the|thay bang|duoc thay|bai bo|khong con (doi tuong )?ap dung|het hieu luc)\b", f):
            b += 0.08  # says what ended it or what replaced it
        elif re.search(r"\b(hieu luc|con ap dung|khong con|ap dung)\b", f):
            b += 0.04
    if _MUST_DO_Q.search(turn.folded) and re.search(r"\b(phai|co trach nhiem)\b", f):
        b += 0.06  # "thì phải làm gì?": the duty ("phải làm đơn xin rút"), before what follows if it is not done
    if turn.intent == "when" and re.search(r"\d{1,2}/\d{1,2}(/\d{4})?|\d+ ngay|cham nhat|tu ngay|ket thuc|den khi", f):
        b += 0.06
    if ents.levels and turn.intent in ("amount", "authority", "yesno", "when", "validity", "list"):
        asked = [lv for lv in ents.levels if lv != "trung-uong"]
        if asked:
            here = any(mentions_level(f, lv) for lv in asked)
            if here or any(mentions_level(head, lv) for lv in asked):
                b += 0.05
            others = [lv for lv in ("tinh", "huyen", "xa") if lv not in asked
                      and mentions_level(f, lv, explicit=True)]
            if others:
                b -= 0.03 * len(others)  # a figure for another level, or a total across levels
            if here and any(_says_gone(f, lv) for lv in asked):
                b += 0.08  # the asked level no longer has it: that is the answer, not an old figure
    if turn.asked_date >= turn.as_of and re.search(r"\b(tung quy dinh|truoc day|truoc do da)\b", f):
        b -= 0.04  # "used to provide": a statement about the past, not today's rule
    if "bo sung" in f and "bo sung" not in turn.folded:
        b -= 0.05  # by-elections are a special case the question did not ask about
    if ents.bodies:
        qh_asked = bool(re.search(r"\b(quoc hoi|dbqh)\b", turn.folded)) and "hoi dong nhan dan" not in turn.folded
        hd_asked = bool(re.search(r"\b(hoi dong nhan dan|hdnd)\b", turn.folded)) and "quoc hoi" not in turn.folded
        if qh_asked and "hoi dong nhan dan" in f and "quoc hoi" not in f:
            b -= 0.06
        if hd_asked and "quoc hoi" in f and "hoi dong nhan dan" not in f:
            b -= 0.06
    years = [str(y) for y in ents.years]
    if turn.intent == "when" and years:
        if any(y in f for y in years):
            b += 0.06
        elif re.search(r"\b(19|20)\d\d\b", f):
            b -= 0.04
    if ents.bodies:
        asked_here = [bd for bd in ents.bodies if _has_body(f, bd) or _has_body(head, bd)]
        others = [bd for bd in ("uy ban bau cu", "ban bau cu", "to bau cu") if bd not in ents.bodies and _has_body(f, bd)]
        if asked_here:
            b += 0.05
        elif others:
            b -= 0.06
    if ents.posts and turn.intent != "other":  # in "what did the deputy secretary say", the post names a speaker
        b += min(0.06, 0.03 * sum(1 for rule in _post_rules(ents.posts) if rule.search(f)))
    # a primary text outranks a summary or Q&A carrying the same sentence; current outranks expired
    b += 0.01 * primacy(c.passage)
    if c.extended:
        # a list question is answered by the list; elsewhere a quote that needs its neighbour leads only when best
        b += 0.06 if turn.intent == "list" and c.text.rstrip().endswith(tuple(".;)")) and ":" in c.text else -0.04
    if c.meta:
        b -= 0.08
    return b


# a post as sentences name it: the village head is "trưởng thôn", "trưởng ấp" or "tổ trưởng tổ dân phố"
_VILLAGE_HEAD = re.compile(r"\b(truong thon|truong ap|truong khu pho|to truong to dan pho)\b")
_POST_FORMS = {"truong thon": _VILLAGE_HEAD, "truong ap": _VILLAGE_HEAD, "to truong to dan pho": _VILLAGE_HEAD,
               "chu tich ubnd": re.compile(r"\bchu tich (ubnd|uy ban nhan dan)\b"),
               "chu tich uy ban nhan dan": re.compile(r"\bchu tich (ubnd|uy ban nhan dan)\b"),
               "chu tich hdnd": re.compile(r"\bchu tich (hdnd|hoi dong nhan dan)\b"),
               "chu tich hoi dong nhan dan": re.compile(r"\bchu tich (hdnd|hoi dong nhan dan)\b")}
_GENERIC_POSTS = GENERIC_POSTS


@lru_cache(maxsize=64)
def _post_rules(posts: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """How sentences name the posts that tell one rule from another ("bí thư chi bộ", not the
    "bí thư" inside it; "cán bộ" or "thành viên" alone tell nothing), one rule per post."""
    specific = [p for p in posts if p not in _GENERIC_POSTS and not any(p != q and p in q for q in posts)]
    rules = [_POST_FORMS.get(p) or re.compile(rf"\b{re.escape(p)}\b") for p in specific]
    return tuple({r.pattern: r for r in rules}.values())


ENTITY_BONUS = 0.02


def entity_rerank(turn: Turn, hits: Sequence[ScoredPassage]) -> list[ScoredPassage]:
    """Nudge passages whose heading names the asked election body up, and those about another body down.

    "Ban bầu cử" is also inside "Ủy ban bầu cử": retrieval alone confuses the two; the heading says
    which body an article is about.
    """
    bodies = turn.entities.bodies
    if not bodies or turn.intent not in ("amount", "authority", "when"):
        return list(hits)  # only a figure or a deadline depends on which body the article is about
    for h in hits:
        head = fold(f"{h.passage.heading} {h.passage.section}")
        if any(_has_body(head, b) for b in bodies):
            h.score += ENTITY_BONUS
        elif any(_has_body(head, b) for b in ("uy ban bau cu", "ban bau cu", "to bau cu") if b not in bodies):
            h.score -= ENTITY_BONUS
    return sorted(hits, key=lambda h: -h.score)


CLAUSE_PENALTY = 0.01  # a clause wins over its whole sentence only when the rest is off the question


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


def candidates(turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]] | None = None,
               max_hits: int = 4, window: float = 0.1) -> list[Candidate]:
    """Every quotable span of the top passages, scored for this turn; best first."""
    if not hits:
        return []
    docs = docs or {}
    top = hits[0].score
    asked = turn.asked_date
    period = None
    if turn.period is not None and not getattr(turn.period, "elections", ()):
        # a span ("năm 2020", "nhiệm kỳ 2025–2030") takes any rule in force within it; an election
        # (and a term named by its election) is judged on election day: the 2021 bodies were formed
        # under the 2015 law, whatever changed before the term ended
        period = (getattr(turn.period, "start", None), getattr(turn.period, "end", None))
    out: list[Candidate] = []
    seen: set[tuple[str, int, int]] = set()
    for rank, h in enumerate(hits[:max_hits]):
        if rank and h.score < top - window:
            continue
        if h.passage.section == QUESTION_SECTION:
            continue
        doc = docs.get(h.passage.doc_id)
        in_period = valid_on(h.passage, asked, doc, period)
        for s in h.sentences:
            if _is_heading(h.passage, s.start):
                continue
            if unsafe_quote(h.passage.text[s.start : s.end], h.passage.source_urls):
                continue  # a planted instruction or a foreign link is never quoted (assistant/safety.py)
            span = extend_span(h.passage, s.start, s.end)
            if span is None:
                continue
            key = (h.passage.id, *span)
            if key in seen:
                continue
            seen.add(key)
            folded = fold(collapse_ws(_LIST_ITEM_RE.sub("", h.passage.text[s.start : s.end])))
            c = Candidate(h, s, span[0], span[1], 0.0,
                          unverified=is_unverified(folded),
                          meta=bool(_META_RE.match(folded)), in_period=in_period,
                          extended=span != (s.start, s.end))
            c.score = s.score + 0.8 * (h.score - top) + _bonus(c, turn)
            if not in_period:
                c.score -= OTHER_PERIOD_PENALTY
            out.append(c)
            items = list_items(h.passage.text, s.start, s.end) if not c.extended else []
            for i, (a, b) in enumerate(items):
                part = Candidate(h, s, s.start, b, 0.0, unverified=c.unverified, meta=c.meta, in_period=in_period,
                                 elide=(items[0][0], a) if i else None)
                part.score = s.score + 0.8 * (h.score - top) + _bonus(part, turn) - CLAUSE_PENALTY
                if not in_period:
                    part.score -= OTHER_PERIOD_PENALTY
                out.append(part)
            for a, b in clauses(h.passage.text, s.start, s.end) if not c.extended else []:
                part = Candidate(h, s, a, b, 0.0, unverified=is_unverified(fold(h.passage.text[a:b])),
                                 meta=c.meta, in_period=in_period, extended=False)
                part.score = s.score + 0.8 * (h.score - top) + _bonus(part, turn) - CLAUSE_PENALTY
                if not in_period:
                    part.score -= OTHER_PERIOD_PENALTY
                out.append(part)
    if hits[0].via_question and hits[0].sentences:
        # the user asked what this Q&A asks: its answer's opening sentence is the direct answer
        first = min(hits[0].sentences, key=lambda x: x.start)
        for c in out:
            if c.sent is first:
                c.score += 0.15
    out.sort(key=lambda c: -c.score)
    return out


def _informative(text: str) -> set[str]:
    return {t for t in tokenize_folded(text) if t not in STOPWORDS_FOLDED and len(t) > 1}


def same_fact(a: str, b: str) -> bool:
    """Two quotes state the same fact: nearly the same words and the same figures."""
    ta, tb = _informative(a), _informative(b)
    if not ta or not tb:
        return False
    overlap = len(ta & tb) / min(len(ta), len(tb))
    na, nb = set(_NUMBER_RE.findall(a)), set(_NUMBER_RE.findall(b))
    if na or nb:
        return overlap > 0.5 and bool(na & nb) and (na <= nb or nb <= na)
    return overlap > 0.8


def verdict_word(turn: Turn, quote: str, any_level: bool = False) -> str | None:
    """"Được." / "Không." before a yes/no answer, only when the quoted sentence states it outright.

    The verdict counts for the level nearest to it; ``any_level`` reads it whatever level it is said of.
    """
    if turn.intent != "yesno":
        return None
    f = fold(collapse_ws(display(quote)))
    if any(t in turn.folded and t not in f for t in _VERDICT_TOPICS):
        return None  # "có được phụ cấp không?" is not answered by "mô hình này là hợp pháp"
    asked = [] if any_level else [lv for lv in turn.entities.levels if lv in _LEVEL_EXPLICIT]
    if _other_holder(turn.folded, f):
        return None  # "Bí thư chi bộ được khuyến khích kiêm Trưởng thôn" says nothing of the Trưởng ban's
    verdicts: tuple[tuple[tuple[re.Pattern[str], ...], str], ...] = ((_NO_PATTERNS, "Không."), (_YES_PATTERNS, "Được."))
    if STILL_THERE_RE.search(turn.folded) and not _MAY_Q.search(turn.folded):
        verdicts = ((_GONE_PATTERNS, "Không."), (_STILL_PATTERNS, "Còn."))  # "có còn không?": exists, not allowed
    for patterns, word in verdicts:
        for p in patterns:
            m = p.search(f)
            if m is None or (asked and _nearest_level(f, m.start()) not in (None, *asked)):
                continue
            subject = f[max(0, m.start() - 30): m.start()]
            if any(t in subject and t not in turn.folded for t in _VERDICT_SUBJECTS):
                continue  # "người ứng cử không được …" is about candidates, not about the members asked
            if patterns is _GONE_PATTERNS and any(d > turn.asked_date for d in _dates_in(f)):
                return "Còn."  # "thôi hoạt động kể từ 01/7/2025": on 01/06/2024 it was still there
            return word
    return None


def _dates_in(folded: str) -> list[date]:
    """The full dates a sentence names ("01/7/2025"), invalid ones skipped."""
    out = []
    for d, mo, y in re.findall(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", folded):
        try:
            out.append(date(int(y), int(mo), int(d)))
        except ValueError:
            continue
    return out


# who a verdict can be said of besides the asked post: its verdict is not the asked post's
_VERDICT_SUBJECTS = ("nguoi ung cu",)
_HOLDS_RE = re.compile(r"\b(kiem nhiem|kiem|dong thoi la|dong thoi giu)\b")


def _holder(folded: str) -> str | None:
    """The post that holds another in "<post> (được) kiêm nhiệm …": the post named last before the verb."""
    m = _HOLDS_RE.search(folded)
    if m is None:
        return None
    found = _posts_named(folded[: m.start()])
    return max(found)[2] if found else None


def _posts_named(text: str) -> list[tuple[int, int, str]]:
    """Each post ``text`` names, as (start of its last mention, length, post)."""
    return [(text.rfind(p), len(p), p) for p in POSTS if re.search(rf"\b{p}\b", text)]


def _other_holder(question: str, quote: str) -> bool:
    """The question asks whether post A may hold B, the quote says post C may: C's permission is not A's."""
    asked, said = _holder(question), _holder(quote)
    generic = ("can bo", "cong chuc", "thanh vien", "nguoi hoat dong khong chuyen trach", "dai bieu")
    return bool(asked and said and asked != said and asked not in generic and said not in generic
                and not said.startswith(asked) and not asked.startswith(said))


# what a yes/no question can be about besides the post itself: a verdict must speak of the same thing
_VERDICT_TOPICS = ("phu cap", "luong", "bao hiem", "ung cu")


def _nearest_level(folded: str, at: int) -> str | None:
    """The level named closest to position ``at``: the one a verdict phrase there speaks of."""
    mentions = [(abs(m.start() - at), lv) for lv in ("tinh", "huyen", "xa", "thon")
                for m in _LEVEL_EXPLICIT[lv].finditer(folded)]
    return min(mentions)[1] if mentions else None


@dataclass
class Plan:
    """What the answer will say, before markers are numbered."""

    lead: Candidate | None
    support: list[Candidate]
    unverified_lead: bool = False
    no_figure: bool = False
    considered: list[Candidate] = field(default_factory=list)  # every candidate weighed (for period labels)
    merged: dict[int, list[Candidate]] = field(default_factory=dict)  # id(candidate) -> same-fact twins
    gone: bool = False  # the lead says the asked level was abolished ("có … cấp huyện không?" -> "Không.")


def plan_answer(turn: Turn, cands: Sequence[Candidate], max_sentences: int = 4, margin: float = 0.08) -> Plan:
    """Pick the lead by intent and period, then the supporting sentences that belong with it."""
    usable = [c for c in cands if not c.meta] or list(cands)
    if turn.intent in ("amount", "when", "authority"):
        # a figure, a deadline or an authority belongs to one body and one level: another's is no answer
        usable = [c for c in usable if not other_body_only(turn, c) and not _other_level_only(turn, c)] or usable
        # a whole list of figures is not the asked figure: its items are candidates of their own
        items = {c.passage.id for c in usable if not c.extended}
        usable = [c for c in usable if not (c.extended and ":" in c.text and c.passage.id in items)] or usable
    if not usable:
        return Plan(None, [])
    valid = [c for c in usable if c.in_period]
    pool = valid if valid and valid[0].score >= usable[0].score - 0.25 else usable
    pool = [c for c in pool if not c.unverified] or pool
    best = max(usable, key=lambda c: c.score)
    inner = [c for c in usable if c.passage.id == best.passage.id and best.start <= c.start and c.end <= best.end
             and (c.start, c.end) != (best.start, best.end)]
    if inner and not best.unverified:
        top_inner = max(inner, key=lambda c: c.score)
        if top_inner.unverified and top_inner.score >= best.score - 2 * CLAUSE_PENALTY:
            best = top_inner  # the clause that meets the question is the note saying it does not know
    if best.unverified and best.in_period and turn.intent != "change" and not _other_level_only(turn, best):
        # the best evidence is the note saying it does not know exactly this: say so, do not pad
        return Plan(best, [], unverified_lead=True)
    lead = pool[0]
    gone = gone_level(turn, pool)
    if gone is not None:
        return Plan(gone, [], gone=True)  # the asked level no longer exists: that is the answer, today's undisputed rule
    if turn.intent == "amount" and not answers_amount(turn, lead):
        # the asked figure, from this period if the sources have it, else from another (then labelled)
        with_figure = [c for c in pool if answers_amount(turn, c) and c.score >= lead.score - 2 * margin]
        if not with_figure:
            with_figure = [c for c in usable if answers_amount(turn, c) and not c.unverified
                           and c.score >= usable[0].score - 0.3]
        if not with_figure:
            return Plan(None, [], no_figure=True, considered=list(cands))  # the sources do not give it
        lead = with_figure[0]
    chosen = [lead]
    merged: dict[int, list[Candidate]] = {}
    for c in pool[1:]:
        if c.score < lead.score - 2 * margin:
            break
        if c.unverified or c.meta or lead.in_period != c.in_period or _overlaps(c, chosen):
            continue  # never mix another period's figure into an answer for this one
        twin = next((x for x in chosen if same_fact(x.text, c.text)), None)
        if twin is not None:
            if c.passage.doc_id != twin.passage.doc_id:
                if primacy(c.passage) > primacy(twin.passage):
                    # the primary text states the fact; the summary's marker stays beside it
                    chosen[chosen.index(twin)] = c
                    merged[id(c)] = [twin, *merged.pop(id(twin), [])]
                    if twin is lead:
                        lead = c
                else:
                    merged.setdefault(id(twin), []).append(c)
            continue
        if len(chosen) >= max_sentences or c.score < lead.score - margin:
            continue
        if turn.intent == "amount" and c.passage.id != lead.passage.id and not answers_amount(turn, c):
            continue  # a figure question is answered by figures, not by opinions that happen to score well
        if turn.intent in ("amount", "when") and _other_level_only(turn, c):
            continue  # the figure for another level is not part of this answer
        if turn.intent in ("amount", "when", "authority") and other_body_only(turn, c, strict=True):
            continue  # nor the figure of another body (the ĐBQH board beside the HĐND board's)
        chosen.append(c)
    lead, support = chosen[0], chosen[1:]
    order = {id(c.hit): i for i, c in enumerate(cands)}
    support.sort(key=lambda c: (order.get(id(c.hit), 0), c.start))
    return Plan(lead, support, merged=merged, considered=list(cands))


# the thing asked about no longer exists ("không còn Ủy ban bầu cử … cấp huyện", "bỏ các tổ chức … cấp huyện");
# "bỏ cấp" folds like "(cán) bộ cấp": the verb only when no "cán" precedes it
_ABOLISHED_RE = re.compile(
    r"\b(khong con (uy ban|ban bau cu|to chuc|cap|co so|doi tuong|dung|su dung)|(?<!can )bo cac|(?<!can )bo cap|"
    r"thoi hoat dong|ket thuc hoat dong|ket thuc cap|chi con|cham dut viec|thoi su dung|ket thuc viec su dung)\b")


_LEAVING_RE = re.compile(r"\b(nghi viec|thoi viec|tinh gian bien che|doi du|sap xep lai)\b")


def _says_gone(folded: str, level: str) -> bool:
    """An abolition word whose nearest level mention is ``level``: "chỉ chấm dứt việc dùng … ở cấp xã"
    says the commune lost something, not the village named earlier in the sentence."""
    return any(_nearest_level(folded, g.start()) == level for g in _ABOLISHED_RE.finditer(folded))


def gone_level(turn: Turn, pool: Sequence[Candidate]) -> Candidate | None:
    """The sentence saying the asked level was abolished, when nothing in force speaks of that level otherwise.

    "Ban bầu cử cấp huyện có bao nhiêu thành viên?" asked after 2025: the old figure is no answer,
    "không còn Ủy ban bầu cử, Ban bầu cử cấp huyện" is.
    """
    asked = [lv for lv in turn.entities.levels if lv in ("tinh", "huyen", "xa", "thon")]
    if len(asked) != 1 or turn.intent not in ("amount", "when", "authority", "yesno"):
        return None
    now = [c for c in pool if c.in_period and mentions_level(c.folded, asked[0], explicit=True)]
    gone = [c for c in now if _says_gone(c.folded, asked[0]) and not c.unverified]
    if not gone:
        return None
    def since(c: Candidate) -> date:
        return passage_period(c.passage)[0] or date.min

    # only dated evidence says a level was gone by the asked day ("chủ trương kết thúc cấp huyện" in an
    # undated timeline is a plan, not an answer for 2024)
    gone = [c for c in gone if date.min < since(c) <= turn.asked_date]
    if not gone:
        return None
    best = max(gone, key=lambda c: c.score)
    # a sentence about people leaving (severance on "nghỉ việc", "tinh giản biên chế") follows from the
    # abolition: it does not say the level still has the thing
    others = [c for c in now if c not in gone and not _LEAVING_RE.search(c.folded)]
    if turn.entities.posts:  # about a post: only what speaks of that post at the level says it is still there
        others = [c for c in others if any(p in c.folded for p in turn.entities.posts)]

    # a sentence in force that still speaks of the level outweighs the abolition, unless it predates it
    if any(since(c) >= since(best) for c in others):
        return None
    return best


_NOT_QUANTITY_RE = re.compile(
    r"\b\d+(?:-[a-z]+)?/[a-z0-9/-]+|\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2}/\d{4}\b|\b(?:dieu|khoan|diem|muc|chuong|nam|ngay|thang)"
    r" \d+\b|\b(19|20)\d\d\b")


def answers_amount(turn: Turn, c: Candidate) -> bool:
    """The candidate holds a figure, and counts what was asked when the question names a unit."""
    return answers_amount_text(turn, c.folded)


def answers_amount_text(turn: Turn, folded: str) -> bool:
    """``answers_amount`` on a folded sentence (the answer's first line is judged the same way)."""
    if not _has_quantity(folded) or _total_for_level(turn, folded) or _FIGURES_REMARK_RE.search(folded):
        return False
    if asks_rate(turn.folded) and not _has_rate(folded):
        return False
    unit = asked_unit(turn.folded)
    return unit is None or counts_unit(folded, unit) or (
        re.search(rf"\b{_QUANTITY_WORDS} ({unit})\b", folded) is not None)


def _total_for_level(turn: Turn, folded: str) -> bool:
    """A total ("tổng số …", "toàn tỉnh có …") that names no level does not answer for the level asked."""
    asked = [lv for lv in turn.entities.levels if lv in ("tinh", "huyen", "xa", "thon")]
    return bool(asked) and re.search(r"\b(tong so|tong cong|toan tinh|toan quoc)\b", folded) is not None and not any(
        mentions_level(folded, lv, explicit=True) for lv in asked)


def counts_unit(folded: str, unit: str) -> bool:
    """The text gives a count of ``unit``: "9 đến 17 người", or "hai phần ba tổng số thành viên" (a share of them)."""
    if unit == "muc":  # a number of allowances or levels: "một mức", "2 mức"; "50% mức lương" is a rate
        return re.search(rf"(\d+|\b{_NUMERALS}) muc\b(?! luong)", folded) is not None
    return bool(re.search(rf"\d[\d.,]*\s*(%\s*)?({unit})\b", folded)
                or re.search(rf"{_SHARE}( tong so)? ({unit})\b", folded))


def _other_level_only(turn: Turn, c: Candidate) -> bool:
    asked = [lv for lv in turn.entities.levels if lv in ("tinh", "huyen", "xa", "thon")]
    if not asked:
        return False
    f = c.folded
    mentions = {lv for lv in ("tinh", "huyen", "xa", "thon") if mentions_level(f, lv, explicit=True)}
    return bool(mentions) and not (mentions & set(asked))


def asks_rate(folded_question: str) -> bool:
    """"Phụ cấp bao nhiêu?", "lương tính thế nào?": how much money, not how many allowances or posts."""
    return (re.search(r"\b(phu cap|luong|tien)\b", folded_question) is not None
            and re.search(r"\b(bao nhieu|tinh the nao|tinh nhu the nao)\b", folded_question) is not None
            and re.search(r"\b(bao nhieu|may) (muc|loai|khoan|chuc danh|nguoi|thanh vien|truong hop|can bo|noi)\b",
                          folded_question) is None)


def _figure_text(folded: str) -> str:
    """The text with what only looks like a figure taken out: list numbers, document and article numbers,
    dates, years."""
    return _NOT_QUANTITY_RE.sub(" ", _LIST_ITEM_RE.sub("", folded))


def _has_rate(folded: str) -> bool:
    """A written figure (50 %, hệ số 2,34, 10 %): a rate or a sum, not "một mức" nor a document number."""
    return _NUMBER_RE.search(_figure_text(folded)) is not None


def _has_quantity(folded: str) -> bool:
    """A figure that can answer "how many": not a document number, a date, a year or an article number."""
    body = _figure_text(folded)
    return bool(_NUMBER_RE.search(body) or re.search(rf"\b{_QUANTITY_WORDS} (muc|nguoi|chuc danh|thanh vien|lan)\b", body)
                or re.search(_SHARE, body))


def _overlaps(c: Candidate, chosen: Sequence[Candidate]) -> bool:
    return any(x.passage.id == c.passage.id and x.start < c.end and c.start < x.end for x in chosen)


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
    if label and asked_past:
        # "Trong cuộc bầu cử năm 2021 (…)", but "Trước ngày 01/7/2025 (…)": a label that is already a phrase of time
        head = label[0].upper() + label[1:] if re.match(r"(trước|sau|từ|đến|khi)\b", label) else f"Trong {label}"
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
    if not nums or not (re.search(r"\b(hieu luc|thay the|bai bo|sua doi)\b", own) or re.match(
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
    effective = _parse(str(doc.get("effective") or target.effective or ""))
    expired = _parse(str(doc.get("expired") or ""))
    replaced = _numbers(doc.get("replaced_by"))
    parts: list[str] = []
    if status == "het-hieu-luc":
        ended = f"{name} đã hết hiệu lực" + (f" từ {fmt_date(expired + timedelta(days=1))}" if expired else "")
        if replaced:
            ended += f", đã được thay bằng {', '.join(kind_name(r) for r in replaced)}"
        parts.append(ended)
    elif status == "con-hieu-luc":
        amended = _numbers(doc.get("amended_by") or target.amended_by)
        parts.append(f"{name} còn hiệu lực" + (f" (có hiệu lực từ {fmt_date(effective)})" if effective else "")
                     + (f", đã được sửa đổi, bổ sung bởi {', '.join(kind_name(a) for a in amended)}" if amended else ""))
    elif status == "da-sua-doi":
        amended = _numbers(doc.get("amended_by") or target.amended_by)
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
    amended = [a for a in _numbers(p.amended_by)
               if (m := re.search(r"/((?:19|20)\d\d)\b", a)) is None or int(m.group(1)) <= when.year]
    # the amendment is the document's: it need not touch this article
    return p.label + (f" (văn bản đã được sửa đổi, bổ sung bởi {', '.join(kind_name(a) for a in amended)})"
                      if amended else "")


def _numbers(value: Any) -> list[str]:
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


def premise_gaps(turn: Turn, evidence: str, corpus_numbers: Sequence[str]) -> list[str]:
    """Named things of the question that the evidence the answer rests on does not contain.

    Document numbers must exist in the corpus; places and claimed amounts must occur in the
    evidence (the quoted sentences plus the titles and headings of their passages).
    """
    gaps: list[str] = []
    ev = fold(collapse_ws(evidence))
    corpus = [fold(n) for n in corpus_numbers if n]
    for typed, num in zip(turn.entities.documents, turn.entities.document_numbers, strict=False):
        base = num.split("/")[0] if "/" in num else num.split("-")[0]
        known = any(c == num or c.startswith(num) or num.startswith(c) for c in corpus)
        if not known and "/" in num:
            known = any(c.startswith(num.split("/")[0] + "/" + num.split("/")[1]) for c in corpus if c.count("/") >= 1)
        if not known and not ("/" in num or "-" in num):
            known = any(c.split("/")[0].split("-")[0] == base for c in corpus)
        if not known:
            gaps.append(typed)
    for place in turn.entities.places:
        if fold(place) not in ev:
            gaps.append(place)
    for amount in turn.entities.amounts:
        nums = _NUMBER_RE.findall(amount)
        if nums and not any(re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", ev) for n in nums):
            gaps.append(amount)
    return gaps


_ELECTION_YEARS = {2016, 2021, 2026}


_YEAR_RANGE = re.compile(r"\b(?:19|20)\d\d\s*[-–—]\s*((?:19|20)\d\d)\b")


def _rule_covers_year(p: Passage, y: int) -> bool:
    """A rule speaks for every year of its period; before its period starts it speaks for none.

    An open start falls back to the document's issue date (a decree cannot apply before it was
    signed). Reports and news have no such span: a 2023 report does not speak for 2019.
    """
    if p.kind not in RULE_KINDS or p.status == "tham-khao":
        return False
    start, end = passage_period(p)
    start = start or _parse(p.issued)
    if start is None:
        return False
    return start.year <= y and (end is None or y <= end.year)


def year_gaps(turn: Turn, ans: Any) -> list[str]:
    """Years the question names that the cited evidence does not speak for.

    A year written in the cited passages, an election year, or a year inside the period of a cited
    rule counts as evidence ("Năm 2020 … theo quy định nào" is answered from a decree in force in
    2020); any other year is a premise the sources lack ("Năm 2019 Bến Tre có bao nhiêu…" is not
    answered from a report whose year the note does not know). A term named as a range
    ("nhiệm kỳ 2026–2031") is named by its first year: its end is a term's name, not a date asked.
    """
    gaps = []
    texts = " ".join(f"{c.hit.passage.text} {c.hit.passage.title}" for c in ans.citations)
    range_ends = {int(m.group(1)) for m in _YEAR_RANGE.finditer(turn.cleaned or turn.raw)}
    for y in turn.entities.years:
        if y in range_ends or str(y) in texts:
            continue
        if y > turn.as_of.year:
            gaps.append(f"năm {y}")
            continue
        if y in _ELECTION_YEARS or y == 2025:
            continue
        if not any(_rule_covers_year(c.hit.passage, y) for c in ans.citations):
            gaps.append(f"năm {y}")
    return gaps


def _unit_kind(text: str) -> str:
    f = fold(text)
    if "%" in f or "phan tram" in f:
        return "%"
    for unit in ("chuc danh", "nguoi", "thanh vien", "ngay", "dong", "trieu"):
        if unit in f:
            return unit
    return ""


def correct_premise(turn: Turn, ans: Any, wrong: Sequence[str]) -> Any:
    """A figure stated in the question that the sources contradict: correct it from the lead, or refuse.

    The correction is made only when the answer's first line holds a figure of the same kind
    (a percentage for a percentage, a number of posts for a number of posts); otherwise the
    question rests on something the sources do not hold and is refused.
    """
    from assistant.answer import REFUSAL, Answer, refusal_for_missing

    first = ans.text.split("\n", 1)[0]
    kinds = {_unit_kind(w) for w in wrong} - {""}
    if not kinds or not any(k in fold(first) for k in kinds) or not _has_quantity(fold(first)):
        return Answer(refusal_for_missing(list(wrong)), [], refused=True, answered_by="refusal")
    named = ", ".join(f"«{w}»" for w in wrong)
    body = re.sub(r"^(Được\.|Không\.)\s*", "", first)
    opening = "Không. " if turn.intent == "yesno" else ""
    lines = [f"{opening}Các nguồn không nêu {named}; nguồn ghi: {body}", *ans.text.split("\n")[1:]]
    text = "\n".join(lines).strip() or REFUSAL
    return Answer(text, ans.citations, answered_by=ans.answered_by)
