"""Question analysis, part 2: the things a question names (documents, places, posts, levels, bodies,
claimed figures, years), in folded form for matching and as typed for messages.

The entities are what the evidence must contain: a decree, province or amount the sources lack is
refused, not answered from whatever is nearby.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.lexicon import LEXICON
from assistant.text import collapse_ws, fold, mask_counts, nfc

# the vocabulary (assistant/lexicon/lexicon.yaml): level -> folded cue words (whole-word; "xã" inside "xã hội"
# is excluded below), the sources' words for a level (a follow-up typed without diacritics gets them),
# election bodies ("ban bầu cử" is also inside "ủy ban bầu cử": matched longest first), posts, document words
LEVELS: dict[str, tuple[str, ...]] = {lv.id: lv.cues for lv in LEXICON.levels}
LEVEL_WORDS = {lv.id: lv.phrase for lv in LEXICON.levels if lv.phrase}
BODIES: dict[str, str] = {b.folded: b.name for b in LEXICON.bodies}
POSTS = tuple(p.folded for p in LEXICON.posts)
_DOC_WORDS = tuple(w for w, _ in LEXICON.document_words)

_DOC_RE = re.compile(
    r"\b(" + "|".join(sorted(_DOC_WORDS, key=len, reverse=True)) + r")\s*(?:so\s*)?"
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

# how a question names a place: the provinces before and after the 2025 merger (lexicon.yaml)
PROVINCES = LEXICON.provinces
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


# one-syllable level cues that fold into an everyday word: "tính" (compute) and "tình" are not "tỉnh",
# "xa" (far) is not "xã", "quan" (official) is not "quận"; typed with diacritics, the letters decide
_AMBIGUOUS_CUES = {"tinh": "tỉnh", "xa": "xã", "quan": "quận"}


def _typed_levels(typed: str, folded: str, levels: tuple[str, ...]) -> tuple[str, ...]:
    """``levels`` less those whose only cue is an ambiguous syllable typed as another word.

    A question typed with diacritics says "tính thế nào" (how is it computed), not "tỉnh": reading the
    level from the folded text alone would send the answer to the provincial level. Without diacritics
    (or when spans cannot be mapped back) the folded reading stands.
    """
    if len(typed) != len(folded) or typed.lower() == folded:
        return levels
    low = typed.lower()
    keep = []
    for level in levels:
        cues = LEVELS[level]
        spans = [(m.start(), m.end(), c) for c in cues for m in re.finditer(rf"(?<!\w){re.escape(c)}(?!\w)", folded)]
        if spans and all(c in _AMBIGUOUS_CUES and low[a:b] != _AMBIGUOUS_CUES[c] for a, b, c in spans):
            continue
        keep.append(level)
    return tuple(keep)


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
    years = tuple(sorted({int(y) for y in _YEAR_RE.findall(_DOC_RE.sub(" ", mask_counts(folded)))}))
    levels = _typed_levels(typed, folded, detect_levels(folded))
    return Entities(tuple(docs), tuple(numbers), tuple(places), posts, levels, tuple(bodies),
                    tuple(dict.fromkeys(amounts)), years)
