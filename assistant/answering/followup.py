"""Question analysis, part 3: follow-ups ("Còn cấp xã thì sao?") made standalone from the conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.entities import LEVEL_WORDS, Entities, detect_entities, detect_levels
from assistant.answering.intent import detect_intent
from assistant.lexicon import LEXICON
from assistant.text import collapse_ws, fold, nfc, tokenize_folded

_FOLLOWUP_RE = re.compile(
    r"^(con|the con|vay|the|va|nhung|neu|truong hop|con truong hop|con doi voi|doi voi|o|voi|con o|vay con|"
    r"the thi|neu vay|luc do|khi do|tai|trong do|trong so do|rieng|so voi|con voi)\b|"
    r"(thi sao|the nao|ra sao|nhu the nao|thi the nao|nua khong|nua|cung vay|cung the|do|nay|kia|ay)\??$|"
    r"\b(truong hop (do|nay|tren)|nguoi (do|nay)|chuc danh (do|nay)|van ban (do|nay|tren)|dieu (do|nay)|"
    r"quy dinh (do|nay|tren)|cai (do|nay)|mo hinh (do|nay|tren)|nghi dinh (do|nay)|luc do|thoi diem do|no)\b"
)

FOLLOWUP_FILLER = {"con", "thi", "sao", "vay", "neu", "the", "nao", "nua", "va", "nhung", "truong", "hop", "do",
                    "nay", "ra", "khong", "co", "duoc"}

_QUESTION_WORDS = {"bao", "nhieu", "gi", "ai", "dau", "la", "may", "cua", "cho", "nhu", "khi", "luc", "mot", "cac",
                   "nhung", "phai", "can", "lam", "hay", "voi", "tai", "ve"}

_ANAPHOR_SUBJECT_RE = re.compile(
    r"\b(mo hinh|quy dinh|van ban|nghi dinh|truong hop|chuc danh|nguoi|dieu|cai|luat|thong tu|ket luan|khoan|muc|"
    r"khoan tien|khoan phu cap|che do|so lieu|con so)\s+"
    r"(nay|do|tren|ay|kia)\b"
)


def _user_turns(history: Sequence[tuple[str, str]]) -> list[str]:
    return [c for r, c in history if r == "user" and c.strip()]


def is_followup(question: str, history: Sequence[tuple[str, str]]) -> bool:
    if not _user_turns(history):
        return False
    fq = fold(question).strip(" ?.!")
    content = [t for t in tokenize_folded(question) if len(t) > 1]
    e = detect_entities(question)
    if (e.places or e.documents) and len(content) > 5 and not _ANAPHOR_SUBJECT_RE.search(fq):
        return False  # "Ở Bến Tre, cấp xã có bao nhiêu…" names its own subject, whatever its first word
    if asks_on_its_own(fq, e, content):
        return False  # "Nếu tôi là người ứng cử thì có được làm thành viên Tổ bầu cử không?" opens like one, is not
    m = _FOLLOWUP_RE.search(fq)
    own_subject = bool(e.posts or e.bodies or e.documents or e.places) and len(content) > 5
    if m is not None and m.start() > 0 and m.end() == len(fq) and own_subject:
        m = None  # "Phụ cấp kiêm nhiệm của công chức xã tính thế nào?" ends like a follow-up but has its subject
    if m is not None or _ANAPHOR_SUBJECT_RE.search(fq) or len(content) <= 4:
        return True
    # a short question with no subject of its own ("Kiêm 2, 3 nơi thì có được cộng dồn không?",
    # "cấp huyện chiếm bao nhiêu?") speaks of the conversation's subject, if it shares a word or a level with
    # it: "Lương tối thiểu vùng năm 2026 là bao nhiêu?" after a question on allowances is a new question
    # (read with the previous one it would pass the domain gate and get an answer from another field)
    if len(content) > 10 or e.posts or e.bodies or e.documents or e.places:
        return False
    own = {t for t in content if t not in FOLLOWUP_FILLER and t not in _QUESTION_WORDS and not t.isdigit()}
    if e.levels and len(content) >= 5 and fq.endswith("khong"):
        return False  # "Thôn, tổ dân phố có còn không?" names its level and asks a whole yes/no question
    if bool(e.levels) or len(own) <= 2:
        return True
    # syllables compared with their diacritics when the question has them: "thủ tục" is not "bí thư"
    plain = fold(question) == question.lower()
    mine = own if plain else {w for w in re.findall(r"\w+", question.lower()) if fold(w) in own}
    said = {w for u in _user_turns(history)
            for w in (tokenize_folded(u) if plain else re.findall(r"\w+", u.lower()))}
    return bool(mine & said)


# posts that say nothing of whose they are ("thành viên" of which body?): alone, no subject of a question's own
GENERIC_POSTS = frozenset(LEXICON.generic_posts("rules"))


def asks_on_its_own(fq: str, e: Entities, content: Sequence[str]) -> bool:
    """A whole question about a subject it names itself is never merged with the previous one, whatever it
    opens with ("Vậy", "Còn", "Nếu", "Thế"): read with the conversation's subject it asks something else.

    Whole: its own intent (yes/no, how many, when, …) and at least four words of its own. Its subject: an
    election body, a document, a specific post ("bí thư chi bộ", "người ứng cử"), or a generic one with its
    level ("công chức cấp xã"). A subject pointed back at ("người đó", "quy định này") is the conversation's.
    """
    if _ANAPHOR_SUBJECT_RE.search(fq) or detect_intent(fq) == "other":
        return False
    specific = [p for p in e.posts if p not in GENERIC_POSTS]
    subject = bool(e.bodies or e.documents or specific or (e.posts and e.levels))
    own = [t for t in content if t not in FOLLOWUP_FILLER and t not in _QUESTION_WORDS and not t.isdigit()]
    return subject and len(own) >= 4


# at the village the posts are the party cell secretary and the village head (lexicon.yaml: village_equivalents)
_VILLAGE_POSTS = tuple(("|".join(forms), becomes) for forms, becomes in LEXICON.village_equivalents)

_LEVEL_PHRASE_RE = re.compile(
    r"(?<!\w)(cấp tỉnh|cấp huyện|cấp xã|cấp thôn|ở tỉnh|ở huyện|ở xã|ở thôn|thôn, tổ dân phố|tổ dân phố|ấp, khu phố|"
    r"khu phố|thôn|tỉnh|huyện|xã|cap tinh|cap huyen|cap xa|o tinh|o huyen|o xa|o thon|thon|tinh|huyen|xa)(?!\w)(?! hội)",
    re.IGNORECASE)


def _substitute_level(prev: str, followup: str, new_levels: tuple[str, ...]) -> str | None:
    """``prev`` with its level replaced by the follow-up's own words ("cấp tỉnh" -> "cấp xã")."""
    if len(new_levels) != 1:
        return None
    m_new = _LEVEL_PHRASE_RE.search(followup)
    if m_new is None or not _LEVEL_PHRASE_RE.search(prev) or not detect_levels(fold(prev)):
        return None
    target = m_new.group(0)
    if fold(target) == target.lower():  # typed without diacritics: use the sources' spelling
        target = LEVEL_WORDS.get(new_levels[0], target)
    if not target.lower().startswith(("cấp", "ở")) and new_levels[0] != "thon":
        target = f"cấp {target}"
    swapped = _LEVEL_PHRASE_RE.sub(target, prev)
    if new_levels[0] == "thon":
        # at the village the posts are the party cell secretary and the village head
        for a, b in _VILLAGE_POSTS:
            swapped = re.sub(a, b, swapped, flags=re.IGNORECASE)
    return collapse_ws(swapped)


def resolve_followup(question: str, history: Sequence[tuple[str, str]]) -> tuple[str, str | None]:
    """``(standalone question, focus)``: a follow-up is rebuilt from the conversation's subject.

    Earlier user turns are resolved first (a follow-up to a follow-up keeps the first subject).
    A follow-up that only swaps the level ("còn cấp xã thì sao?") becomes the previous question
    with that level; any other elliptical follow-up is read together with the previous question
    (its own words stay the focus for choosing sentences). ``focus`` is None for a standalone question.
    """
    question = collapse_ws(nfc(question))
    users = _user_turns(history)
    if not users or not is_followup(question, history):
        return question, None
    prev = collapse_ws(nfc(users[0]))
    for i in range(1, len(users)):  # the subject as the conversation has built it so far
        earlier = [("user", u) for u in users[:i]]
        prev = resolve_followup(users[i], earlier)[0] if is_followup(users[i], earlier) else collapse_ws(nfc(users[i]))
    fq = fold(question)
    own_intent = detect_intent(fq)
    new_levels = detect_levels(fq)
    content = [t for t in tokenize_folded(question) if len(t) > 1]
    if new_levels and own_intent in ("other", "amount") and len(content) <= 6:
        swapped = _substitute_level(prev, question, new_levels)
        if swapped is not None and swapped != prev:
            return swapped, question
    return f"{prev} {question}", question


def condense(question: str, history: Sequence[dict[str, str]] | None) -> tuple[str, str | None]:
    """Make a follow-up standalone: ``(query to search, focus words)`` (see :func:`resolve_followup`)."""
    hist = [(str(h.get("role", "")), str(h.get("content", ""))) for h in (history or [])]
    return resolve_followup(question, hist)
