"""A statement put up for a verdict ("<statement>, đúng hay sai?") is checked against one rule.

Why: a statement asserts one rule, and the article that holds it says it in a sentence or two. The
rerank's coverage term (the share of the question's informative words a passage contains) rewards a
long article that collects the statement's words across unrelated clauses over the short one that
states the rule. For this shape the coverage term is read from the passage's best-covering sentence
(with its article heading) instead of the whole passage. A question that asks for a list or a whole
provision ("Chức năng của … là gì?") keeps the passage-wide term: its answer is the whole article.

The shape is recognised by its verdict ask only ("…, đúng hay sai?", "… là đúng hay sai", "Đúng hay sai:
…"), matched on the folded text so a question typed without diacritics is read the same. Citizens ask
"có được … không?", which keeps the passage-wide term, so the assistant's own questions are untouched.
"""

from __future__ import annotations

import re

from assistant.text import collapse_ws, fold

# "…, đúng hay sai?", "… là đúng hay sai", "…. Đúng hay sai?", "… đúng hay không đúng?"
_VERDICT_TAIL_RE = re.compile(
    r"\b(?:dung hay sai|sai hay dung|dung hay khong dung|dung hoac sai)\s*[?.!]*$"
)
# "Đúng hay sai: …", "Đúng/Sai? …", "Nhận định sau đúng hay sai: …"
_VERDICT_HEAD_RE = re.compile(
    r"^(?:(?:nhan dinh|menh de|cau)\s+(?:sau|sau day)\s+)?(?:dung hay sai|dung\s*/\s*sai|sai hay dung)\s*[?:.,\-–—]"
)
# the statement itself must say something: "Đúng hay sai?" alone is not a statement
MIN_STATEMENT_WORDS = 4


def is_statement_check(question: str) -> bool:
    """Whether ``question`` puts a statement up for a verdict (see the module docstring)."""
    folded = fold(collapse_ws(question))
    m = _VERDICT_TAIL_RE.search(folded) or _VERDICT_HEAD_RE.match(folded)
    if m is None:
        return False
    rest = folded[: m.start()] + " " + folded[m.end():]
    return len(re.findall(r"\w+", rest)) >= MIN_STATEMENT_WORDS
