"""Text out of every supported format (Markdown/plain text, HTML, PDF, DOCX), each within size limits."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from assistant.ingest.errors import DocumentTooLargeError, LoadError
from assistant.text import collapse_ws

# a PDF/DOCX/HTML file may be bigger than its text, but not without bound: parsing is not free either
RAW_FACTOR = 10
# A DOCX is a zip: checked from its directory, before any part is unpacked or parsed. A 1 MB file can name
# a 1 GB part of zeros (the parser would hold all of it), and 42 KB can hold 80,000 empty paragraphs (a
# minute of parsing on every later reindex). The unpacked parts may take RAW_FACTOR x the text limit;
# the longest law we hold has under 3,000 paragraphs and 60 parts.
DOCX_MAX_PARTS = 1000
DOCX_MAX_PARAGRAPHS = 10_000


def decode_text(path: Path, raw: bytes) -> str:
    """UTF-8 (or UTF-16 with BOM) bytes -> str with ``\\n`` line ends."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(path, "UTF-16 hỏng (độ dài lẻ hoặc surrogate lẻ): hãy lưu lại với mã UTF-8",
                            en="broken UTF-16 (odd length or lone surrogate): re-save as UTF-8") from exc
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise LoadError(
                path, "không phải UTF-8 (hãy lưu lại với mã UTF-8)", line, en="not valid UTF-8 (re-save as UTF-8)"
            ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def first_markdown_title(text: str) -> str:
    for line in text.split("\n"):
        m = re.match(r"^#[ \t]+(.+?)[ \t#]*$", line)
        if m:
            return m.group(1)
    return ""


def first_text_line(text: str) -> str:
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return ""


_HTML_DROP = {
    "script", "style", "nav", "noscript", "template", "iframe", "svg", "head", "button", "select",
    "canvas", "object", "embed", "form",
}
_HTML_BLOCK = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol", "dl", "dt",
    "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "caption",
    "blockquote", "pre", "hr", "figure", "figcaption", "address", "fieldset", "body", "html",
}


def html_text(path: Path, raw: bytes) -> tuple[str, str]:
    try:
        from bs4 import BeautifulSoup  # noqa: PLC0415 - bs4 only when an HTML file is read
        from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag  # noqa: PLC0415 - bs4 only when an HTML file is read

        soup = BeautifulSoup(raw, "html.parser")
    except Exception as exc:
        raise LoadError(path, f"không đọc được HTML: {exc}", en=f"cannot parse HTML: {exc}") from exc

    title = ""
    if soup.title is not None and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = collapse_ws("".join(current)).strip(" |")
        current.clear()
        if line:
            lines.append(line)

    def walk(node: Tag, in_pre: bool) -> None:
        for child in node.children:
            if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                s = str(child)
                if in_pre and "\n" in s:
                    parts = s.split("\n")
                    for i, part in enumerate(parts):
                        if i:
                            flush()
                        current.append(part)
                else:
                    current.append(s)
                continue
            if not isinstance(child, Tag):
                continue
            name = (child.name or "").lower()
            if name in _HTML_DROP:
                continue
            if name == "br":
                flush()
                continue
            if name in ("td", "th"):
                walk(child, in_pre)
                current.append(" | ")
                continue
            block = name in _HTML_BLOCK
            if block:
                flush()
            walk(child, in_pre or name == "pre")
            if block:
                flush()

    try:
        walk(soup, False)
    except RecursionError as exc:
        raise LoadError(path, "HTML lồng nhau quá sâu", en="HTML nested too deeply") from exc
    flush()
    if not title:
        h1 = soup.find("h1")
        if h1 is not None:
            title = h1.get_text(" ", strip=True)
    return "\n".join(lines), collapse_ws(title)


def pdf_text(path: Path, raw: bytes) -> tuple[str, str]:
    from pypdf import PdfReader  # noqa: PLC0415 - pypdf only when a PDF file is read

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "PDF được mã hóa", en="PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = ""
        if reader.metadata is not None and reader.metadata.title:
            meta_title = str(reader.metadata.title)
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(path, f"không đọc được PDF: {exc}", en=f"cannot read PDF: {exc}") from exc
    text = "\n".join(p.replace("\r\n", "\n").replace("\r", "\n") for p in pages)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text, collapse_ws(meta_title)


def check_docx(path: Path, raw: bytes, max_unpacked: int) -> None:
    """Refuse a DOCX over :data:`DOCX_MAX_PARTS` parts, ``max_unpacked`` unpacked bytes or
    :data:`DOCX_MAX_PARAGRAPHS` paragraphs, reading only the zip directory and (bounded) the body part.

    The directory's sizes can be trusted: ``zipfile`` stops a part at its declared size and fails its CRC."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            parts = zf.infolist()
            if len(parts) > DOCX_MAX_PARTS:
                raise DocumentTooLargeError(
                    path, f"DOCX có {len(parts):,} phần > giới hạn {DOCX_MAX_PARTS:,}",
                    en=f"DOCX has {len(parts):,} parts > limit {DOCX_MAX_PARTS:,}")
            unpacked = sum(p.file_size for p in parts)
            if unpacked > max_unpacked:
                raise DocumentTooLargeError(
                    path, f"DOCX giải nén ra {unpacked:,} byte > giới hạn {max_unpacked:,} "
                          f"({RAW_FACTOR} x KIEMNHIEM_MAX_SOURCE_BYTES)",
                    en=f"DOCX unpacks to {unpacked:,} bytes > limit {max_unpacked:,} "
                       f"({RAW_FACTOR} x KIEMNHIEM_MAX_SOURCE_BYTES)")
            body = next((p for p in parts if p.filename == "word/document.xml"), None)
            if body is None:
                return  # not a Word document: python-docx says so
            with zf.open(body) as f:
                xml = f.read(max_unpacked + 1)
    except zipfile.BadZipFile as exc:
        raise LoadError(path, f"không đọc được DOCX: {exc}", en=f"cannot read DOCX: {exc}") from exc
    paragraphs = xml.count(b"<w:p>") + xml.count(b"<w:p ")
    if paragraphs > DOCX_MAX_PARAGRAPHS:
        raise DocumentTooLargeError(
            path, f"DOCX có {paragraphs:,} đoạn văn > giới hạn {DOCX_MAX_PARAGRAPHS:,}; hãy tách tệp",
            en=f"DOCX has {paragraphs:,} paragraphs > limit {DOCX_MAX_PARAGRAPHS:,}; split it")


def docx_text(path: Path, raw: bytes, max_unpacked: int) -> tuple[str, str]:
    check_docx(path, raw, max_unpacked)
    try:
        import docx  # noqa: PLC0415 - python-docx only when a DOCX file is read
        from docx.table import Table  # noqa: PLC0415 - python-docx only when a DOCX file is read
        from docx.text.paragraph import Paragraph  # noqa: PLC0415 - python-docx only when a DOCX file is read

        document = docx.Document(io.BytesIO(raw))
        lines: list[str] = []
        heading_title = ""
        style_names = {st.style_id: st.name for st in document.styles}
        body = document.element.body
        for child in body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                para = Paragraph(child, document)
                for part in para.text.replace("\r", "\n").split("\n"):
                    part = part.strip()
                    if part:
                        lines.append(part)
                # by id through one table: python-docx's own lookup scans every style for every paragraph
                if not heading_title and style_names.get(child.style or "") in ("Title", "Heading 1"):
                    heading_title = para.text.strip()
            elif tag == "tbl":
                table = Table(child, document)
                for row in table.rows:
                    cells: list[str] = []
                    for cell in row.cells:
                        t = collapse_ws(cell.text)
                        if t and (not cells or cells[-1] != t):  # merged cells repeat
                            cells.append(t)
                    if cells:
                        lines.append(" | ".join(cells))
        core_title = (document.core_properties.title or "").strip()
    except Exception as exc:
        raise LoadError(path, f"không đọc được DOCX: {exc}", en=f"cannot read DOCX: {exc}") from exc
    return "\n".join(lines), collapse_ws(core_title or heading_title)
