"""Split a :class:`Document` into citable :class:`Passage` objects along its own structure.

Three layouts are recognised, in this order:

* **Markdown notes** (any ``## `` heading): each ``## `` section is one passage; text between the
  ``# `` title and the first ``##`` is an intro passage when non-empty.
* **Legal texts with plain-line headings** (official texts, ``.txt``/``.pdf``/``.docx`` laws):
  ``Chương I`` / ``Mục 1`` lines (with the title on the same or the next line) and article lines
  ``Điều 27. Tên`` or, in Bộ Pháp điển texts, ``Điều 35.1.LQ.27. Tên``. Each article is a passage.
* **Anything else**: paragraph groups ``Đoạn 1``, ``Đoạn 2``, … of at most ``max_tokens``.

A section longer than ``max_tokens`` is split at khoản boundaries (lines ``1.``, ``2.``), then
paragraphs, lines, sentences and finally words, packing consecutive pieces greedily; every part
repeats the heading line. ``Passage.text`` is always ``heading + "\\n" + doc.text[start:end]``.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.lexicon import LEXICON
from assistant.models import Document, Passage, SectionPeriod
from assistant.text import collapse_ws, fold, split_sentences

TokenCounter = Callable[[str], int]

# A line is an article heading only if it starts with "Điều <number>. <name>" (brief: never a
# reference inside running text, which starts with "(" or lower-case words).
ARTICLE_RE = re.compile(r"^[ \t]*Điều[ \t]+(\d[\dA-Za-zĐđ.]*)\.[ \t]+\S")
# Bộ Pháp điển numbering: <đề mục>.<code>.<article>, e.g. 35.1.LQ.27 or 35.1.NQ.4.1
PHAP_DIEN_RE = re.compile(r"^(\d+(?:\.\d+)*)\.([A-ZĐ]{1,4})\.(\d+[a-z]?(?:\.\d+[a-z]?)*)$")
_ROMAN_OR_NUM = r"(?:[IVXLCDM]+|\d+)"
CHAPTER_RE = re.compile(rf"^[ \t]*Chương[ \t]+({_ROMAN_OR_NUM})(?:[ \t]*(?:[.:\-–—][ \t]*(.*\S))?)?[ \t]*$")
MUC_RE = re.compile(rf"^[ \t]*Mục[ \t]+({_ROMAN_OR_NUM})(?:[ \t]*(?:[.:\-–—][ \t]*(.*\S))?)?[ \t]*$")
MD_SECTION_RE = re.compile(r"^##[ \t]+(.*?\S)(?:[ \t]+#+)?[ \t]*$")
MD_TITLE_RE = re.compile(r"^#[ \t]+(.*?\S)(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_KHOAN_RE = re.compile(r"^[ \t]*\d{1,3}\.(?!\d)")
_NOTE_RE = re.compile(r"^[ \t]*\(.*\)[ \t.;]*$")
_SOURCE_NOTE_RE = re.compile(
    r"^\((Điều[ \t]+\d+[a-z]?)[ \t]+(Luật|Nghị quyết|Nghị định|Thông tư|Pháp lệnh|Quyết định)"
    r"[ \t]+(?:số[ \t]+)?([0-9][^\s,()]*)"
)
PREAMBLE_MIN_CHARS = 200
INTRO_SECTION = "Mở đầu"


def estimate_tokens(text: str) -> int:
    """Conservative token estimate for Vietnamese text: 1.6 tokens per whitespace word."""
    return math.ceil(1.6 * len(text.split()))


# --------------------------------------------------------------------------------------------
# layout analysis
# --------------------------------------------------------------------------------------------


@dataclass
class _Line:
    start: int
    end: int  # exclusive, before the "\n"
    text: str


@dataclass
class _Mark:
    """A structural line: a heading of some kind, never passage body."""

    line: _Line
    kind: str  # "title" | "section" | "chapter" | "muc" | "struct_title" | "article"
    section: str = ""
    heading: str = ""
    chapter: str = ""
    label_hint: str = ""


@dataclass
class _Block:
    """A body span to turn into passages (before splitting)."""

    section: str
    heading: str
    chapter: str
    start: int
    end: int
    levels: tuple[str, ...]
    kind: str  # "section" | "article" | "intro" | "preamble" | "paragraphs"
    pd_code: str = ""
    region: tuple[int, int] = (0, 0)  # the whole gap after the heading (period markers inside apply)
    head_line: str = ""  # the heading line as written (a "## " line), to find the section's period marker
    head_occurrence: int = 0  # how many earlier "## " lines are the same line


@dataclass
class Layout:
    mode: str  # "markdown" | "articles" | "paragraphs"
    blocks: list[_Block] = field(default_factory=list)
    # spans that are not passage content: heading lines, titles, short chapter preambles
    ignorable: list[tuple[int, int]] = field(default_factory=list)


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for raw in text.split("\n"):
        out.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


def _strip_span(text: str, s: int, e: int) -> tuple[int, int] | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if s < e else None


def article_section(token: str) -> str:
    """``27`` -> ``Điều 27``; pháp điển ``35.1.LQ.27`` -> ``Điều 27``; ``35.1.NQ.4.1`` kept."""
    token = token.rstrip(".")
    m = PHAP_DIEN_RE.match(token)
    if m and m.group(2) == "LQ":
        return f"Điều {m.group(3)}"
    return f"Điều {token}"


def heading_section(heading: str) -> str:
    """The ``section`` label of a Markdown ``## `` heading: ``Điều 27``, ``Mục 2``, or the heading."""
    h = collapse_ws(re.sub(r"(\*\*|__|`)", "", heading))
    if re.match(r"^(Điều|Khoản|Điểm|khoản|điểm)\b", h):
        m = re.search(r"\bĐiều[ \t]+(\d[\dA-Za-zĐđ.]*)", h)
        if m:
            return article_section(m.group(1))
    m = re.match(rf"^(Mục|Chương|Phần)[ \t]+({_ROMAN_OR_NUM})\b", h)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    trimmed = h.rstrip(" .:;,-–—")
    return trimmed or h


def analyse(doc: Document) -> Layout:
    """Find the structure of ``doc.text``: which spans become passages and which are headings."""
    text = doc.text
    lines = _lines(text)
    in_fence = False
    md_sections: list[_Line] = []
    fenced: set[int] = set()
    for i, ln in enumerate(lines):
        if _FENCE_RE.match(ln.text):
            in_fence = not in_fence
            fenced.add(i)
            continue
        if in_fence:
            fenced.add(i)
            continue
        if MD_SECTION_RE.match(ln.text):
            md_sections.append(ln)
    if md_sections:
        return _markdown_layout(doc, lines, fenced)
    articles = _article_marks(lines)
    if articles:
        return _article_layout(doc, lines, articles)
    return _paragraph_layout(doc, lines)


def _markdown_layout(doc: Document, lines: list[_Line], fenced: set[int]) -> Layout:
    marks: list[_Mark] = []
    chapter = ""
    for i, ln in enumerate(lines):
        if i in fenced:
            continue
        m = MD_SECTION_RE.match(ln.text)
        if m:
            heading = collapse_ws(m.group(1))
            section = heading_section(heading)
            if section.startswith("Chương "):
                chapter = section
            marks.append(_Mark(ln, "section", section=section, heading=heading, chapter=chapter))
            continue
        m = MD_TITLE_RE.match(ln.text)
        if m:
            heading = collapse_ws(m.group(1))
            cm = re.match(rf"^Chương[ \t]+({_ROMAN_OR_NUM})\b", heading)
            if cm:
                chapter = f"Chương {cm.group(1)}"
            marks.append(_Mark(ln, "title", heading=heading, chapter=chapter))
    layout = Layout("markdown")
    levels = ("khoan", "para", "line", "sentence", "word")
    first_intro = True
    head_seen: Counter[str] = Counter()
    for mark, (gs, ge) in _gaps(doc.text, marks):
        head_line = mark.line.text.rstrip() if mark is not None and mark.kind == "section" else ""
        if head_line:
            head_seen[head_line] += 1
        layout_span = _strip_span(doc.text, gs, ge)
        if mark is not None:
            layout.ignorable.append((mark.line.start, mark.line.end))
        if layout_span is None:
            continue
        s, e = layout_span
        if mark is not None and mark.kind == "section":
            layout.blocks.append(_Block(mark.section, mark.heading, mark.chapter, s, e, levels, "section",
                                        region=(gs, ge), head_line=head_line,
                                        head_occurrence=head_seen[head_line] - 1))
        else:
            heading = mark.heading if (mark is not None and not first_intro) else (doc.title or INTRO_SECTION)
            chapter = mark.chapter if mark is not None else ""
            layout.blocks.append(_Block(INTRO_SECTION, collapse_ws(heading), chapter, s, e, levels, "intro",
                                        region=(gs, ge)))
            first_intro = False
    return layout


def _article_marks(lines: list[_Line]) -> list[tuple[int, str]]:
    """Indices and number tokens of the lines that are article headings."""
    candidates: list[tuple[int, str]] = []
    for i, ln in enumerate(lines):
        m = ARTICLE_RE.match(ln.text)
        if m:
            candidates.append((i, m.group(1)))
    prefixes = Counter(pm.group(1) for _, tok in candidates if (pm := PHAP_DIEN_RE.match(tok.rstrip("."))))
    if not prefixes:
        return candidates
    own = prefixes.most_common(1)[0][0]
    return [
        (i, tok) for i, tok in candidates if (pm := PHAP_DIEN_RE.match(tok.rstrip("."))) and pm.group(1) == own
    ]


def _article_layout(doc: Document, lines: list[_Line], articles: list[tuple[int, str]]) -> Layout:
    text = doc.text
    article_at = dict(articles)
    marks: list[_Mark] = []
    chapter = ""
    expect_title: _Mark | None = None
    for i, ln in enumerate(lines):
        if i in article_at:
            tok = article_at[i].rstrip(".")
            heading = collapse_ws(ln.text)
            pm = PHAP_DIEN_RE.match(tok)
            marks.append(
                _Mark(ln, "article", section=article_section(tok), heading=heading, chapter=chapter,
                      label_hint=pm.group(2) if pm else "")
            )
            expect_title = None
            continue
        cm = CHAPTER_RE.match(ln.text)
        mm = MUC_RE.match(ln.text) if cm is None else None
        tm = MD_TITLE_RE.match(ln.text) if cm is None and mm is None else None
        match = cm or mm
        if match is not None:
            label = f"{'Chương' if cm else 'Mục'} {match.group(1)}"
            inline_title = (match.group(2) or "").strip()
            if cm:
                chapter = label
            heading = f"{label}. {inline_title}" if inline_title else label
            struct = _Mark(ln, "chapter" if cm else "muc", section=label, heading=heading, chapter=chapter)
            marks.append(struct)
            expect_title = None if inline_title else struct
            continue
        if tm:
            marks.append(_Mark(ln, "title", heading=collapse_ws(tm.group(1)), chapter=chapter))
            expect_title = None
            continue
        if expect_title is not None and ln.text.strip():
            stripped = ln.text.strip()
            if len(stripped) <= 300 and not stripped.startswith("("):
                expect_title.heading = f"{expect_title.section}. {collapse_ws(stripped)}"
                marks.append(_Mark(ln, "struct_title", section=expect_title.section,
                                   heading=expect_title.heading, chapter=chapter))
            expect_title = None
    layout = Layout("articles")
    article_levels = ("khoan", "para", "line", "sentence", "word")
    for mark, (gs, ge) in _gaps(text, marks):
        if mark is not None:
            layout.ignorable.append((mark.line.start, mark.line.end))
        span = _strip_span(text, gs, ge)
        if span is None:
            continue
        s, e = span
        if mark is not None and mark.kind == "article":
            layout.blocks.append(
                _Block(mark.section, mark.heading, mark.chapter, s, e, article_levels, "article",
                       pd_code=mark.label_hint, region=(gs, ge))
            )
            continue
        # text outside articles: chapter notes, preambles. Only substantive text is a passage.
        substantive = sum(
            len(collapse_ws(ln.text)) for ln in _lines(text[s:e]) if ln.text.strip() and not _NOTE_RE.match(ln.text)
        )
        if substantive > PREAMBLE_MIN_CHARS:
            if mark is None or mark.kind == "title":
                section, heading = INTRO_SECTION, collapse_ws(doc.title) or INTRO_SECTION
            else:
                section, heading = mark.section, mark.heading
            chapter_of = mark.chapter if mark is not None else ""
            layout.blocks.append(_Block(section, heading, chapter_of, s, e, article_levels, "preamble",
                                        region=(gs, ge)))
        else:
            layout.ignorable.append((s, e))
    return layout


def _paragraph_layout(doc: Document, lines: list[_Line]) -> Layout:
    marks: list[_Mark] = []
    title_key = collapse_ws(doc.title).casefold()
    first_content = True
    for ln in lines:
        if not ln.text.strip():
            continue
        m = MD_TITLE_RE.match(ln.text)
        if m:
            marks.append(_Mark(ln, "title", heading=collapse_ws(m.group(1))))
        elif first_content and title_key and collapse_ws(ln.text).casefold() == title_key:
            marks.append(_Mark(ln, "title", heading=collapse_ws(ln.text)))
        first_content = False
    layout = Layout("paragraphs")
    heading = collapse_ws(doc.title) or "Đoạn"
    for mark, (gs, ge) in _gaps(doc.text, marks):
        if mark is not None:
            layout.ignorable.append((mark.line.start, mark.line.end))
        span = _strip_span(doc.text, gs, ge)
        if span is not None:
            layout.blocks.append(
                _Block("Đoạn", heading, "", span[0], span[1], ("para", "line", "sentence", "word"), "paragraphs",
                       region=(gs, ge))
            )
    return layout


def _gaps(text: str, marks: list[_Mark]) -> list[tuple[_Mark | None, tuple[int, int]]]:
    """Each structural mark (or None for the text before the first) with the span after it."""
    out: list[tuple[_Mark | None, tuple[int, int]]] = []
    first_start = marks[0].line.start if marks else len(text)
    out.append((None, (0, first_start)))
    for k, mark in enumerate(marks):
        nxt = marks[k + 1].line.start if k + 1 < len(marks) else len(text)
        out.append((mark, (min(mark.line.end + 1, nxt), nxt)))
    return out


# --------------------------------------------------------------------------------------------
# splitting long sections
# --------------------------------------------------------------------------------------------


def _boundaries(text: str, level: str, s: int, e: int) -> list[int]:
    """Cut points strictly inside ``(s, e)`` for one splitting level."""
    cuts: list[int] = []
    if level in ("khoan", "para", "line"):
        pos = s
        prev_blank = False
        first = True
        while pos < e:
            nl = text.find("\n", pos, e)
            line_end = e if nl == -1 else nl
            line = text[pos:line_end]
            if not first and pos > s:
                if (level == "line" and line.strip()) or (level == "para" and prev_blank and line.strip()) or (
                    level == "khoan" and _KHOAN_RE.match(line)
                ):
                    cuts.append(pos)
            if line.strip():
                prev_blank = False
                first = False
            else:
                prev_blank = True
            if nl == -1:
                break
            pos = nl + 1
    elif level == "sentence":
        spans = split_sentences(text[s:e])
        cuts = [s + a for a, _ in spans[1:]]
    elif level == "word":
        cuts = [m.start() for m in re.finditer(r"(?<=\s)\S", text[s:e])]
        cuts = [s + c for c in cuts]
    return [c for c in cuts if s < c < e]


class _Splitter:
    """Greedy packing with preferred cut points.

    Cut points of every level (khoản line > paragraph > line > sentence > word) are candidates.
    From the current position the piece is extended as far as it fits; among the cuts that keep
    it at least a third full, the most structural one wins (farthest on ties). So whole khoản are
    packed together, and a khoản too long on its own is cut at its điểm/paragraphs, then
    sentences, then words, without leaving a tiny piece (such as a lone source note) behind.
    """

    def __init__(self, text: str, heading: str, max_tokens: int, count: TokenCounter) -> None:
        self.text = text
        self.heading = heading
        self.max_tokens = max_tokens
        self.count = count

    def size(self, s: int, e: int) -> int:
        return self.count(f"{self.heading}\n{self.text[s:e].strip()}")

    def fits(self, s: int, e: int) -> bool:
        return self.size(s, e) <= self.max_tokens

    def split(self, s: int, e: int, levels: tuple[str, ...]) -> list[tuple[int, int]]:
        span = _strip_span(self.text, s, e)
        if span is None:
            return []
        s, e = span
        if self.fits(s, e):
            return [span]
        priority: dict[int, int] = {}
        for rank, level in enumerate(levels):
            for cut in _boundaries(self.text, level, s, e):
                priority.setdefault(cut, rank)
        ends = sorted(priority)
        ranks = [priority[c] for c in ends]
        out: list[tuple[int, int]] = []
        start, first = s, 0  # ends[first:] are the candidate ends after ``start``
        while start < e:
            if first >= len(ends) or self.fits(start, e):
                piece = _strip_span(self.text, start, e)
                if piece is not None:
                    out.append(piece)
                break
            def fits_to(j: int, st: int = start) -> bool:
                return self.fits(st, ends[j])

            def full_to(j: int, st: int = start) -> bool:
                return 3 * self.size(st, ends[j]) >= self.max_tokens

            far = self._last_true(first, len(ends) - 1, fits_to)
            if far is None:
                k = first  # nothing fits: smallest possible step (an oversized word)
            else:
                full_from = self._first_true(first, far, full_to)
                lo = far if full_from is None else full_from
                k = max(range(lo, far + 1), key=lambda j: (-ranks[j], j))
            piece = _strip_span(self.text, start, ends[k])
            if piece is not None:
                out.append(piece)
            start, first = ends[k], k + 1
        return out

    @staticmethod
    def _last_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int | None:
        """Largest k in [lo, hi] with pred(k), for pred true-then-false; None if pred(lo) fails."""
        if lo > hi or not pred(lo):
            return None
        good, step = lo, 1
        bad = hi + 1
        while good + step <= hi:  # gallop: cheap when pieces are short compared with the text
            if pred(good + step):
                good += step
                step *= 2
            else:
                bad = good + step
                break
        # then bisect the bracket (good, bad): the first k where pred fails, minus one
        return good + bisect.bisect_left(range(good + 1, bad), True, key=lambda k: not pred(k))

    @staticmethod
    def _first_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int | None:
        """Smallest k in [lo, hi] with pred(k), for pred false-then-true; None if none."""
        if lo > hi or not pred(hi):
            return None
        return lo + bisect.bisect_left(range(lo, hi + 1), True, key=pred)


# --------------------------------------------------------------------------------------------
# passages
# --------------------------------------------------------------------------------------------


def _slug(section: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", fold(section)).strip("-")
    if len(s) > 60:
        cut = s[:60]
        s = cut.rsplit("-", 1)[0] if "-" in cut[20:] else cut
    return s or "muc"


def _source_url(doc: Document) -> str:
    for url in doc.source_urls:
        if re.match(r"^https?://", url.strip()):
            return url.strip()
    return ""


_DOC_KINDS = "|".join(LEXICON.heading_document_kinds)  # lexicon.yaml
_RANGE = r"\d+[a-z]?(?:[ \t]*(?:–|-|,|và)[ \t]*\d+[a-z]?)*"
_POINTS = r"[a-zđ]\)?(?:[ \t]*(?:–|-|,|và)[ \t]*[a-zđ]\)?)*"
# "Khoản 1 Điều 10 …", "Điểm a khoản 2 Điều 3 …"
_PROVISION_LEAD_RE = re.compile(
    rf"^(?:[Đđ]iểm[ \t]+(?P<p1>{_POINTS})[ \t]+)?(?:[Kk]hoản[ \t]+(?P<k1>{_RANGE})[ \t]+)?"
    rf"Điều[ \t]+(?P<a>\d+[a-z]?)(?![\d.]*\d)"
)
# "Điều 24 (khoản 1–2)", "Điều 6 khoản 2", "Điều 3 điểm c"
_PROVISION_TAIL_RE = re.compile(
    rf"^[ \t]*\(?[ \t]*(?:(?:[Kk]hoản[ \t]+(?P<k2>{_RANGE}))|(?:[Đđ]iểm[ \t]+(?P<p2>{_POINTS})))"
    rf"(?:[ \t,]*(?:[Kk]hoản[ \t]+(?P<k3>{_RANGE})))?[ \t]*\)?"
)
_DOC_REF_RE = re.compile(rf"^[ \t,]*(?P<kind>{_DOC_KINDS})[ \t]+(?:số[ \t]+)?(?P<num>\d+[^\s,;:()]*)")


def provision_label(heading: str) -> tuple[str, str, str] | None:
    """The provision a ``##`` heading names: ``("Khoản 1 Điều 10", "Nghị định", "92/2009")``.

    The kind and number are empty when the heading names no document. ``None`` when the heading
    does not start with an article reference.
    """
    h = collapse_ws(re.sub(r"(\*\*|__|`)", "", heading))
    m = _PROVISION_LEAD_RE.match(h)
    if not m:
        return None
    point, clause, article = m.group("p1"), m.group("k1"), m.group("a")
    rest = h[m.end():]
    t = _PROVISION_TAIL_RE.match(rest)
    if t and not (point or clause):
        point = t.group("p2")
        clause = t.group("k2") or t.group("k3")
        rest = rest[t.end():]
    parts = []
    if point:
        parts.append(f"Điểm {point}")
    if clause:
        parts.append(f"{'khoản' if parts else 'Khoản'} {clause}")
    parts.append(f"Điều {article}")
    provision = " ".join(parts)
    r = _DOC_REF_RE.match(rest)
    if r:
        return provision, r.group("kind"), r.group("num").rstrip(".")
    return provision, "", ""


def _same_number(ref: str, number: str) -> bool:
    """``92/2009`` names ``92/2009/NĐ-CP``; ``34/2019`` does not."""
    if not ref or not number:
        return False
    a, b = fold(ref).split("/"), fold(number).split("/")
    return a == b[: len(a)]


def _label(doc: Document, block: _Block, section: str, first_line: str) -> str:
    """``Điều 27, Luật Bầu cử 85/2015/QH13``; a note's section names the provision it summarises
    (``Khoản 1–2 Điều 24, Luật Bầu cử …``; another document's ``Khoản 6 Điều 2 Nghị định 34/2019``);
    embedded pháp điển articles name their own source."""
    if block.kind == "article" and block.pd_code and block.pd_code != "LQ":
        m = _SOURCE_NOTE_RE.match(first_line.strip())
        if m:
            return f"{section} ({m.group(1)} {m.group(2)} {m.group(3)})"
    name = doc.citation_name
    if block.kind == "section":
        prov = provision_label(block.heading)
        if prov is not None:
            provision, kind, number = prov
            if number and not _same_number(number, doc.number):
                return f"{provision} {kind} {number}"
            return f"{provision}, {name}" if name else provision
    return f"{section}, {name}" if name else section


def _block_period(doc: Document, block: _Block) -> SectionPeriod:
    """The section's own ``Áp dụng`` marker, else the document's effective/expired dates.

    A Markdown marker belongs to the section with its heading line (the n-th when headings repeat;
    robust to edits of other sections); any other marker to the block whose span held it.
    """
    own = next((m.period for m in doc.section_periods
                if (m.heading and m.heading == block.head_line and m.occurrence == block.head_occurrence)
                or (not m.heading and block.region[0] <= m.offset <= block.region[1])), None)
    if own is None:
        return SectionPeriod(doc.effective, doc.expired, ())
    return SectionPeriod(own.valid_from or doc.effective, own.valid_to or doc.expired, own.elections)


def chunk_document(doc: Document, max_tokens: int = 480, count_tokens: TokenCounter | None = None) -> list[Passage]:
    """Cut ``doc`` into passages (see module docstring). Never raises on any text."""
    count = count_tokens or estimate_tokens
    layout = analyse(doc)
    text = doc.text
    pieces: list[tuple[_Block, str, int, int, int]] = []  # block, section, part, start, end
    paragraph_no = 0
    for block in layout.blocks:
        splitter = _Splitter(text, block.heading, max_tokens, count)
        spans = splitter.split(block.start, block.end, block.levels)
        if block.kind == "paragraphs":
            for s, e in spans:
                paragraph_no += 1
                pieces.append((block, f"Đoạn {paragraph_no}", 0, s, e))
        elif len(spans) == 1:
            pieces.append((block, block.section, 0, spans[0][0], spans[0][1]))
        else:
            for k, (s, e) in enumerate(spans, 1):
                pieces.append((block, block.section, k, s, e))

    passages: list[Passage] = []
    slug_seen: Counter[str] = Counter()
    used_ids: set[str] = set()
    current_base = ""
    prev_block: _Block | None = None
    period_block: _Block | None = None
    period = SectionPeriod()
    source_url = _source_url(doc)
    for block, section, part, s, e in pieces:
        if block is not prev_block or block.kind == "paragraphs" or part == 0:
            base = _slug(section)
            slug_seen[base] += 1
            current_base = base if slug_seen[base] == 1 else f"{base}~{slug_seen[base]}"
        prev_block = block
        pid = f"{doc.id}::{current_base}" + (f"-p{part}" if part else "")
        extra = 2
        unique = pid
        while unique in used_ids:
            unique = f"{pid}~{extra}"
            extra += 1
        used_ids.add(unique)
        body = text[s:e]
        if block is not period_block:
            period_block, period = block, _block_period(doc, block)
        block_first_line = text[block.start : block.end].split("\n", 1)[0]
        passages.append(
            Passage(
                id=unique,
                doc_id=doc.id,
                title=doc.title,
                section=section,
                heading=block.heading,
                label=_label(doc, block, section, block_first_line),
                text=f"{block.heading}\n{body}",
                start=s,
                end=e,
                number=doc.number,
                kind=doc.kind,
                status=doc.status,
                issuer=doc.issuer,
                issued=doc.issued,
                effective=doc.effective,
                source_url=source_url,
                source_urls="\n".join(u for u in doc.source_urls if u.strip()),
                amended_by=", ".join(doc.amended_by),
                replaced_by=", ".join(doc.replaced_by),
                expired=doc.expired,
                text_form=doc.text_form,
                valid_from=period.valid_from,
                valid_to=period.valid_to,
                elections=",".join(str(y) for y in period.elections),
                chapter=block.chapter,
                part=part,
                ordinal=len(passages),
            )
        )
    return passages


# --------------------------------------------------------------------------------------------
# invariants (used by tests and by ingest sanity checks)
# --------------------------------------------------------------------------------------------


def passage_body(passage: Passage) -> str:
    """The part of ``passage.text`` after its heading line."""
    return passage.text.split("\n", 1)[1] if "\n" in passage.text else ""


def body_invariant_holds(doc: Document, passage: Passage) -> bool:
    """``passage.text`` after the first line equals ``doc.text[start:end]`` stripped."""
    return 0 <= passage.start <= passage.end <= len(doc.text) and (
        passage_body(passage) == doc.text[passage.start : passage.end].strip()
    )


def uncovered_text(doc: Document, passages: list[Passage]) -> str:
    """Non-whitespace characters of ``doc.text`` in no passage span and not in a heading line,
    the title or a short (≤ 200 chars) text between chapter headings of an official text."""
    covered = bytearray(len(doc.text) + 1)
    for p in passages:
        covered[p.start : p.end] = b"\x01" * (p.end - p.start)
    for s, e in analyse(doc).ignorable:
        covered[s:e] = b"\x01" * (e - s)
    return "".join(ch for i, ch in enumerate(doc.text) if not covered[i] and not ch.isspace())


def passages_cover_document(doc: Document, passages: list[Passage]) -> bool:
    """Every non-whitespace body character (apart from headings and title) is in some passage."""
    return uncovered_text(doc, passages) == ""
