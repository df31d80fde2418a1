"""Question analysis, part 2: the things a question names (documents, places, posts, levels, bodies,
claimed figures, years), in folded form for matching and as typed for messages.

The entities are what the evidence must contain: a decree, province or amount the sources lack is
refused, not answered from whatever is nearby.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.text import collapse_ws, fold, nfc, proper_names

LEVELS: dict[str, tuple[str, ...]] = {
    # level -> folded cue words (whole-word); "xã" inside "xã hội" is excluded below
    "tinh": ("cap tinh", "tinh", "thanh pho truc thuoc trung uong", "tinh uy"),
    "huyen": ("cap huyen", "huyen", "quan", "thi xa", "huyen uy"),
    "xa": ("cap xa", "xa", "phuong", "thi tran", "dac khu", "dang uy xa"),
    "thon": ("thon", "to dan pho", "truong ap", "ap, khu pho", "khu pho", "chi bo"),
    "trung-uong": ("trung uong", "quoc hoi", "chinh phu"),
}

LEVEL_WORDS = {  # the narrow cues used to substitute a level in a follow-up
    "tinh": "cấp tỉnh", "huyen": "cấp huyện", "xa": "cấp xã", "thon": "thôn, tổ dân phố",
}

# election bodies: "ban bầu cử" is also inside "ủy ban bầu cử"; match longest first
BODIES: dict[str, str] = {
    "uy ban bau cu": "ủy ban bầu cử", "ban bau cu": "ban bầu cử", "to bau cu": "tổ bầu cử",
    "hoi dong bau cu quoc gia": "hội đồng bầu cử quốc gia",
}

POSTS = (
    "bi thu chi bo", "bi thu", "pho bi thu", "chu tich uy ban nhan dan", "chu tich ubnd", "chu tich hoi dong nhan dan",
    "chu tich hdnd", "chu tich", "truong thon", "to truong to dan pho", "truong ban cong tac mat tran",
    "truong ap", "pho giam doc", "giam doc", "truong ban tuyen giao", "thanh vien", "truong ban", "pho truong ban",
    "can bo", "cong chuc", "nguoi hoat dong khong chuyen trach", "dai bieu", "nguoi ung cu",
)

_DOC_KINDS = {
    "nghi dinh": "Nghị định", "nd": "Nghị định", "luat": "Luật", "thong tu": "Thông tư", "tt": "Thông tư",
    "quy dinh": "Quy định", "qd": "Quyết định/Quy định", "quyet dinh": "Quyết định", "ket luan": "Kết luận",
    "kl": "Kết luận", "nghi quyet": "Nghị quyết", "nq": "Nghị quyết", "chi thi": "Chỉ thị", "ct": "Chỉ thị",
    "cong van": "Công văn",
}

_DOC_RE = re.compile(
    r"\b(" + "|".join(sorted(_DOC_KINDS, key=len, reverse=True)) + r")\s*(?:so\s*)?"
    r"(\d{1,4}(?:/\d{4})?(?:/[a-z]{1,4}(?:-[a-z]{1,4})?\d*)?(?:-[a-z]{1,4}/[a-z]{1,4})?)(?![\d/])"
    r"|\b(\d{1,4}/\d{4}/[a-z]{2,4}(?:-[a-z]{1,4})?\d*|\d{1,4}-(?:kl|nq|qd|ct|hd)/(?:tw|tu|bct))\b"
)

_PERCENT_RE = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:%|phan tram)|\b\d{1,3}(?:\.\d{3})+\s?(?:dong|d\b|vnd)|"
                         r"\b\d+(?:[.,]\d+)?\s?(?:trieu|nghin|ngan) dong")

# a number stated as a rule in the question ("tối đa 5 chức danh"): the sources must state it too
_CLAIMED_NUMBER_RE = re.compile(
    r"\b(toi da|toi thieu|khong qua|it nhat|tren|duoi|muc|bang|len toi|len den|gioi han)\s+(\d+(?:[.,]\d+)?)"
    r"(\s?(?:%|phan tram|chuc danh|nguoi|thanh vien|lan|trieu|nghin|dong|ngay|thang|nam|muc))?"
)

_YEAR_RE = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")

# 63 provinces and cities as they were before 2025, and the 34 after: how a question names a place.
PROVINCES = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Bà Rịa", "Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh",
    "Bến Tre", "Bình Định", "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "Cần Thơ", "Cao Bằng",
    "Đà Nẵng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam",
    "Hà Nội", "Hà Tĩnh", "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa",
    "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng", "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An",
    "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh",
    "Quảng Trị", "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế",
    "Huế", "Tiền Giang", "Hồ Chí Minh", "Sài Gòn", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc",
    "Yên Bái",
)

_PROVINCE_FOLDED = sorted(((fold(p), p) for p in PROVINCES), key=lambda x: -len(x[0]))


@dataclass(frozen=True)
class Entities:
    """What the question names, in folded form for matching and as typed for messages."""

    documents: tuple[str, ...] = ()  # "Nghị định 45/2024", "34-KL/TW" as typed (NFC)
    document_numbers: tuple[str, ...] = ()  # folded numbers: "45/2024", "34-kl/tw"
    places: tuple[str, ...] = ()  # "Quảng Nam"
    posts: tuple[str, ...] = ()  # folded post names
    levels: tuple[str, ...] = ()  # "tinh", "xa", "thon", "huyen", "trung-uong"
    bodies: tuple[str, ...] = ()  # folded election bodies: "ban bau cu", "uy ban bau cu"
    amounts: tuple[str, ...] = ()  # claimed figures as typed: "tối đa 5 chức danh", "30%"
    years: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) for k, v in self.__dict__.items() if v}


def has_word(folded: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", folded) is not None


def detect_levels(folded: str) -> tuple[str, ...]:
    f = re.sub(r"\bxa hoi\b|\bchinh tri - xa hoi\b|\bban bau cu\b|\bban cong tac\b|\bban tuyen giao\b|\bban chap hanh\b|"
               r"\bban bi thu\b|\bban thuong\b|\bban hanh\b|\bban dau\b|\bco ban\b|\bvan ban\b|\bban than\b|\bbang\b",
               " ", folded)
    found = []
    for level, cues in LEVELS.items():
        if any(has_word(f, c) for c in cues):
            found.append(level)
    if "thon" in found and not any(has_word(f, c) for c in ("thon", "to dan pho", "truong ap", "khu pho")):
        found.remove("thon")  # "chi bộ" alone does not make a question about the village
    return tuple(found)


def detect_entities(text: str) -> Entities:
    folded = fold(collapse_ws(nfc(text)))
    docs, numbers = [], []
    for m in _DOC_RE.finditer(folded):
        num = (m.group(2) or m.group(3) or "").strip("-/")
        if not num or (m.group(1) and not re.search(r"\d", num)):
            continue
        if m.group(1) and "/" not in num and "-" not in num and len(num) == 4 and num.startswith(("19", "20")):
            continue  # "luật 2025" is a year, not a number
        numbers.append(num)
        docs.append(collapse_ws(nfc(text))[m.start(): m.end()] if len(folded) == len(collapse_ws(nfc(text)))
                     else num)  # as typed, for messages
    places: list[str] = []
    for fp, p in _PROVINCE_FOLDED:
        if has_word(folded, fp) and not any(fp in fold(x) for x in places):
            places.append(p)
    for name in proper_names(text):
        if name not in places and not any(fold(name) in fold(x) or fold(x) in fold(name) for x in places):
            if not _DOC_RE.search(fold(name)):
                places.append(name)
    bodies = []
    rest = folded
    for fb in sorted(BODIES, key=len, reverse=True):
        if has_word(rest, fb):
            bodies.append(fb)
            rest = re.sub(rf"(?<![\w]){re.escape(fb)}(?![\w])", " ", rest)
    posts = tuple(p for p in POSTS if has_word(folded, p))
    typed = collapse_ws(nfc(text))
    same = len(typed) == len(folded)  # fold keeps one character per NFC character: map spans back

    def as_typed(m: re.Match[str]) -> str:
        return (typed[m.start(): m.end()] if same else m.group(0)).strip()

    amounts = [as_typed(m) for m in _PERCENT_RE.finditer(folded)]
    amounts += [as_typed(m) for m in _CLAIMED_NUMBER_RE.finditer(folded) if not _YEAR_RE.fullmatch(m.group(2))]
    years = tuple(sorted({int(y) for y in _YEAR_RE.findall(_DOC_RE.sub(" ", folded))}))
    return Entities(tuple(docs), tuple(numbers), tuple(places), posts, detect_levels(folded), tuple(bodies),
                    tuple(dict.fromkeys(amounts)), years)
