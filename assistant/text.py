"""Vietnamese text helpers: pure functions, no I/O, shared by ingestion and retrieval.

Users type with or without diacritics, with old or new tone placement (``hoà``/``hòa``) and
with administrative abbreviations (``UBND``). Everything that compares text goes through
these functions so that indexing and querying agree.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from assistant.lexicon import LEXICON

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
# old-style tone placement on open "oa", "oe", "uy" (hoà, khoẻ, thuỷ) -> new style (hòa, khỏe, thủy)
_OLD_TONE_RE = re.compile(
    r"(?<![qQ])([oO])([aeAE])([" + _TONES + r"])(?![\w\u0300-\u036f])"
    r"|(?<![qQ])([uU])([yY])([" + _TONES + r"])(?![\w\u0300-\u036f])"
)


def strip_controls(text: str) -> str:
    """Drop control and zero-width characters (keeps tab and newline)."""
    return _CONTROL_RE.sub("", text)


def _new_tone_style(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + match.group(3) + match.group(2)
    return match.group(4) + match.group(6) + match.group(5)


def nfc(text: str) -> str:
    """NFC-normalise, strip control characters and unify tone placement (idempotent)."""
    text = strip_controls(text)
    decomposed = unicodedata.normalize("NFD", text)
    decomposed = _OLD_TONE_RE.sub(_new_tone_style, decomposed)
    return unicodedata.normalize("NFC", decomposed)


# invisible characters that are not format characters (Cf): Hangul fillers (Lo), the Braille blank (So), the
# combining grapheme joiner, Mongolian and standard variation selectors and Khmer inherent vowels (Mn)
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f"
                       + "".join(chr(c) for c in range(0xFE00, 0xFE10)))


def clean_input(text: str) -> str:
    """User input: every format character (Unicode Cf: bidi overrides U+202E/U+2066, soft hyphen, zero-width)
    and every other invisible one (Hangul fillers, Braille blank, variation selectors) removed, then
    :func:`nfc`, so what is searched, echoed, stored and shown reads as it was typed."""
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" and ch not in _INVISIBLE)
    return nfc(text)


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a UTF-16 surrogate (``"\\ud800"`` in JSON): such text cannot be encoded."""
    return not text.isascii() and any("\ud800" <= ch <= "\udfff" for ch in text)


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower-case and remove every diacritic (``Thành viên`` -> ``thanh vien``, ``đ`` -> ``d``).

    Cached: answering one question folds the same passage and sentence texts hundreds of times."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", text.replace("đ", "d"))


def has_diacritics(text: str) -> bool:
    return fold(text) != text.lower()


_TOKEN_RE = re.compile(r"\d+(?:[.,/]\d+)*|[^\W\d_]+\d*|\d+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased syllable tokens; numbers keep their separators (``1.017``, ``85/2015``)."""
    return _TOKEN_RE.findall(nfc(text).lower())


def tokenize_folded(text: str) -> list[str]:
    """Syllable tokens without diacritics, for matching queries typed without them."""
    return _TOKEN_RE.findall(fold(nfc(text)))


@lru_cache(maxsize=1 << 15)
def token_set(text: str, folded: bool = False) -> frozenset[str]:
    """The distinct tokens of ``text`` (folded or not), cached: the rerank's coverage reads the same
    passages and sentences for every candidate of every question."""
    return frozenset(tokenize_folded(text) if folded else tokenize(text))


# Abbreviation -> expansion (assistant/lexicon/lexicon.yaml). Matched as whole words, not inside document
# numbers (34-KL/TW).
ABBREVIATIONS: dict[str, str] = LEXICON.abbreviations
_FOLDED_ABBR = {fold(k).upper(): v for k, v in ABBREVIATIONS.items()}
_ABBR_RE = re.compile(
    r"(?<![\w/.-])(" + "|".join(sorted({re.escape(k) for k in [*ABBREVIATIONS, *_FOLDED_ABBR]}, key=len, reverse=True)) + r")(?![\w/-])",
    re.IGNORECASE,
)


def expand_abbreviations(text: str) -> str:
    """Append the expansion after each known abbreviation: ``UBND xã`` -> ``UBND (Ủy ban nhân dân) xã``.

    Keeping the abbreviation itself preserves exact matches; the expansion gives both BM25 and
    the embedding model the words the sources actually use. Lower-case two-letter forms
    (``tw``, ``kl``, ``nq``) are only expanded when typed in upper case, to avoid false hits.
    """

    def repl(match: re.Match[str]) -> str:
        word = match.group(1)
        key = word.upper()
        if len(word) <= 3 and word != key:
            return word
        expansion = ABBREVIATIONS.get(key) or _FOLDED_ABBR.get(fold(key).upper())
        return f"{word} ({expansion})" if expansion else word

    return _ABBR_RE.sub(repl, text)


def normalize_query(text: str) -> str:
    """Everything a user question goes through before retrieval."""
    text = nfc(text)
    text = re.sub(r"\s+", " ", text).strip()
    return expand_abbreviations(text)


_SENT_BOUNDARY_RE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“(\[]?[A-ZÀ-Ỹ0-9Đ])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` into ``text``: lines first, then sentence punctuation.

    Spans exclude surrounding whitespace, so ``text[s:e]`` is a verbatim, quotable sentence.
    Numbers such as ``1.017`` and list markers such as ``1.`` do not end a sentence.
    """
    return list(_sentence_spans(text))


_LIST_MARKER_RE = re.compile(r"\s*(\d+|[a-zđ])[.)]?\s*")


@lru_cache(maxsize=1 << 13)
def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Cached: every answer splits the same top passages again (quotes, spans, screening)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        start = 0
        pieces: list[tuple[int, int]] = []
        for m in _SENT_BOUNDARY_RE.finditer(line):
            candidate = line[start : m.start()]
            # "1." / "a)" list markers and very short heads are not sentences on their own
            if _LIST_MARKER_RE.fullmatch(candidate):
                continue
            pieces.append((start, m.start()))
            start = m.end()
        pieces.append((start, len(line)))
        for s, e in pieces:
            seg = line[s:e]
            stripped = seg.strip()
            if not stripped:
                continue
            lead = len(seg) - len(seg.lstrip())
            spans.append((line_start + s + lead, line_start + s + lead + len(stripped)))
    return tuple(spans)


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


_WS_RE = re.compile(r"\s+")


@lru_cache(maxsize=1 << 15)
def collapse_ws(text: str) -> str:
    """Runs of whitespace to one space, ends stripped. Cached: matching reads the same passage and
    question texts many times per answer."""
    return _WS_RE.sub(" ", text).strip()


# a number that counts people, households or money is not a year: "thôn dưới 2000 dân", "2025 cử tri"
_COUNT_RE = re.compile(
    r"(?<![\w/.,])(?:(?<=dưới )|(?<=duoi )|(?<=trên )|(?<=tren )|(?<=hơn )|(?<=hon )|(?<=khoảng )|(?<=khoang )|"
    r"(?<=gần )|(?<=gan )|(?<=quá )|(?<=qua ))?(\d{4})(?=\s+(?:dân|dan|người|nguoi|hộ|ho|cử tri|cu tri|nhân khẩu|"
    r"nhan khau|thành viên|thanh vien|đồng|dong|phiếu|phieu|km|ha)\b)|"
    r"(?:(?<=dưới )|(?<=duoi )|(?<=trên )|(?<=tren )|(?<=hơn )|(?<=hon )|(?<=khoảng )|(?<=khoang )|(?<=gần )|"
    r"(?<=gan ))(\d{4})(?![\w/])", re.IGNORECASE)


def mask_counts(text: str) -> str:
    """``text`` with the digits of counts ("dưới 2000 dân", "khoảng 2000") turned to zeros.

    Why: a four-digit count reads as a year to every year pattern, and a year sets the period
    the answer speaks for; "thôn dưới 2000 dân" asks about a village, not about the year 2000.
    Lengths are kept, so spans found in the masked text index the original.
    """
    return _COUNT_RE.sub(lambda m: "0" * len(m.group(0)), text)


# document numbers as sources write them: 33/2023/NĐ-CP, 83/2025/QH15, 34-KL/TW, 580/2018/UBTVQH14
DOCNUM_RE = re.compile(r"\b\d{1,4}/\d{4}/[A-ZĐa-zđ]{2,8}(?:-[A-ZĐa-zđ]{1,6})?\d*|\b\d{1,4}-[A-ZĐ]{2,3}/[A-ZĐ]{2,4}\b|"
                       r"\b\d{1,4}/\d{4}\b")


def corpus_numbers(document_numbers: Iterable[str], passages: Iterable[tuple[str, str]]) -> list[str]:
    """Every document number the sources hold or mention, sorted: the documents' own numbers, and in each
    passage ``(text, amended_by)`` the numbers its text quotes (a note may quote a decree it is not) and the
    comma-separated numbers that amend it. Per generation, not per question: ~80 s over 144,485 passages, so
    it is persisted with the generation's passage folder."""
    found = set(document_numbers)
    for text, amended_by in passages:
        found.update(m.group(0) for m in DOCNUM_RE.finditer(text))
        found.update(x.strip() for x in amended_by.split(",") if x.strip())
    return sorted(n for n in found if n)


class DiacriticRestorer:
    """Put the diacritics back on a query typed without them, using the corpus's own spelling.

    ``thanh vien ban bau cu`` is ambiguous syllable by syllable (``ban``/``bàn``/``bán``), but not
    in context: a Viterbi pass over corpus bigram counts picks ``thành viên ban bầu cử``. Then
    an unaccented question is searched exactly like its accented twin, dense search included.
    Syllables the corpus never writes stay as typed.
    """

    def __init__(self, unigrams: dict[str, dict[str, int]], bigrams: dict[tuple[str, str], int]) -> None:
        self.unigrams = unigrams
        self.bigrams = bigrams

    # Everyday words that questions use more than legal texts do: seeded so "thi sao" -> "thì sao"
    SEED = ("thì sao thế nào không có được là gì nào bao nhiêu người tôi mình vậy nữa còn của và ở ai "
            "đâu khi nếu với cho phải hay hoặc mấy những các một này đó làm bị đã đang sẽ cần muốn")

    @classmethod
    def from_texts(cls, texts: list[str]) -> DiacriticRestorer:
        unigrams: dict[str, dict[str, int]] = {}
        bigrams: dict[tuple[str, str], int] = {}
        for tok in tokenize(cls.SEED):
            unigrams.setdefault(fold(tok), {})[tok] = 50
        for text in texts:
            prev = ""
            for tok in tokenize(text):
                forms = unigrams.setdefault(fold(tok), {})
                forms[tok] = forms.get(tok, 0) + 1
                if prev:
                    bigrams[(prev, tok)] = bigrams.get((prev, tok), 0) + 1
                prev = tok
        return cls(unigrams, bigrams)

    def restore(self, text: str) -> str:
        if has_diacritics(text):
            return text
        matches = list(_TOKEN_RE.finditer(text.lower()))
        if not matches:
            return text

        cands = [list(self.unigrams.get(m.group(0), {m.group(0): 0}).items()) for m in matches]
        # Viterbi: best[i][form] = (score, back-pointer)
        best: list[dict[str, tuple[float, str]]] = [
            {f: (math.log1p(c), "") for f, c in cands[0]}
        ]
        for i in range(1, len(cands)):
            layer: dict[str, tuple[float, str]] = {}
            for form, count in cands[i]:
                uni = math.log1p(count)
                score, back = max(
                    ((s + 2.0 * math.log1p(self.bigrams.get((p, form), 0)) + uni, p) for p, (s, _) in best[-1].items()),
                    key=lambda x: x[0],
                )
                layer[form] = (score, back)
            best.append(layer)
        form = max(best[-1].items(), key=lambda kv: kv[1][0])[0]
        chosen = [form]
        for i in range(len(best) - 1, 0, -1):
            form = best[i][form][1]
            chosen.append(form)
        chosen.reverse()
        out, pos = [], 0
        for m, form in zip(matches, chosen, strict=True):
            out.append(text[pos : m.start()])
            original = text[m.start() : m.end()]
            out.append(form.upper() if original.isupper() and len(original) > 1 else
                       form.capitalize() if original[:1].isupper() else form)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)
