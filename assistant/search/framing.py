"""What a question is about, without the words that only say how it wants to be answered.

Two shapes of question carry framing words that name no topic (issue #22):

* **A statement put up for a verdict**: "<statement>, đúng hay sai?", "<statement> là đúng hay
  sai?", "Đúng hay sai: <statement>". The statement is what must be looked up; "đúng" and "sai"
  are not its topic, yet as search words they pull in every article about "sai sự thật",
  "đúng thẩm quyền" and weaken the statement's own words in the coverage score.
* **A multiple-choice ask**: "Hành vi nào sau đây bị cấm?" with options A–D. The options are part
  of what is asked (the article that answers usually holds the right option's words, and often the
  distractors' too), while an option that only points at other options ("Cả A và B đều đúng",
  "Tất cả các phương án trên") and the pointer "sau đây" / "dưới đây" carry nothing to look up.

So retrieval ranks by what the statement asserts and by the options' own words. Every pattern is
matched on the folded text (typed with or without diacritics alike) and cut out of the text as
typed, so the statement keeps its diacritics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.text import collapse_ws, fold

# "…, đúng hay sai?", "… là đúng hay sai", "…. Đúng hay sai?", "… đúng hay không đúng?"
_VERDICT_TAIL_RE = re.compile(
    r"[\s,.;:\-–—]*(?:\b(?:la|thi)\s+)?\b(?:dung hay sai|sai hay dung|dung hay khong dung|dung hoac sai)"
    r"\s*[?.!]*\s*$"
)
# "Đúng hay sai: …", "Đúng/Sai? …", "Nhận định sau đúng hay sai: …"
_VERDICT_HEAD_RE = re.compile(
    r"^\s*(?:(?:nhan dinh|menh de|cau)\s+(?:sau|sau day)\s+)?(?:dung hay sai|dung\s*/\s*sai|sai hay dung)"
    r"\s*[?:.,\-–—]+\s*"
)
# "nào sau đây", "nào dưới đây", "nêu trên": a pointer at the options, not a topic
_POINTER_RE = re.compile(r"\b(?:sau day|duoi day|ke tren|neu tren|o tren)\b")
# an option that only refers to other options: "Cả A và B đều đúng", "Cả 3 đáp án A, B, C đều sai",
# "Tất cả các phương án trên", "A và C đúng", "Không có đáp án nào đúng"
_CROSS_OPTION_RE = re.compile(
    r"^(?:(?:ca|tat ca)\b.*\b(?:dung|sai|tren)\b"
    r"|(?:[a-d]\s*(?:,|va|hoac)\s*)+[a-d]\s+(?:deu\s+)?(?:dung|sai)\b"
    r"|khong\s+(?:co\s+)?(?:dap an|phuong an|lua chon|y)\s+nao\b.*)"
    r"[\s.!]*$"
)
# a statement this short after its framing is cut would lose its sense: keep the text as typed
MIN_TOPIC_WORDS = 2


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for a, b in sorted(spans):
        out.append(text[pos:a])
        out.append(" ")
        pos = max(pos, b)
    out.append(text[pos:])
    return re.sub(r"\s+([?.,;:!])", r"\1", collapse_ws("".join(out))).strip(" ,;:-–—")


def question_topic(question: str) -> str:
    """``question`` without its verdict ask and option pointers, as typed otherwise.

    "Trọng tài viên có quyền từ chối giải quyết tranh chấp, đúng hay sai?" -> "Trọng tài viên có
    quyền từ chối giải quyết tranh chấp". A question with no such framing comes back unchanged
    (whitespace aside), and so does one whose remaining topic would be under
    :data:`MIN_TOPIC_WORDS` words.
    """
    text = collapse_ws(question)
    folded = fold(text)
    if len(folded) != len(text):  # a character whose lower case changes length: offsets would not map
        return text
    spans: list[tuple[int, int]] = []
    for rx in (_VERDICT_TAIL_RE, _VERDICT_HEAD_RE):
        m = rx.search(folded)
        if m and m.end() > m.start():
            spans.append((m.start(), m.end()))
    spans += [(m.start(), m.end()) for m in _POINTER_RE.finditer(folded)]
    if not spans:
        return text
    topic = _cut(text, spans)
    if len(topic.split()) < MIN_TOPIC_WORDS:
        return text
    return topic


def is_cross_option(option: str) -> bool:
    """Whether a multiple-choice option only points at other options ("Cả A và B đều đúng")."""
    return bool(_CROSS_OPTION_RE.match(fold(collapse_ws(option)).strip()))


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
