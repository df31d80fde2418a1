"""How sentences name levels, election bodies and posts, read on folded text with whole words.

"thôn" is not "thông tư", "ấp" is not "áp dụng", "Ban bầu cử" is also inside "Ủy ban bầu cử", and
"bí thư" is inside "bí thư chi bộ": these rules tell a sentence about the asked level, body or post
from one that only shares its syllables.
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.answering.entities import POSTS
from assistant.answering.sentences import Candidate
from assistant.answering.turn import Turn
from assistant.lexicon import LEXICON
from assistant.text import fold

# how a sentence names a level (folded, whole words): "thôn" is not "thông tư", "ấp" is not "áp dụng"
LOCAL_LEVELS = LEXICON.local_levels  # ("tinh", "huyen", "xa", "thon")
_LEVEL_MENTION = {lv.id: re.compile(lv.mention) for lv in LEXICON.levels if lv.mention}
# the explicit "cấp …" forms only: a sentence that says "cấp xã" speaks of that level, not in passing
LEVEL_EXPLICIT = {lv.id: re.compile(lv.explicit) for lv in LEXICON.levels if lv.explicit}


def mentions_level(folded: str, level: str, explicit: bool = False) -> bool:
    rule = (LEVEL_EXPLICIT if explicit else _LEVEL_MENTION).get(level)
    return bool(rule and rule.search(folded))


def nearest_level(folded: str, at: int) -> str | None:
    """The level named closest to position ``at``: the one a verdict phrase there speaks of."""
    mentions = [(abs(m.start() - at), lv) for lv in LOCAL_LEVELS
                for m in LEVEL_EXPLICIT[lv].finditer(folded)]
    return min(mentions)[1] if mentions else None


# the thing asked about no longer exists ("không còn Ủy ban bầu cử … cấp huyện", "bỏ các tổ chức … cấp huyện");
# "bỏ cấp" folds like "(cán) bộ cấp": the verb only when no "cán" precedes it
_ABOLISHED_RE = re.compile(
    r"\b(khong con (uy ban|ban bau cu|to chuc|cap|co so|doi tuong|dung|su dung)|(?<!can )bo cac|(?<!can )bo cap|"
    r"thoi hoat dong|ket thuc hoat dong|ket thuc cap|chi con|cham dut viec|thoi su dung|ket thuc viec su dung)\b")


def says_gone(folded: str, level: str) -> bool:
    """An abolition word whose nearest level mention is ``level``: "chỉ chấm dứt việc dùng … ở cấp xã"
    says the commune lost something, not the village named earlier in the sentence."""
    return any(nearest_level(folded, g.start()) == level for g in _ABOLISHED_RE.finditer(folded))


def other_level_only(turn: Turn, c: Candidate) -> bool:
    """The candidate speaks only of another level than the asked one.

    A sentence's level is the one it names; a sentence that names none is read under its article's heading
    ("Điều 20. Phụ cấp kiêm nhiệm … của cán bộ, công chức cấp xã": its "50%" is a commune's rate, no answer
    for a village).
    """
    asked = [lv for lv in turn.entities.levels if lv in LOCAL_LEVELS]
    if not asked:
        return False
    mentions = {lv for lv in LOCAL_LEVELS if mentions_level(c.folded, lv, explicit=True)}
    if not mentions:
        head = fold(c.passage.heading)  # fold is cached
        mentions = {lv for lv in LOCAL_LEVELS if mentions_level(head, lv, explicit=True)}
    return bool(mentions) and not (mentions & set(asked))


# --- election bodies ------------------------------------------------------------------------------


def has_body(folded: str, body: str) -> bool:
    if body == "ban bau cu":
        return re.search(r"(?<!uy )ban bau cu", folded) is not None
    return body in folded


_BODY_PHRASE = re.compile(r"(uy ban bau cu|(?<!uy )ban bau cu|to bau cu)"
                          r"(?: (?:dai bieu |dbqh|dbhdnd)?(quoc hoi|hoi dong nhan dan|hdnd))?")


@lru_cache(maxsize=1024)
def bodies_named(folded: str) -> frozenset[tuple[str, str]]:
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
    asked = bodies_named(fold(turn.focus or turn.cleaned))
    if not asked and turn.focus is not None and strict:
        asked = bodies_named(turn.folded)  # a supporting line keeps to the conversation's body exactly
    elif not asked and turn.focus is not None:
        # a follow-up carries the body over, not what it was for: "Ban bầu cử ĐBQH …? — Còn cấp xã?"
        # asks about the commune's board, which exists only for the HĐND
        asked = frozenset((b, "") for b, _ in bodies_named(turn.folded))
    said = bodies_named(fold(c.passage.text[c.sent.start:c.sent.end]) if c.sent.start <= c.start else c.folded)
    if not asked or not said:
        return False
    return not any(b == ab and (not q or not aq or q == aq) for b, q in said for ab, aq in asked)


# --- posts ----------------------------------------------------------------------------------------


# synonyms compared as one post ("trưởng ấp" is "trưởng thôn"), and how answers name posts
_POST_CANON = tuple((form, canonical) for canonical, forms in LEXICON.synonyms for form in forms)
POST_NAMES = LEXICON.post_names


def canon_posts(folded: str) -> str:
    for short, full in _POST_CANON:
        folded = re.sub(rf"\b{short}\b", full, folded)
    return folded


# a post as sentences name it: the village head is "trưởng thôn", "trưởng ấp" or "tổ trưởng tổ dân phố"
_POST_FORMS = {p.folded: re.compile(rf"\b({'|'.join(p.forms)})\b") for p in LEXICON.posts if p.forms}
_GENERIC_POSTS = set(LEXICON.generic_posts("rules"))


@lru_cache(maxsize=64)
def post_rules(posts: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """How sentences name the posts that tell one rule from another ("bí thư chi bộ", not the
    "bí thư" inside it; "cán bộ" or "thành viên" alone tell nothing), one rule per post."""
    specific = [p for p in posts if p not in _GENERIC_POSTS and not any(p != q and p in q for q in posts)]
    rules = [_POST_FORMS.get(p) or re.compile(rf"\b{re.escape(p)}\b") for p in specific]
    return tuple({r.pattern: r for r in rules}.values())


def posts_named(text: str) -> list[tuple[int, int, str]]:
    """Each post ``text`` names, as (start of its last mention, length, post)."""
    return [(text.rfind(p), len(p), p) for p in POSTS if re.search(rf"\b{p}\b", text)]


def other_posts_only(question: str, quote: str) -> bool:
    """``quote`` (folded) names posts and none of them is one the folded ``question`` names: what it says is
    said of someone else (a rule for người hoạt động không chuyên trách does not answer a công chức's
    question, neither as a verdict nor as "that post is gone")."""
    asked = {p for _, _, p in posts_named(question)}
    said = {p for _, _, p in posts_named(quote)}
    return bool(asked and said) and not any(a == s or a.startswith(s) or s.startswith(a) or a in s or s in a
                                            for a in asked for s in said)
