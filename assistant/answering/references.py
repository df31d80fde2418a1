"""Follow a secondary source to the article it rests on.

Principle: a summary, a Q&A or a news item that says what "Điều N" of a law provides is only as good
as that article. When the best passage is such a secondary text and it names an article of a primary
document that the index holds, the article itself is fetched (scored for the same question) and placed
right after it, so the answer can quote the rule as the law states it and cite the law. The reference
is resolved only through what the secondary passage itself names (a document number, or a document's
title or short title) or, failing that, the one primary document its own note is about; an article
number alone never pulls in an arbitrary law.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from assistant.answering.scoring import primacy
from assistant.answering.sentences import Candidate
from assistant.models import Passage
from assistant.search.retrieval import STOPWORDS_FOLDED, ScoredPassage
from assistant.text import fold, tokenize_folded

# "Điều 27", "khoản 1, 2 Điều 24", "Điều 21 đến Điều 28": each article number named
_ARTICLE_RE = re.compile(r"\bdieu (\d{1,3})\b")
# the rank a passage needs, at most, to count as secondary (a Q&A or a summary, not a law's article)
SECONDARY_MAX_PRIMACY = 2
# how far below the referring passage the fetched article is scored: close enough to be quoted, not so
# close that its sentences outrank the passage that led to it
FOLLOW_GAP = 0.05

Search = Callable[[str], Sequence[ScoredPassage]]  # doc_id -> that document's hits for the question


def article_numbers(text: str) -> list[int]:
    """Article numbers a text names ("… là Điều 27: …" -> [27]), in order, without repeats."""
    return list(dict.fromkeys(int(n) for n in _ARTICLE_RE.findall(fold(text).lower())))


def _mentions(folded_text: str, doc: Mapping[str, Any]) -> bool:
    """The text names the document: by its number ("85/2015/QH13") or its title or short title."""
    names = [str(doc.get(k) or "") for k in ("number", "short_title", "title")]
    return any(len(n) >= 6 and fold(n).lower() in folded_text for n in names)


def referenced_document(p: Passage, documents: Mapping[str, Mapping[str, Any]],
                        primary: Iterable[str]) -> str | None:
    """The primary document a secondary passage's "Điều N" refers to, or None when it is not clear.

    The passage's own words decide (a number or a title it names); the one primary document it names
    wins. Two named documents and no way to tell them apart: None (never guess a law).
    """
    folded = fold(f"{p.text}").lower()
    named = [d for d in primary if d != p.doc_id and _mentions(folded, documents.get(d, {}))]
    if len(named) > 1:  # the same law as a note and verbatim: the verbatim text is the law's own words
        verbatim = [d for d in named if documents.get(d, {}).get("text_form") == "nguyen-van"]
        numbers = {str(documents.get(d, {}).get("number") or "") for d in named}
        named = verbatim if len(verbatim) == 1 and len(numbers) == 1 else named
    return named[0] if len(named) == 1 else None


def article_passage(passages: Sequence[Passage], number: int) -> Passage | None:
    """The passage holding article ``number`` ("Điều 27. …" or "Điều 27 (khoản 1). …"), the plain one first."""
    pattern = re.compile(rf"Điều {number}\b(?!\.\d)")
    found = [p for p in passages if pattern.match(p.section)]
    found.sort(key=lambda p: (p.section != f"Điều {number}", p.id))
    return found[0] if found else None


def _informative(text: str) -> set[str]:
    return {t for t in tokenize_folded(text) if t not in STOPWORDS_FOLDED and len(t) > 1}


def leaned_on_article(hit: ScoredPassage) -> list[int]:
    """Article numbers named by the sentence of ``hit`` that best carries its answer.

    The passage's best sentence for the question is its answer (a Q&A's opening sentence when the
    question matched the Q&A's own question); the sentence naming an article that
    shares most words with it (itself, when it names one) says which article that answer rests on.
    A Q&A listing several articles ("xem Điều 21 đến Điều 28", "Điều 27: người ứng cử …") is thus
    followed to the one behind its answer ("trừ trường hợp người đó là người ứng cử" -> Điều 27).
    """
    if not hit.sentences:
        return []
    text = hit.passage.text
    # a Q&A found through its question answers in its opening sentence (as ``candidates`` reads it)
    best = (min(hit.sentences, key=lambda s: s.start) if hit.via_question
            else max(hit.sentences, key=lambda s: s.score))
    answer_words = _informative(text[best.start:best.end])
    naming = [s for s in hit.sentences if article_numbers(text[s.start:s.end])]
    if not naming:
        return []
    chosen = max(naming, key=lambda s: (len(answer_words & _informative(text[s.start:s.end])), s.score))
    return article_numbers(text[chosen.start:chosen.end])


def primary_documents(passages: Sequence[Passage]) -> list[str]:
    """The documents with at least one primary passage (what a secondary passage's reference may name)."""
    return sorted({p.doc_id for p in passages if primacy(p) > SECONDARY_MAX_PRIMACY})


def follow_references(hits: Sequence[ScoredPassage], snapshot_passages: Sequence[Passage],
                      documents: Mapping[str, Mapping[str, Any]], search: Search, *,
                      primary_docs: Sequence[str] | None = None,
                      doc_passages: Callable[[str], Sequence[Passage]] | None = None) -> list[ScoredPassage]:
    """``hits`` with the article that the top secondary passage rests on placed right after it.

    Only the top hit is followed: it is the passage the answer's lead comes from. Nothing changes when
    the top hit is primary already, names no article, or the article is not indexed or already present.
    ``primary_docs`` (:func:`primary_documents`) and ``doc_passages`` (a document's passages in snapshot
    order) are what a caller keeps per generation: computed from ``snapshot_passages`` here they scan every
    passage, ~0.7 s per followed question at 144,485 passages.
    """
    out = list(hits)
    if not out or primacy(out[0].passage) > SECONDARY_MAX_PRIMACY:
        return out
    top = out[0]
    numbers = leaned_on_article(top)
    if not numbers:
        return out
    if primary_docs is None:
        primary_docs = primary_documents(snapshot_passages)
    doc_id = referenced_document(top.passage, documents, list(primary_docs))
    if doc_id is None:
        return out
    own = (list(doc_passages(doc_id)) if doc_passages is not None
           else [p for p in snapshot_passages if p.doc_id == doc_id])
    target = next((a for n in numbers if (a := article_passage(own, n)) is not None), None)
    if target is None or any(h.passage.id == target.id for h in out[:2]):
        return out
    hit = next((h for h in search(doc_id) if h.passage.id == target.id), None)
    if hit is None:
        return out
    rest = [h for h in out[1:] if h.passage.id != target.id]
    # placed right after the passage that names it, and the list stays ranked: between the two neighbours
    below = top.score - FOLLOW_GAP
    hit.score = (top.score + rest[0].score) / 2 if rest and rest[0].score > below else below
    return [top, hit, *rest][: len(out)]


def primary_backing(lead: Candidate, pool: Sequence[Candidate], chosen: Sequence[Candidate]) -> Candidate | None:
    """The law's own sentence behind a secondary lead, to quote right after it; None when there is none.

    The lead comes from a Q&A or a summary whose passage names "Điều N"; among the candidates from
    article N of a primary text (fetched by :func:`follow_references`), the article's first sentence
    sharing words with the secondary passage's sentence naming it is the rule as the law states it
    (an article opens with its rule; its consequences and exceptions follow). It must speak for the same period as the lead and not be quoted already.
    """
    if primacy(lead.passage) > SECONDARY_MAX_PRIMACY:
        return None
    text = lead.passage.text
    naming: dict[int, set[str]] = {}
    for s in lead.hit.sentences:
        for n in article_numbers(text[s.start:s.end]):
            naming.setdefault(n, set()).update(_informative(text[s.start:s.end]))
    if not naming:
        return None
    best: Candidate | None = None
    for c in pool:
        p = c.passage
        if (primacy(p) <= SECONDARY_MAX_PRIMACY or c.meta or c.unverified or c.elide is not None
                or c.in_period != lead.in_period or any(x.passage.id == p.id for x in chosen)):
            continue
        m = re.match(r"Điều (\d{1,3})\b", p.section)
        if m is None or int(m.group(1)) not in naming:
            continue
        if naming[int(m.group(1))] & _informative(c.text) and (best is None or c.start < best.start):
            best = c
    return best
