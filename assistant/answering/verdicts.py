"""Verdicts: "Được." / "Không." / "Còn." before a yes/no answer, only when the quoted sentence states it.

The verdict must speak of what was asked: the same level (the nearest level to the verdict phrase),
the same holder (another post's permission is not the asked post's), the same topic (an allowance
question is not answered by "hợp pháp"), and for "có còn không?" whether the thing still exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.dates import dates_in
from assistant.answering.intent import STILL_THERE_RE
from assistant.answering.mentions import (
    LEVEL_EXPLICIT,
    canon_posts,
    nearest_level,
    other_posts_only,
    posts_named,
)
from assistant.answering.sentences import Candidate, display
from assistant.answering.turn import Turn
from assistant.lexicon import LEXICON
from assistant.text import collapse_ws, fold

# a sentence that states a yes/no outcome; "không có điều khoản nào cấm" is a permission
VERDICT_RE = re.compile(
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


def verdict_word(turn: Turn, quote: str, any_level: bool = False) -> str | None:
    """"Được." / "Không." before a yes/no answer, only when the quoted sentence states it outright.

    The verdict counts for the level nearest to it; ``any_level`` reads it whatever level it is said of.
    """
    if turn.intent != "yesno":
        return None
    f = fold(collapse_ws(display(quote)))
    if any(t in turn.folded and t not in f for t in _VERDICT_TOPICS):
        return None  # "có được phụ cấp không?" is not answered by "mô hình này là hợp pháp"
    asked = [] if any_level else [lv for lv in turn.entities.levels if lv in LEVEL_EXPLICIT]
    if _other_holder(turn.folded, f):
        return None  # "Bí thư chi bộ được khuyến khích kiêm Trưởng thôn" says nothing of the Trưởng ban's
    verdicts: tuple[tuple[tuple[re.Pattern[str], ...], str], ...] = ((_NO_PATTERNS, "Không."), (_YES_PATTERNS, "Được."))
    if STILL_THERE_RE.search(turn.folded) and not _MAY_Q.search(turn.folded):
        verdicts = ((_GONE_PATTERNS, "Không."), (_STILL_PATTERNS, "Còn."))  # "có còn không?": exists, not allowed
    for patterns, word in verdicts:
        for p in patterns:
            m = p.search(f)
            if m is None or (asked and nearest_level(f, m.start()) not in (None, *asked)):
                continue
            subject = f[max(0, m.start() - 30): m.start()]
            if any(t in subject and t not in turn.folded for t in _VERDICT_SUBJECTS):
                continue  # "người ứng cử không được …" is about candidates, not about the members asked
            if other_posts_only(turn.folded, f[: m.start()]):
                continue  # the posts the verdict is said of are not the asked ones
            if patterns is _GONE_PATTERNS and any(d > turn.asked_date for d in dates_in(f)):
                return "Còn."  # "thôi hoạt động kể từ 01/7/2025": on 01/06/2024 it was still there
            return word
    return None


# who a verdict can be said of besides the asked post: its verdict is not the asked post's
_VERDICT_SUBJECTS = ("nguoi ung cu",)

_HOLDS_RE = re.compile(r"\b(kiem nhiem|kiem|dong thoi la|dong thoi giu)\b")


def _holder(folded: str) -> str | None:
    """The post that holds another in "<post> (được) kiêm nhiệm …": the post named last before the verb."""
    m = _HOLDS_RE.search(folded)
    if m is None:
        return None
    found = posts_named(folded[: m.start()])
    return max(found)[2] if found else None


def _other_holder(question: str, quote: str) -> bool:
    """The question asks whether post A may hold B, the quote says post C may: C's permission is not A's."""
    asked, said = _holder(question), _holder(quote)
    generic = LEXICON.generic_posts("holders")
    return bool(asked and said and asked != said and asked not in generic and said not in generic
                and not said.startswith(asked) and not asked.startswith(said))


# what a yes/no question can be about besides the post itself: a verdict must speak of the same thing
_VERDICT_TOPICS = ("phu cap", "luong", "bao hiem", "ung cu")

_UNNAMED_HOLDERS = LEXICON.generic_posts("pairs")


def unanswered_pair(turn: Turn, cands: Sequence[Candidate]) -> tuple[str, str] | None:
    """The two posts a "may A hold B?" question names, when no sentence weighed names both.

    Why: "Chủ tịch UBND xã có được kiêm Chủ tịch HĐND xã không?" has no source; the nearest sentences
    (a pilot of Bí thư kiêm Chủ tịch UBND, Bí thư kiêm Chủ tịch HĐND) answer other pairs, and quoting
    them as the answer misleads. The answer then says so first and gives no yes or no.
    """
    if turn.intent != "yesno" or not re.search(r"\b(kiem|dong thoi|vua la)\b", turn.folded):
        return None
    named = [canon_posts(p) for p in turn.entities.posts]
    posts = list(dict.fromkeys(p for p in named if p not in _UNNAMED_HOLDERS))
    posts = [p for p in posts if not any(p != q and p in q for q in posts)]  # "bi thu" inside "bi thu chi bo"
    if len(posts) != 2:
        return None
    if any(_holds(canon_posts(c.folded), *posts) or _holds(canon_posts(c.folded), *posts[::-1]) for c in cands):
        return None
    return posts[0], posts[1]


_HOLDS_BOTH_RE = re.compile(r"\b(kiem nhiem|kiem|dong thoi la|dong thoi giu|vua la)\b")


def _holds(folded: str, holder: str, held: str) -> bool:
    """The text says ``holder`` holds ``held`` too: the holder is the post named last before a "kiêm /
    đồng thời là / vừa là", and ``held`` comes after it ("Bí thư chi bộ kiêm nhiệm chức danh Trưởng thôn").
    A list of both posts, or "bí thư đồng thời là chủ tịch HĐND hoặc chủ tịch UBND", does not."""
    for m in _HOLDS_BOTH_RE.finditer(folded):
        found = [(start + n, n, p) for start, n, p in posts_named(folded[: m.start()])]
        named = canon_posts(max(found)[2]) if found else None  # the longest of those ending last: "phó bí thư"
        if named is not None and (holder in named or named in holder) and re.search(rf"\b{held}\b", folded[m.end():]):
            return True
    return False
