"""Figures: what counts as an amount, which unit a question counts, and whether a sentence gives it.

A document number, a date, a year or an article number only looks like a figure; "một mức" counts
allowances, "50% mức lương" is a rate.
"""

from __future__ import annotations

import re

from assistant.answering.mentions import LOCAL_LEVELS, bodies_named, mentions_level
from assistant.answering.sentences import LIST_ITEM_RE, Candidate
from assistant.answering.turn import Turn
from assistant.text import fold

_NUMERALS = r"(mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi)"

QUANTITY_WORDS = r"(mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|nhieu)"

_SHARE = rf"\b({QUANTITY_WORDS} phan {QUANTITY_WORDS}|qua nua|mot nua)\b"  # "hai phần ba", "quá nửa": a figure too

NUMBER_RE = re.compile(r"\d+(?:[.,/]\d+)*")

_UNITS = {"thanh vien": "thanh vien|nguoi", "nguoi": "nguoi|thanh vien", "truong hop": "truong hop|nguoi",
          "can bo": "truong hop|nguoi|can bo", "dong": "dong|trieu|nghin", "tien": "dong|trieu|nghin",
          "chuc danh": "chuc danh|nguoi", "ngay": "ngay", "muc": "muc|%", "phan tram": "%|phan tram"}


_OWN_AMOUNT_ASK_RE = re.compile(r"\b(bao nhieu|may|muc nao|tinh the nao|tinh nhu the nao)\b")


def amount_ask(turn: Turn) -> str:
    """The folded text whose words say what amount is asked: a follow-up's own words when they ask one.

    Why: "Mỗi thôn có tối đa mấy chức danh…?" then "quỹ phụ cấp thì bao nhiêu?" asks for money; the resolved
    question still holds the first one's "mấy chức danh", which read as the unit made the posts' count the
    answer again. The previous question lends the subject, not the unit.
    """
    if turn.focus is not None:
        own = fold(turn.cleaned)
        if _OWN_AMOUNT_ASK_RE.search(own) and (asks_rate(own) or asked_unit(own) is not None):
            return own  # "cấp huyện chiếm bao nhiêu?" names no unit of its own: the previous one's still counts
    return turn.folded


def asked_unit(folded_question: str) -> str | None:
    """The unit an amount question counts ("bao nhiêu thành viên" -> thành viên|người), as a regex."""
    m = re.search(r"\b(bao nhieu|may|so)\s+(thanh vien|nguoi|truong hop|chuc danh|ngay|muc|phan tram|can bo|dong|tien)", folded_question)
    if m and m.group(1) == "may" and m.group(2) == "muc":
        return "muc"  # "hưởng mấy mức phụ cấp": how many allowances ("một mức"), not a rate ("50% mức lương")
    return _UNITS.get(m.group(2)) if m else None


FIGURES_REMARK_RE = re.compile(r"\bso lieu\b[^.;]*\b(khong con phan anh|khong phan anh|chi con gia tri lich su|"
                                r"chua duoc cap nhat|chua cap nhat)\b")

_NOT_QUANTITY_RE = re.compile(
    r"\b\d+(?:-[a-z]+)?/[a-z0-9/-]+|\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2}/\d{4}\b|\b(?:dieu|khoan|diem|muc|chuong|nam|ngay|thang)"
    r" \d+\b(?![.,]?\d*\s*(?:%|phan tram|lan\b))|\b(19|20)\d\d\b")  # "mức 10%" is a rate, "mục 10" a section


def answers_amount(turn: Turn, c: Candidate) -> bool:
    """The candidate holds a figure, and counts what was asked when the question names a unit."""
    return answers_amount_text(turn, c.folded)


# "Mức phụ cấp cụ thể … do Hội đồng nhân dân cấp tỉnh quyết định": where no national figure exists, the
# sentence naming who fixes the amount answers "how much" (the asker learns where the figure is set)
SETS_AMOUNT_RE = re.compile(
    r"\bmuc\b[^.;:]{0,80}\bdo (hoi dong nhan dan|uy ban nhan dan|chinh phu|thu tuong|bo truong|bo noi vu|"
    r"co quan co tham quyen|cap co tham quyen)\b[^.;:]{0,60}\b(quyet dinh|quy dinh)\b")


def answers_amount_text(turn: Turn, folded: str) -> bool:
    """``answers_amount`` on a folded sentence (the answer's first line is judged the same way).

    A sentence saying who fixes the amount answers too: the sources then hold no figure to give, and "do Hội
    đồng nhân dân cấp tỉnh quyết định" is the whole national rule."""
    if SETS_AMOUNT_RE.search(folded) and asked_unit(amount_ask(turn)) in (None, "dong|trieu|nghin"):
        return True
    if not has_quantity(folded) or total_for_level(turn, folded) or FIGURES_REMARK_RE.search(folded):
        return False
    if asks_rate(amount_ask(turn)) and not has_rate(folded):
        return False
    if not figure_for_asked_body(turn, folded):
        return False
    unit = asked_unit(amount_ask(turn))
    return unit is None or counts_unit(folded, unit) or (
        re.search(rf"\b{QUANTITY_WORDS} ({unit})\b", folded) is not None)


_ITEM_SPLIT_RE = re.compile(r"(?:^|\s)-\s")  # list items; an item's own clauses keep its subject


def figure_for_asked_body(turn: Turn, folded: str) -> bool:
    """In a list of figures ("- Ban bầu cử …: 11 đến 13 người - Tổ bầu cử: 11 đến 21 người"), a figure answers
    a question about an election body only when an item naming that body carries it: the list naming the
    body somewhere else ("gồm cả Ủy ban bầu cử") gives no figure of it; an item naming no body speaks of the
    passage's own. A text that is not a list passes."""
    asked = bodies_named(turn.folded)
    items = [x for x in _ITEM_SPLIT_RE.split(folded) if x.strip()]
    if not asked or len(items) < 2:
        return True
    unit = asked_unit(amount_ask(turn))
    with_figures = [bodies_named(x) for x in items if (counts_unit(x, unit) if unit else has_quantity(x))]
    # an item naming no body speaks of the passage's own ("- Số lượng: 23 đến 37 người" under its heading)
    return any(not said or any(b == ab and (not q or not aq or q == aq) for b, q in said for ab, aq in asked)
               for said in with_figures)


def total_for_level(turn: Turn, folded: str) -> bool:
    """A total ("tổng số …", "toàn tỉnh có …") that names no level does not answer for the level asked."""
    asked = [lv for lv in turn.entities.levels if lv in LOCAL_LEVELS]
    return bool(asked) and re.search(r"\b(tong so|tong cong|toan tinh|toan quoc)\b", folded) is not None and not any(
        mentions_level(folded, lv, explicit=True) for lv in asked)


def counts_unit(folded: str, unit: str) -> bool:
    """The text gives a count of ``unit``: "9 đến 17 người", or "hai phần ba tổng số thành viên" (a share of them)."""
    if unit == "muc":  # a number of allowances or levels: "một mức", "2 mức"; "50% mức lương" is a rate
        return re.search(rf"(\d+|\b{_NUMERALS}) muc\b(?! luong)", folded) is not None
    # "(?!\w)", not "\b": a unit may end in "%", after which a space is no word boundary ("50% mức lương")
    return bool(re.search(rf"\d[\d.,]*\s*(%\s*)?({unit})(?!\w)", folded)
                or re.search(rf"{_SHARE}( tong so)? ({unit})\b", folded))


def asks_rate(folded_question: str) -> bool:
    """"Phụ cấp bao nhiêu?", "lương tính thế nào?": how much money, not how many allowances or posts."""
    return (re.search(r"\b(phu cap|luong|tien)\b", folded_question) is not None
            and re.search(r"\b(bao nhieu|tinh the nao|tinh nhu the nao)\b", folded_question) is not None
            and re.search(r"\b(bao nhieu|may) (muc|loai|khoan|chuc danh|nguoi|thanh vien|truong hop|can bo|noi)\b",
                          folded_question) is None)


def _figure_text(folded: str) -> str:
    """The text with what only looks like a figure taken out: list numbers, document and article numbers,
    dates, years."""
    return _NOT_QUANTITY_RE.sub(" ", LIST_ITEM_RE.sub("", folded))


# a figure that counts posts, people or households ("tối đa 03 chức danh", "350 hộ") is not an amount of money
_COUNTED_RE = re.compile(r"\b\d+(?:[.,]\d+)*\s+(chuc danh|chuc vu|nguoi|thanh vien|truong hop|ho|can bo|cu tri|"
                         r"don vi|thon|xa|phuong|to dan pho)\b")


def has_rate(folded: str) -> bool:
    """A written figure (50 %, hệ số 2,34, 10 %): a rate or a sum, not "một mức", a document number, nor a
    count of posts, people or households ("tối đa 03 chức danh" says who is paid, not how much)."""
    return NUMBER_RE.search(_COUNTED_RE.sub(" ", _figure_text(folded))) is not None


def has_quantity(folded: str) -> bool:
    """A figure that can answer "how many": not a document number, a date, a year or an article number."""
    body = _figure_text(folded)
    return bool(NUMBER_RE.search(body) or re.search(rf"\b{QUANTITY_WORDS} (muc|nguoi|chuc danh|thanh vien|lan)\b", body)
                or re.search(_SHARE, body))


_FIGURE_UNIT_RE = re.compile(r"\d[\d.,]*\s*(?:(?:den|-|–)\s*\d[\d.,]*\s*)?(%|phan tram|lan|nguoi|thanh vien|ngay|thang|"
                             r"ho|chuc danh|muc|trieu|dong)\b|\d[\d.,]*\s*%")


def figure_units(folded: str) -> set[str]:
    """What the text's figures count ("50%" -> {"%"}, "từ 3 đến 5 thành viên" -> {"thanh vien"}, "6 lần" -> {"lan"}).

    Two figures of one unit in one article are alternatives (another group's rate, another body's size);
    figures of different units are parts of one rule (a rate and the one post it must save).
    """
    return {(m.group(1) or "%").replace("phan tram", "%") for m in _FIGURE_UNIT_RE.finditer(_figure_text(folded))}


_ALLOWANCE_RE = re.compile(r"\bphu cap ((?:kiem nhiem|chuc vu|trach nhiem|khu vuc|tham nien|cong vu|dac biet|uu dai)\b)")


def names_allowance(turn: Turn, folded: str) -> bool:
    """The sentence names the allowance the question asks about, if it asks about one by name.

    Why: "phụ cấp kiêm nhiệm tính thế nào?" is not answered by a coefficient of "phụ cấp chức vụ lãnh đạo",
    even from the same summary."""
    m = _ALLOWANCE_RE.search(amount_ask(turn))
    return m is None or m.group(1) in folded
