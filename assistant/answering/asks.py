"""The question read as an *ask* inside a *situation*, and what the answer depends on.

People tell a story and ask last: who they are, where they work, what the district said, which
decree retired them, and then "vậy tôi có còn được … không?". The *ask* is the part that carries
the question: a clause with a question word (không?, chưa?, bao nhiêu, thế nào, ra sao, ai, nào,
gì, mấy, được không, có phải, bao giờ, bao lâu, ở đâu, đúng hay sai…); in a message with a
question mark only its questioning sentences can ask. The *situation* is the rest.

Why it matters:

* **What the answer depends on.** A place, a person, a local body or a background document that
  only the situation names does not change the national rule the asker needs: the answer is given,
  with one line naming what the sources lack. Only what the ask itself names can be a premise, and
  a place only when the ask wants a fact *about* it (a count, an amount, a date: "Tỉnh X có bao
  nhiêu…?"). A year is a period, never a premise; a figure with a unit of people ("dưới 2000 dân")
  is neither a year nor a claimed rule.
* **What to search for.** Retrieval ranks by the ask, with the situation's post, body, level and
  holder (who holds which post) added, so that the story's words do not pull in passages about them.

Names come from a lexicon (provinces, level words followed by a name, document numbers), never from
capitalised word pairs: "Chánh Văn phòng", "Phòng Nội vụ", "Bến Tre Năm" are not places.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.answering.entities import BODIES, LEVELS, POSTS, PROVINCES
from assistant.answering.messages import general_rule_note
from assistant.answering.turn import Turn
from assistant.lexicon import LEXICON
from assistant.text import collapse_ws, fold, has_diacritics, nfc, tokenize_folded

# question words, matched on the folded clause; "không" and "chưa" ask only at the end of a clause
# (inside it they negate: "tôi không còn kiêm"), optionally followed by a particle
_PARTICLES = r"(?:\s+(?:a|ah|vay|nhi|nhe|the|chu|ha|ko|khong|ban|a oi|day|roi))*"
_ASK_WORDS_RE = re.compile(
    r"\b(bao nhieu|bao gio|bao lau|the nao|ra sao|nhu nao|nhu the nao|ai|nao|gi|o dau|co phai|phai khong|"
    r"duoc khong|hay khong|hay chua|dung hay sai|dung khong|thi sao|vi sao|tai sao|lam sao|co the khong)\b"
)
_ASK_END_RE = re.compile(rf"\b(khong|chua|ko|k|hong|sao){_PARTICLES}\s*[?.!]*$")
# "mấy" asks; "máy"/"may" do not: with diacritics only the typed form decides
_MAY_RE = re.compile(r"(?<!\w)mấy(?!\w)")
_CLAUSE_SPLIT_RE = re.compile(r"[,;:]\s+|\s+[-–—]\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.?!…;])\s+|\n+")  # "…; vậy …?": a semicolon ends a statement too
# a clause that only says which text the ask is about ("Theo Nghị định 99/2024, …") belongs to the ask
_SOURCE_CLAUSE_RE = re.compile(r"^(theo|can cu|tai|trong|o)\s+(nghi dinh|luat|thong tu|quyet dinh|nghi quyet|"
                               r"ket luan|chi thi|quy dinh|van ban|nd|tt|qd|nq|kl)\b")
# a clause that continues the ask ("nếu được thì hưởng bao nhiêu") asks too; a list fragment
# before the ask ("Cán bộ, công chức cấp xã … bao nhiêu?") is part of it
LIST_FRAGMENT_WORDS = 3
# a situation shorter than this is not a story: the question is searched as typed
STORY_MIN_WORDS = 8
ELLIPTIC_ASK_WORDS = 3  # an ask with fewer own words ("Có được không?") is read with its situation


@dataclass(frozen=True)
class Clause:
    text: str
    sentence: int
    asks: bool


@dataclass(frozen=True)
class Reading:
    """The question split into the clauses that ask and the clauses that tell the situation."""

    clauses: tuple[Clause, ...]

    @property
    def ask(self) -> str:
        return collapse_ws(" ".join(c.text for c in self.clauses if c.asks))

    @property
    def situation(self) -> str:
        return collapse_ws(" ".join(c.text for c in self.clauses if not c.asks))

    @property
    def asks(self) -> tuple[str, ...]:
        """Each questioning sentence's asking clauses, in the order asked (several asks, several answers)."""
        out: dict[int, list[str]] = {}
        for c in self.clauses:
            if c.asks:
                out.setdefault(c.sentence, []).append(c.text)
        return tuple(collapse_ws(" ".join(v)) for v in out.values())

    @property
    def by_sentence(self) -> Reading:
        """The same reading with whole sentences: a sentence asks when any of its clauses does."""
        out: list[Clause] = []
        for c in self.clauses:
            if out and out[-1].sentence == c.sentence:
                out[-1] = Clause(f"{out[-1].text}, {c.text}", c.sentence, out[-1].asks or c.asks)
            else:
                out.append(c)
        return Reading(tuple(out))

    @property
    def is_story(self) -> bool:
        """The situation is long enough to pull a search off the ask, and the ask can stand alone."""
        return len(content_words(self.situation)) >= STORY_MIN_WORDS and len(own_words(self.ask)) >= ELLIPTIC_ASK_WORDS

    def in_ask(self, name: str) -> bool:
        """Whether the ask (not only the situation) names ``name`` (compared folded)."""
        return _contains(fold(self.ask), fold(name))


def content_words(text: str) -> list[str]:
    return [t for t in tokenize_folded(text) if len(t) > 1 and not t.isdigit()]


_FILLER = {"khong", "co", "duoc", "chua", "vay", "thi", "la", "ma", "nay", "do", "ay", "nhu", "the", "nao", "sao", "gi",
           "ai", "bao", "nhieu", "toi", "em", "minh", "cho", "hoi", "xin", "nua", "roi", "con"}


def own_words(text: str) -> list[str]:
    """The words of an ask that say what is asked: no question words, fillers or place names."""
    folded = fold(text)
    for place in place_names(text):
        folded = folded.replace(fold(place_name_only(place)), " ")
    return [t for t in content_words(folded) if t not in _FILLER]


def _contains(hay: str, needle: str) -> bool:
    """``needle`` occurs in ``hay`` as whole words (whitespace runs compared as one space)."""
    needle, hay = collapse_ws(needle), collapse_ws(hay)
    # the substring test first: a question is checked against every province of the lexicon
    return bool(needle) and needle in hay and _whole_words(needle).search(hay) is not None


@lru_cache(maxsize=4096)
def _whole_words(needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")


def clause_asks(clause: str) -> bool:
    """A clause carries a question: a question word, or "không?"/"chưa?" at its end."""
    f = collapse_ws(fold(clause)).strip()
    if _ASK_WORDS_RE.search(f) or _ASK_END_RE.search(f) or clause.rstrip().endswith("?"):
        return True
    return bool(_MAY_RE.search(clause.lower())) or (not has_diacritics(clause) and re.search(r"\bmay\s+(nguoi|thanh vien|"
                                                                                               r"chuc danh|lan|muc)\b", f)
                                                    is not None)


def read_question(text: str) -> Reading:
    """Split ``text`` into asking and telling clauses (see the module docstring).

    When some sentence ends with "?", only such sentences and the last one can ask ("…khong a? neu
    kiem thi phu cap tinh the nao" asks twice); when none does (typed without punctuation), any can. In an asking sentence with no question word, its last clause asks.
    A message where nothing asks is all ask: there is no story to set aside.
    """
    text = nfc(text).strip()
    sents = [s.strip() for s in _SENTENCE_END_RE.split(text) if s.strip()]
    marked = any(s.endswith("?") for s in sents)
    last = len(sents) - 1
    clauses: list[Clause] = []
    for i, sent in enumerate(sents):
        parts = [p for p in _CLAUSE_SPLIT_RE.split(sent) if p.strip()]
        can_ask = sent.endswith("?") or not marked or i == last
        flags = [can_ask and clause_asks(p) for p in parts]
        if sent.endswith("?") and not any(flags):
            flags[-1] = True
        for j in range(len(parts) - 1, -1, -1):
            if flags[j]:
                continue
            nxt = j + 1 < len(parts) and flags[j + 1]
            f = fold(parts[j]).strip()
            thin = nxt and len(own_words(" ".join(parts[j + 1:]))) < ELLIPTIC_ASK_WORDS
            if nxt and (thin or len(content_words(parts[j])) <= LIST_FRAGMENT_WORDS or _SOURCE_CLAUSE_RE.match(f)):
                # "Cán bộ, công chức … bao nhiêu?", "Theo Nghị định X, … bao nhiêu?", "… ở tỉnh ngoài Hà Nội,
                # TP HCM là bao nhiêu?": a list fragment, a source or a thin ask joins the clause before it
                flags[j] = True
        clauses += [Clause(p.strip(), i, a) for p, a in zip(parts, flags, strict=True)]
    if not any(c.asks for c in clauses):
        clauses = [Clause(c.text, c.sentence, True) for c in clauses]
    return Reading(tuple(clauses))


# --- names from the lexicon -----------------------------------------------------------------------
_PROVINCES_FOLDED = sorted(((fold(p), p) for p in PROVINCES), key=lambda x: -len(x[0]))
# a level word followed by a capitalised name is a place ("huyện An Biên", "xã Kiên Đài"); the level
# word is part of the name as the user wrote it
# the lexicon's words for a local level that, followed by a capitalised name, name a place ("huyện An
# Biên", "xã Kiên Đài"): its level cues, minus "cấp …", party committees and posts; and the city a province-level
# cue begins with ("thành phố …")
_PLACE_WORDS = tuple(sorted({" ".join(c.split()[:2]) if c.startswith("thanh pho") else c
                             for lv in LEXICON.levels if lv.local for c in lv.cues
                             if not c.startswith("cap ") and "uy" not in c.split() and "," not in c
                             and c not in POSTS and not any(c.startswith(p) for p in ("truong ", "chi bo"))},
                            key=len, reverse=True))
_PLACE_RE = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in _PLACE_WORDS) + r")\s+", re.IGNORECASE)
_NOT_NAME = {fold(w) for w in ("Tôi", "Em", "Anh", "Chị", "Ông", "Bà", "Nếu", "Khi", "Vậy", "Thì", "Và", "Có", "Được",
                                "Năm", "Theo", "Từ", "Sau", "Trước", "Nhưng", "Còn", "Cho", "Xin", "Hỏi", "Mình")}


def place_names(text: str) -> list[str]:
    """Places a question names, from the lexicon: provinces and cities, then a level word followed by a
    capitalised name ("huyện An Biên", "xã Kiên Đài"). Persons, offices and capitalised word pairs
    ("Chánh Văn phòng", "Phòng Nội vụ", "Bến Tre Năm") are not places."""
    typed = collapse_ws(nfc(text))
    folded = fold(typed)
    found: list[str] = []
    for fp, p in _PROVINCES_FOLDED:
        if _contains(folded, fp) and not any(fp in fold(x) for x in found):
            found.append(p)
    if len(folded) != len(typed):
        return found  # spans of the folded text would not map back to what was typed
    for m in _PLACE_RE.finditer(folded):
        words = []
        for raw in typed[m.end():].split()[:6]:
            word = raw.strip(".,;:!?()\"'“”")
            if not (word[:1].isupper() and word[1:2].islower()) or fold(word) in _NOT_NAME:
                break
            words.append(word)
            if word != raw:
                break  # a name ends at punctuation
        name = " ".join(words)
        if not name or _is_post_or_body(name) or any(fold(name) in fold(x) or fold(x) in fold(name) for x in found):
            continue
        found.append(f"{typed[m.start(1): m.end(1)].lower()} {name}")
    return found


def place_name_only(place: str) -> str:
    """``huyện An Biên`` -> ``An Biên``: what a source would write to mention the place."""
    head = next((w for w in _PLACE_WORDS if fold(place).lower().startswith(w + " ")), "")
    return place[len(head):].strip() if head else place


def _is_post_or_body(name: str) -> bool:
    f = fold(name)
    return any(f.startswith(p) for p in (*POSTS, *BODIES, "uy ban", "hoi dong", "dang uy", "ban ", "phong ", "so "))


# --- what the answer depends on -------------------------------------------------------------------
LOCAL_FACT_INTENTS = ("amount", "when", "list")
# the asker's own place ("Cử tri xã X", "tôi ở X", "(bà H., Lào Cai)") says who asks, not what is asked
_ASKER_RE = re.compile(r"\b(cu tri|toi|em|minh|ban doc|ban|ong|ba|anh|chi|nguoi dan|gia dinh toi|chung toi)"
                       r"(?:\s+(?:dang\s+)?(?:o|tai|song o|cong tac o|lam viec o))?"
                       r"(?:\s+(?:mot\s+)?(?:xa|phuong|thon)(?:\s+o)?)?\s*$")


def asker_place(text: str, place: str, others: Sequence[str] = ()) -> bool:
    """The place says where the asker is: right after a person ("Cử tri xã X", "tôi ở X"), after another
    such place ("Cử tri xã X, huyện Y") or in a parenthesis ("(bà N., Lào Cai)")."""
    folded = fold(collapse_ws(nfc(text)))
    fp = fold(place)
    for m in re.finditer(rf"(?<!\w){re.escape(fp)}(?!\w)", folded):
        before = folded[: m.start()].rstrip()
        for other in others:
            fo = fold(other)
            if fo != fp and re.search(rf"(?<!\w){re.escape(fo)}\s*[,(]?$", before):
                before = before[: before.rfind(fo)].rstrip() + " "
                break
        if _ASKER_RE.search(before) or before.count("(") > before.count(")"):
            return True
    return False


@dataclass(frozen=True)
class Reliance:
    """The named things of a question, split by whether the answer depends on them."""

    documents: tuple[str, ...] = ()  # documents the ask names (as typed): a missing one is refused
    places: tuple[str, ...] = ()  # places whose own facts the ask wants: a missing one is refused
    incidental_places: tuple[str, ...] = ()  # places of the situation, or of a rule question
    incidental_documents: tuple[str, ...] = ()  # background documents of the situation


def reliance(turn: Turn) -> Reliance:
    """Which of the turn's named documents and places the answer depends on.

    A document is depended on when the ask names it ("Nghị định 99/2024 quy định … bao nhiêu?",
    "Theo Nghị định X, …?"); one the situation names ("tôi nghỉ theo Nghị định 178") is background.
    A place is depended on only when the ask names it and wants a fact about it (an amount, a date,
    a list: "Tỉnh X có bao nhiêu …?"); in a rule question ("Ở X, bí thư có được kiêm … không?") or in
    the situation it is incidental: the national rule answers, and the answer says the sources have
    nothing specific to it.
    """
    text = turn.focus or turn.cleaned
    reading = read_question(text)
    docs = [d for d in turn.entities.documents]
    asked_docs = tuple(d for d in docs if reading.in_ask(d))
    places = place_names(text) if turn.focus is None else place_names(turn.cleaned)
    if turn.focus is not None and not places:
        places = place_names(turn.standalone)
    local = turn.intent in LOCAL_FACT_INTENTS
    asked_places = tuple(p for p in places if local and (reading.in_ask(p) or turn.focus is not None)
                         and not asker_place(text, p, places))
    return Reliance(asked_docs, asked_places, tuple(p for p in places if p not in asked_places),
                    tuple(d for d in docs if d not in asked_docs))


# --- what to search -----------------------------------------------------------------------------
_HOLDER_RE = re.compile(r"(?<!\w)(kiem nhiem|kiem|dong thoi la|dong thoi giu|vua la)(?!\w)")


def _typed_spans(typed: str, folded: str, phrases: Sequence[str]) -> list[str]:
    """The typed form of each folded phrase found in ``folded`` (fold keeps one char per NFC char)."""
    out = []
    for ph in phrases:
        m = re.search(rf"(?<!\w){re.escape(ph)}(?!\w)", folded)
        if m is not None:
            out.append(typed[m.start(): m.end()] if len(typed) == len(folded) else m.group(0))
    return out


def without_places(text: str, places: Sequence[str]) -> str:
    """``text`` without the mentions of ``places`` (with the level word or preposition before them)."""
    levels = "|".join(re.escape(w) for w in _PLACE_WORDS)
    text = nfc(text)
    for place in places:
        folded = fold(text)
        if len(folded) != len(text):
            continue  # spans would not map back; the place stays (it only weighs on the search)
        pattern = (rf"(?:\s*\b(?:o|tai|cua|thuoc)\s+)?(?:\b(?:mot\s+)?(?:{levels})\.?\s+)?"
                   rf"(?<!\w){re.escape(fold(place_name_only(place)))}(?!\w)")
        for m in reversed(list(re.finditer(pattern, folded, re.IGNORECASE))):
            text = text[: m.start()] + text[m.end():]
    return collapse_ws(re.sub(r"\s+([,.;:?!])", r"\1", text)).strip(" ,;")


def search_text(question: str, incidental: Sequence[str] = ()) -> tuple[str, str | None]:
    """``(query, focus)``: what to search for a question, and the words its sentences are scored on.

    The places the answer does not depend on (``incidental``, see ``reliance``) are left out: a province
    named in passing must not pull the search, or the field gate, towards passages about it. A question
    told as a story is searched by its ask, then the situation's posts, bodies, levels and holder words,
    with the ask as the focus; any other question as typed, with no focus.
    """
    question = without_places(question, incidental) if incidental else question
    reading = read_question(question).by_sentence  # a story is told in sentences; commas also list things
    if not reading.is_story:
        return question, None
    typed = reading.situation
    folded = fold(typed)
    for place in place_names(typed):  # "tỉnh Quảng Trị" names a place, not the level asked about
        folded = re.sub(rf"(?:\b(?:tinh|thanh pho|tp)\.?\s+)?{re.escape(fold(place))}", lambda m: " " * len(m.group(0)),
                        folded)
    ask_folded = fold(reading.ask)
    terms: list[str] = []
    posts = [p for p in sorted(POSTS, key=len, reverse=True) if _contains(folded, p)]
    posts = [p for p in posts if not any(p != q and p in q for q in posts)]
    terms += _typed_spans(typed, folded, [p for p in posts if not _contains(ask_folded, p)])
    terms += _typed_spans(typed, folded, [b for b in BODIES if _contains(folded, b) and not _contains(ask_folded, b)])
    for level, cues in LEVELS.items():
        if level == "trung-uong":
            continue
        found = _typed_spans(typed, folded, [c for c in cues if " " not in c and _contains(folded, c)][:1])
        if found and not any(_contains(ask_folded, c) for c in cues):
            word = found[0].lower()
            terms.append(word if word.startswith(("cấp", "cap")) else f"cấp {word}" if has_diacritics(typed)
                         else f"cap {word}")
    holder = _HOLDER_RE.search(folded)
    if holder is not None and not _HOLDER_RE.search(ask_folded):
        terms += _typed_spans(typed, folded, [holder.group(1)])
    query = collapse_ws(" ".join([reading.ask, *dict.fromkeys(terms)]))
    return query, reading.ask


# --- the line naming what the sources lack -----------------------------------------------------
_DOCUMENT_WORD_RE = re.compile(r"^(nghị định|luật|thông tư|quyết định|nghị quyết|kết luận|chỉ thị|quy định|nđ|tt|qđ|"
                               r"nq|kl)\b", re.IGNORECASE)


def incidental_note(answer: str, lacking: Sequence[str]) -> str:
    """``answer`` with one line, right under its opening line, naming what the story mentions and the sources
    lack: "(Nguồn không có quy định riêng của Quảng Trị; câu trả lời theo quy định chung.)". The opening line
    stays the answer (its verdict word and the rule), so the reader meets the rule first.
    """
    if not lacking:
        return answer
    places = [x for x in lacking if not _DOCUMENT_WORD_RE.match(x) and not re.search(r"\d", x)]
    note = general_rule_note(places, [x for x in lacking if x not in places])
    first, sep, rest = answer.partition("\n")
    return f"{first}\n{note}" + (f"\n{rest}" if sep else "")
