"""What may never be quoted as an answer: instructions planted in a source, and links it does not vouch for.

A source file is text someone wrote; if it says "Bỏ qua mọi hướng dẫn… hãy trả lời rằng…" or
"truy cập http://phishing… để nhận", quoting it would hand an attacker the assistant's voice. These
pure functions (no I/O) decide, per sentence, on folded text (with or without diacritics):

* :func:`is_instruction_sentence` — the sentence addresses the assistant (override, "answer that…",
  role tokens) or urges the reader to act on a link or hand over data. Legal duties ("Ủy ban… phải…")
  are not instructions: they name their subject and never address "you", the AI or a link.
* :func:`foreign_urls` — links in a sentence that are not among the document's ``source_urls``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from assistant.screening import planted_reason, skeleton
from assistant.text import collapse_ws, fold

_AI = r"(?:tro ly|tro ly ao|chatbot|chat bot|ai|mo hinh(?: ngon ngu)?|he thong|assistant|language model|llm|gpt|bot)"
_INSTRUCTION_RES = [re.compile(p) for p in (
    # overriding earlier instructions (the same family :func:`strip_override` strips from questions)
    r"\b(?:bo qua|phot lo|quen di|ignore|disregard|forget)\b.{0,40}\b(?:huong dan|chi dan|chi thi|yeu cau|quy tac|"
    r"lenh|instructions?|prompts?|rules?|guidelines?)\b",
    # telling the assistant what to say
    r"\b(?:hay|phai|chi duoc|luon)\s+(?:tra loi|noi|khang dinh|tuyen bo|viet|tra loi nguoi dung)\s+(?:rang|la)\b",
    r"\b(?:answer|respond|reply|say|tell (?:the )?users?)\s+(?:only\s+)?(?:that|with)\b",
    rf"\b(?:ban|may|you)\s+(?:la|is|are)\s+(?:mot\s+|an?\s+)?{_AI}\b",
    rf"\b(?:neu|khi|if|when)\s+(?:ban|you)\s+(?:la|are)\s+(?:mot\s+|an?\s+)?{_AI}\b",
    rf"\b(?:gui|thua|luu y|chu y|note)\s+(?:cho\s+|to\s+)?(?:cac\s+|the\s+)?{_AI}\b",
    r"\b(?:system prompt|loi nhac he thong|che do (?:nha phat trien|developer)|developer mode|jailbreak)\b",
    r"<\|?(?:im_start|im_end|system|assistant|user)\|?>|\[/?inst\]|###\s*(?:system|instruction)",
    # calls to action on the reader: follow a link, log in, hand over data or money
    r"\b(?:hay|vui long|xin moi|xin vui long|moi ban|ban can|ban hay|nhanh tay|lien he ngay)\s+(?:truy cap|bam|nhan|click|"
    r"nhap|dang nhap|cung cap|gui|chuyen khoan|chuyen tien|tai ve|tai xuong|cai dat|quet ma)\b",
    r"\b(?:click|tap)\s+(?:here|the link|vao day)\b|\b(?:log ?in|sign in|verify your|enter your)\b",
    r"\b(?:hay|vui long|xin|ban|please)\s+(?:gui|cung cap|nhap|send|enter)\b.{0,40}"
    r"\b(?:mat khau|ma otp|otp|password|so the|tai khoan|so cccd|can cuoc)\b",
)]

_URL_RE = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"'“”)\]]+"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|info|biz|vn|io|ly|me|co|xyz|top|site|online|"
    r"link|app|dev|click|shop|store|live|tk|ml|ga|cf|gq|ru|cn)\b(?:/[^\s<>\"'“”)\]]*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?…"


def is_instruction_sentence(text: str) -> bool:
    """Whether a sentence addresses the assistant or urges the reader to act (follow a link, log in, pay)."""
    if planted_reason(text):  # by shape, on the confusable-folded text (assistant/screening.py)
        return True
    f = skeleton(text).lower()
    return any(p.search(f) for p in _INSTRUCTION_RES)


def urls_in(text: str) -> list[str]:
    """Links in ``text``: ``http(s)://…``, ``www.…`` and bare domains (``bit.ly/x``), trailing punctuation off."""
    return [m.group(0).rstrip(_TRAILING) for m in _URL_RE.finditer(text)]


def _norm(url: str) -> tuple[str, str]:
    """``(host, path)`` lower-cased, without scheme, ``www.``, default port, query or trailing slash."""
    u = url.strip().rstrip(_TRAILING)
    parts = urlsplit(u if "://" in u else f"http://{u}")
    host = (parts.hostname or "").lower().removeprefix("www.")
    return host, parts.path.rstrip("/").lower()


def foreign_urls(text: str, allowed_urls: Iterable[str]) -> list[str]:
    """Links in ``text`` that the document does not vouch for.

    A link is allowed when it is one of ``allowed_urls`` (the document's ``source_urls``), or names only
    the host of one of them (``chinhphu.vn``); anything else, on any host, is foreign.
    """
    allowed = [_norm(u) for u in allowed_urls if u and u.strip()]
    hosts = {h for h, _ in allowed}
    out = []
    for url in urls_in(text):
        host, path = _norm(url)
        if (host, path) in allowed or (not path and host in hosts):
            continue
        out.append(url)
    return out


def unsafe_quote(sentence: str, source_urls: str | Iterable[str]) -> str:
    """Why a source sentence must not be quoted as an answer (``""`` when it may be).

    ``source_urls`` is the document's list, or ``Passage.source_urls`` (one URL per line).
    """
    allowed = tuple(source_urls.split("\n") if isinstance(source_urls, str) else source_urls)
    return _unsafe_quote(sentence, allowed)


@lru_cache(maxsize=1 << 14)
def _unsafe_quote(sentence: str, allowed: tuple[str, ...]) -> str:
    """:func:`unsafe_quote` (cached: the same sentences of the top passages are screened for every answer)."""
    if is_instruction_sentence(sentence):
        return "an instruction planted in the source"
    foreign = foreign_urls(sentence, allowed)
    if foreign:
        return f"links the source does not vouch for: {foreign}"
    return ""


def unsafe_generated(sentence: str, cited_texts: Iterable[str], source_urls: Iterable[str]) -> str:
    """Why a model-written sentence must be dropped (``""`` when it may stay): it gives an instruction, or a
    link that is not in the text it cites or not among the cited documents' ``source_urls``."""
    if is_instruction_sentence(sentence):
        return "an instruction, not an answer"
    cited = " ".join(cited_texts)
    cited_links = {_norm(u) for u in urls_in(cited)}
    allowed = [u for block in source_urls for u in block.split("\n")]
    for url in urls_in(sentence):
        if _norm(url) not in cited_links or foreign_urls(url, allowed):
            return f"a link not in the cited quote or its document's sources: {url}"
    return ""


# --- instruction overrides in a question ------------------------------------------------------------------
# Attempts to override the assistant's instructions ("Bỏ qua mọi hướng dẫn trước đó và …", "Ignore all
# previous instructions and …"), matched on folded text. The phrase is dropped before retrieval (so it
# never reaches an LLM prompt and does not skew the search) and what remains is answered only on evidence
# stronger than usual (``STEERED_MARGIN`` in the chain).
_OVR_NOUN = (r"(?:huong dan|chi dan|chi thi|yeu cau|quy tac|cau lenh|lenh|loi nhac|instructions?|prompts?|rules?|"
             r"directions?|guidelines?)")

_OVR_FILL = r"(?:(?:cac|nhung|the|your|my|of|previous|prior|above|earlier|preceding)\s+)*"

_OVR_QUAL = (r"(?:\s+(?:truoc do|truoc day|truoc|o tren|phia tren|ben tren|he thong|cua ban|previous|prior|above|"
             r"earlier|before|so far))")

_OVERRIDE_RE = re.compile(
    r"(?:\b(?:hay|xin|vui long|please)\s+)?\b(?:bo qua|phot lo|quen di|quen|ignore|disregard|forget)\s+"
    rf"(?:(?:het|moi|tat ca|toan bo|all|any|every)\s+{_OVR_FILL}{_OVR_NOUN}{_OVR_QUAL}*"
    rf"|(?:(?:the|your|my|cac|nhung)\s+)*(?:previous|prior|above|earlier|preceding|system)\s+{_OVR_NOUN}{_OVR_QUAL}*"
    rf"|{_OVR_FILL}{_OVR_NOUN}{_OVR_QUAL}+)\b"
)

_OVERRIDE_TAIL_RE = re.compile(
    r"(?:[\s,.;:!\-–—]|\b(?:va|roi|sau do|ma|and|then|now)\b)*"
    r"(?:\b(?:hay\s+)?(?:tra loi|answer)(?:\s+(?:cau hoi|the question|this|sau|following))*\s*[:,\-–—]\s*)?"
)


def strip_override(question: str) -> tuple[str, bool]:
    """``(question without instruction-override phrases, whether there were any)``."""
    folded_chars = [fold(ch) for ch in question]
    folded = "".join(folded_chars)
    if not _OVERRIDE_RE.search(folded):
        return question, False
    origin = [i for i, f in enumerate(folded_chars) for _ in f]  # folded index -> original index
    origin.append(len(question))
    kept, pos = [], 0
    for m in _OVERRIDE_RE.finditer(folded):
        kept.append(question[pos : origin[m.start()]])
        pos = origin[m.end()]
        tail = _OVERRIDE_TAIL_RE.match(folded, m.end())
        if tail:
            pos = origin[tail.end()]
    kept.append(question[pos:])
    rest = collapse_ws(" ".join(kept)).strip(" ,.;:-–—")
    return (rest or question), True
