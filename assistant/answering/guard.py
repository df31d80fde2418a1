"""The guard of the LLM writer: every generated sentence is checked against the passage it cites.

Its markers must name retrieved passages, its numbers must occur in the cited text, most of its
words must come from the cited text (a marker alone proves nothing), its negations must match the
sentence it quotes, and it must answer rather than ask or echo the question; planted instructions
and foreign links are refused by :mod:`.safety`. What fails is dropped with its reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from assistant.answering.answer import Answer, Citation
from assistant.answering.figures import NUMBER_RE
from assistant.answering.safety import unsafe_generated
from assistant.screening import clean_text, is_planted
from assistant.search.retrieval import STOPWORDS_FOLDED, ScoredPassage
from assistant.text import collapse_ws, sentences, tokenize_folded

log = logging.getLogger(__name__)

MARKER_RE = re.compile(r"\[(\d+)\]")

# share of a generated sentence's informative words that must occur in the passages it cites
MIN_SUPPORT = 0.6

# a sentence the model left without a marker is attributed to one passage only when nearly all of
# its words are there (small models often forget the markers of sentences they copied)
ATTRIBUTE_SUPPORT = 0.85

# negations flip a legal answer ("không được"): a sentence must carry as many as the sentence it quotes
_NEGATION_RE = re.compile(r"\b(không|chưa|chẳng|cấm|chớ)\b", re.IGNORECASE)

# relations with a direction between documents or figures: "208 thay thế 185" is not "185 thay thế 208"
_DIRECTED_RE = re.compile(r"\b(thay thế|sửa đổi|bổ sung|bãi bỏ|hướng dẫn|quy định chi tiết|hợp nhất|sáp nhập|"
                          r"nhập vào|tăng|giảm|từ .{1,40} đến)\b", re.IGNORECASE)


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,") for n in NUMBER_RE.findall(text)}


def _informative(text: str) -> list[str]:
    return [t for t in tokenize_folded(text) if t not in STOPWORDS_FOLDED]


def verify_llm_sentence(sentence: str, hits: Sequence[ScoredPassage], question: str = "") -> tuple[bool, list[int], str]:
    """Check one generated sentence before it may reach a user.

    Its markers must name retrieved passages, its numbers must occur in the cited text, most of its
    words must come from the cited text (a marker alone proves nothing), and it must answer rather
    than ask or echo the question.
    """
    markers = [int(m) for m in MARKER_RE.findall(sentence)]
    if not markers:
        return False, [], "no citation marker"
    if any(m < 1 or m > len(hits) for m in markers):
        return False, markers, "marker names no retrieved passage"
    body = MARKER_RE.sub("", sentence).strip()
    if body.rstrip(" .").endswith("?"):
        return False, markers, "a question, not an answer"
    if "tình trạng:" in body:
        return False, markers, "copies the list of sources"
    words = _informative(body)
    if not words:
        return False, markers, "no content"
    if question and set(words) == set(_informative(question)):
        return False, markers, "repeats the question"
    # a sentence planted in the source is no support for anything (assistant/screening.py)
    cited_text = " ".join(clean_text(hits[m - 1].passage.text) for m in markers)
    unsafe = unsafe_generated(body, [cited_text], [hits[m - 1].passage.source_urls for m in markers])
    if unsafe:
        return False, markers, unsafe
    missing = [n for n in _numbers(body) if n not in _numbers(cited_text) and n not in cited_text]
    if missing:
        return False, markers, f"numbers not in the cited passage: {missing}"
    if sum(1 for w in words if not w[0].isdigit()) < 2:
        return False, markers, "a fragment, not a sentence"
    support = _support(words, cited_text)
    if support < MIN_SUPPORT:
        return False, markers, f"only {support:.0%} of its words are in the cited passage"
    if _DIRECTED_RE.search(body) and not _same_order(body, cited_text):
        return False, markers, "its numbers are in another order than in the cited passage"
    return True, markers, ""


def _same_order(body: str, cited_text: str) -> bool:
    """The numbers of a sentence stating a directed relation occur in the cited text in the same order.

    Each number is looked for after the previous one (a subsequence, so "cấp xã từ 7 đến 9" is found
    in "…cấp huyện từ 9 đến 11, cấp xã từ 7 đến 9"); numbers absent from the text are skipped.
    """
    seen: list[str] = []
    for n in NUMBER_RE.findall(body):
        n = n.rstrip(".,")
        if n not in seen:
            seen.append(n)
    pos = 0
    for n in seen:
        pattern = re.compile(rf"(?<![\d.,/]){re.escape(n)}(?![\d]|[.,/]\d)")
        if not pattern.search(cited_text):
            continue
        m = pattern.search(cited_text, pos)
        if m is None:
            return False
        pos = m.end()
    return True


def _support(words: Sequence[str], text: str) -> float:
    have = set(tokenize_folded(text))
    return sum(1 for w in words if w in have) / len(words) if words else 0.0


def attribute(sentence: str, hits: Sequence[ScoredPassage]) -> int | None:
    """The 1-based passage a marker-less sentence was copied from, when one holds nearly all its words."""
    words = _informative(sentence)
    if len(words) < 3:
        return None
    scored = [(_support(words, clean_text(h.passage.text)), i) for i, h in enumerate(hits, start=1)]
    best, i = max(scored, default=(0.0, 0))
    return i if best >= ATTRIBUTE_SUPPORT else None


def negation_mismatch(body: str, quote: str) -> bool:
    return len(_NEGATION_RE.findall(body)) != len(_NEGATION_RE.findall(quote))


def best_quote(sentence: str, hit: ScoredPassage) -> str:
    """The passage sentence a generated sentence rests on (most shared words): a verbatim quote."""
    words = set(tokenize_folded(MARKER_RE.sub("", sentence)))
    best, best_overlap = "", -1.0
    for sent in sentences(hit.passage.text):
        if is_planted(sent):
            continue  # never cited as the ground of an answer
        sw = set(tokenize_folded(sent))
        overlap = len(words & sw) / (len(sw) ** 0.5 or 1)
        if overlap > best_overlap:
            best, best_overlap = sent, overlap
    return best or hit.passage.text


def split_generated(text: str) -> list[str]:
    """Sentences of a model reply, keeping each sentence's trailing markers with it.

    Models often put the marker after the full stop (``… kiêm nhiệm. [2]``): a piece that is only
    markers belongs to the sentence before it.
    """
    text = text.strip()
    pieces = re.split(r"(?<=[.!?…])((?:\s*\[\d+\])*)\s+", text)
    out, buf = [], ""
    for i, piece in enumerate(pieces):
        buf += piece
        if i % 2 == 1:
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    merged: list[str] = []
    for s in out:
        if merged and re.fullmatch(r"(?:\s*\[\d+\])+[.\s]*", s):
            merged[-1] += " " + s.rstrip(". ")
        elif s:
            merged.append(s)
    return merged


# a reply this short that says KHÔNG ĐỦ NGUỒN is the model's refusal
SHORT_REPLY = 40

# a last piece that may still grow into the markers of the sentence before it ("… nhiệm. [2")
_OPEN_TAIL_RE = re.compile(r"[\s\[\]\d.]*")


def finished_sentences(reply: str) -> list[str]:
    """The sentences of a reply still being generated that no later text can change (``split_generated``'s
    pieces but the last, and but the last two when the last may still become the markers of the one before)."""
    pieces = split_generated(reply)
    return pieces[:-2] if pieces and _OPEN_TAIL_RE.fullmatch(pieces[-1]) else pieces[:-1]


class SentenceGuard:
    """The per-sentence checks of a model reply, one sentence at a time (the same for a whole reply and for
    one being streamed): what fails is dropped with its reason, what passes is kept with renumbered markers."""

    def __init__(self, hits: Sequence[ScoredPassage], question: str) -> None:
        self.hits, self.question = hits, question
        self.kept: list[str] = []
        self.citations: list[Citation] = []
        self.dropped: list[str] = []
        self._by_marker: dict[int, int] = {}

    def add(self, sent: str) -> bool:
        """Check one sentence; True when it was kept."""
        hits = self.hits
        if not MARKER_RE.search(sent) and (src := attribute(sent, hits)) is not None:
            sent = f"{sent} [{src}]"
        ok, markers, why = verify_llm_sentence(sent, hits, self.question)
        body = MARKER_RE.sub("", sent).strip()
        quotes = {m: best_quote(body, hits[m - 1]) for m in markers} if ok else {}
        if ok and all(negation_mismatch(body, q) for q in quotes.values()):
            ok, why = False, "its negations differ from the sentence it quotes"
        if not ok:
            self.dropped.append(f"{why}: {sent}")
            log.info("LLM sentence dropped (%s): %s", why, sent)
            return False
        body = re.sub(r"(?:\s+\d+\.)+$", "", collapse_ws(body))  # "…, bao gồm:\n\n1." -> one line
        body = re.sub(r"\s+(?=[.,;:!?…]$)", "", body)  # "… thành viên [1]." leaves "thành viên ." without its marker
        new_markers = []
        for m in markers:
            if m not in self._by_marker:
                c = Citation(len(self.citations) + 1, hits[m - 1], quotes[m])
                self.citations.append(c)
                self._by_marker[m] = c.n
            new_markers.append(self._by_marker[m])
        self.kept.append(body + " " + "".join(f"[{n}]" for n in dict.fromkeys(new_markers)))
        return True

    def answer(self) -> Answer:
        """The verified answer so far (without the status notes, which follow the last sentence)."""
        return Answer("\n".join(self.kept), list(self.citations), answered_by="llm", dropped=list(self.dropped))
