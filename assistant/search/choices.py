"""A multiple-choice question read with its options: they are part of what it asks.

"Hành vi nào sau đây bị cấm?" says little on its own; its options A–D say what the asker wants
checked, and the article that answers usually holds the right option's words (often the
distractors' too). So the options' own words are searched after the stem. An option that only
points at other options ("Cả A và B đều đúng", "Tất cả các phương án trên") names nothing to look
up and is left out. Options are matched on the folded text, so a question typed without diacritics
is read the same.

Measured and not kept (issue #22, ALQAC 2023 training halves): cutting a statement's verdict ask
("…, đúng hay sai?") and the pointer "nào sau đây" before the search left hybrid+rerank unchanged on
both halves once the options are read (MRR@10 0.942 dev, 0.961 held-out either way) while the
dense mode lost 0.024 recall@5 on the held-out half: the e5 encoder reads a framed statement as
well as the bare one, so the cut earned nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.text import collapse_ws, fold

# an option made only of these words (and option letters or counts) points at other options: "Cả A và B
# đều đúng", "Cả 3 đáp án A, B, C đều sai", "Tất cả các phương án trên", "Không có đáp án nào đúng". A
# word list rather than a pattern: folded, "cả" is also "cá" ("Cá nhân … đúng quy định" names a topic)
_OPTION_FRAMING_WORDS = frozenset(
    "ca tat cac dap an phuong lua chon y tren deu dung sai va hoac khong co nao hai ba bon truong hop neu ke".split())
_OPTION_VERDICT_WORDS = frozenset({"dung", "sai", "tren"})
_OPTION_LETTER_RE = re.compile(r"[a-d]|\d+")


def is_cross_option(option: str) -> bool:
    """Whether a multiple-choice option only points at other options ("Cả A và B đều đúng"): every word is
    an option letter, a count or a word of :data:`_OPTION_FRAMING_WORDS`, and one says right, wrong or above."""
    words = re.findall(r"\w+", fold(option))
    return (any(w in _OPTION_VERDICT_WORDS for w in words)
            and all(w in _OPTION_FRAMING_WORDS or _OPTION_LETTER_RE.fullmatch(w) for w in words))


def with_choices(question: str, choices: Mapping[str, str] | None) -> str:
    """A multiple-choice question read with its options: the stem, then each option's own words.

    Options that only point at other options are left out; the stem keeps its order first, so the
    dense encoder and the sentence rerank still read the ask before the options.
    """
    if not choices:
        return question
    own = [collapse_ws(str(v)).rstrip(" .;") for _, v in sorted(choices.items()) if str(v).strip()]
    own = [o for o in own if o and not is_cross_option(o)]
    if not own:
        return question
    return f"{collapse_ws(question)} " + "; ".join(own) + "."
