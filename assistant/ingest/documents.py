"""Load source files of every supported format into :class:`~assistant.models.Document`.

Markdown notes carry their metadata in YAML front matter (see ``knowledge/README.md``);
other files (``.txt``, ``.html``, ``.pdf``, ``.docx``) and Markdown files without front matter
take it from a same-name sidecar ``name.yaml`` / ``name.yml`` next to them, or have it inferred
(id from the file name, title from the first heading or line).

Every problem is reported as a :class:`LoadError` that names the file and, where it makes sense,
the line (``knowledge/x.md:3: front matter: …``), so that a user can fix their own source.

The steps live in their own modules: :mod:`~assistant.ingest.discovery` (which files),
:mod:`~assistant.ingest.formats` (text out of each format), :mod:`~assistant.ingest.metadata` (front
matter and sidecars), :mod:`~assistant.ingest.annotations` (section periods and editorial notes).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.ingest.annotations import extract_annotations
from assistant.ingest.discovery import MARKDOWN_SUFFIXES, SUPPORTED_SUFFIXES, discover_files, find_sidecar
from assistant.ingest.errors import DocumentTooLargeError, LoadError
from assistant.ingest.formats import (
    DOCX_MAX_PARAGRAPHS,
    DOCX_MAX_PARTS,
    RAW_FACTOR,
    decode_text,
    docx_text,
    first_markdown_title,
    first_text_line,
    html_text,
    pdf_text,
)
from assistant.ingest.metadata import (
    MAX_ID_CHARS,
    build_document,
    load_sidecar,
    parse_yaml_mapping,
    read_front_matter,
    slugify,
    split_front_matter,
)
from assistant.models import Document
from assistant.screening import screen_text
from assistant.text import nfc

# the names the rest of the code loads sources by (one import for a caller)
__all__ = ["DOCX_MAX_PARAGRAPHS", "DOCX_MAX_PARTS", "MAX_ID_CHARS", "DocumentTooLargeError", "LoadError",
           "iter_documents", "load_document", "read_front_matter", "screen_document", "slugify"]

DEFAULT_MAX_SOURCE_BYTES = 5_000_000  # Settings.max_source_bytes


def load_document(path: Path, max_bytes: int | None = DEFAULT_MAX_SOURCE_BYTES) -> Document:
    """Load one file (any supported format) into a :class:`Document`; raise :class:`LoadError`.

    ``max_bytes`` bounds the text (UTF-8 bytes): a bigger source is refused (a 50 MB note would hold the
    ingest lock for hours of embedding). Any failure, whatever its cause, is a :class:`LoadError`.
    """
    path = Path(path)
    try:
        return _load_document(path, max_bytes)
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError(path, "cấu trúc lồng nhau quá sâu", en="nested too deeply to read") from exc
    except UnicodeError as exc:
        raise LoadError(path, f"mã hóa ký tự không hợp lệ: {exc}", en=f"invalid text encoding: {exc}") from exc
    except (ValueError, TypeError, OSError, MemoryError) as exc:
        raise LoadError(path, f"không đọc được tệp: {type(exc).__name__}: {exc}",
                        en=f"cannot load file: {type(exc).__name__}: {exc}") from exc


def _too_big(path: Path, size: int, max_bytes: int) -> LoadError:
    return DocumentTooLargeError(path, f"tệp quá lớn: {size:,} byte > giới hạn {max_bytes:,} (KIEMNHIEM_MAX_SOURCE_BYTES); "
                           "hãy tách tệp",
                     en=f"file too large: {size:,} bytes > limit {max_bytes:,} (KIEMNHIEM_MAX_SOURCE_BYTES); split it")


def _load_document(path: Path, max_bytes: int | None) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            path,
            f"định dạng không hỗ trợ {suffix or '(không có)'}; dùng một trong: {' '.join(SUPPORTED_SUFFIXES)}",
            en=f"unsupported file type {suffix or '(none)'}; use one of: {' '.join(SUPPORTED_SUFFIXES)}",
        )
    if not path.is_file():
        raise LoadError(path, "không tìm thấy tệp", en="file not found")
    if max_bytes:
        size = path.stat().st_size
        text_format = suffix in MARKDOWN_SUFFIXES or suffix == ".txt"
        if size > max_bytes * (1 if text_format else RAW_FACTOR):
            raise _too_big(path, size, max_bytes)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(path, f"không đọc được tệp: {exc.strerror or exc}",
                        en=f"cannot read file: {exc.strerror or exc}") from exc

    meta: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    meta_path = path
    body_line = 1
    inferred_title = ""

    if suffix in MARKDOWN_SUFFIXES or suffix == ".txt":
        text = decode_text(path, raw)
        if suffix in MARKDOWN_SUFFIXES:
            fm = split_front_matter(path, text)
            if fm is not None:
                fm_text, fm_first_line, text, body_line = fm
                meta, key_lines = parse_yaml_mapping(path, fm_text, fm_first_line, "front matter")
                meta_path = path
            inferred_title = first_markdown_title(text)
    elif suffix in (".html", ".htm"):
        text, inferred_title = html_text(path, raw)
    elif suffix == ".pdf":
        text, inferred_title = pdf_text(path, raw)
    else:  # .docx
        text, inferred_title = docx_text(path, raw, (max_bytes or DEFAULT_MAX_SOURCE_BYTES) * RAW_FACTOR)

    if not meta:
        sidecar = find_sidecar(path)
        if sidecar is not None:
            meta, key_lines, meta_path = load_sidecar(sidecar)

    text = nfc(text)
    if max_bytes and len(text) > max_bytes // 4 and len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise _too_big(path, len(text.encode("utf-8", "surrogatepass")), max_bytes)
    lines_known = suffix in MARKDOWN_SUFFIXES or suffix == ".txt"
    text, editorial, periods = extract_annotations(
        path, text, body_line if lines_known else None, markdown=suffix in MARKDOWN_SUFFIXES
    )
    if not text.strip():
        if suffix == ".pdf":
            raise LoadError(path, "PDF không có lớp chữ (bản quét?)", en="PDF has no text layer (scanned? run OCR first)")
        raise LoadError(path, "tài liệu không có nội dung", en="document has no text")
    if not inferred_title:
        inferred_title = first_text_line(text)
    doc = build_document(path, meta_path, meta, key_lines, text, body_line, inferred_title)
    doc.editorial = editorial
    doc.section_periods = periods
    return doc


def iter_documents(paths: Iterable[Path | str], *, follow_symlinks: bool = False,
                   max_bytes: int | None = DEFAULT_MAX_SOURCE_BYTES) -> tuple[list[Document], list[LoadError]]:
    """Load every document under ``paths`` (files or directories, walked recursively, sorted).

    Returns the documents that loaded and one :class:`LoadError` per file that did not (a bad
    file never stops the others). ``README.md`` files, ``.yaml`` sidecars, hidden files and
    unsupported types inside directories are skipped; an explicitly named file of an
    unsupported type is an error. A second document with an id already seen is an error.
    Symbolic links met inside a folder are not followed (each is reported) unless ``follow_symlinks``:
    a link out of the knowledge folder would otherwise publish its target through ``/sources``.
    """
    docs: list[Document] = []
    errors: list[LoadError] = []
    seen_paths: set[Path] = set()
    ids: dict[str, str] = {}
    for path in discover_files(paths, errors, follow_symlinks=follow_symlinks):
        key = path.resolve()
        if key in seen_paths:
            continue
        seen_paths.add(key)
        try:
            doc = load_document(path, max_bytes)
        except LoadError as exc:
            errors.append(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the others
            errors.append(LoadError(path, f"không đọc được tệp: {type(exc).__name__}: {exc}",
                                    en=f"cannot load file: {type(exc).__name__}: {exc}"))
            continue
        if doc.id in ids:
            errors.append(
                LoadError(path, f"trùng id {doc.id!r} (đã có trong {ids[doc.id]})",
                          en=f"duplicate id {doc.id!r} (already used by {ids[doc.id]})")
            )
            continue
        ids[doc.id] = str(path)
        docs.append(doc)
    return docs, errors


def screen_document(doc: Document, shown_as: str | None = None) -> list[str]:
    """One warning per sentence of ``doc`` that looks like an instruction planted for the assistant, naming
    the file (or ``shown_as``, an upload's own name) and its line, so a curator can read and remove it.

    Such sentences are never quoted nor count as support (``assistant/screening.py``); the warning says
    why an otherwise fine source is quoted less than expected. A text file's line is looked up in the file
    itself (editorial blocks are not in ``doc.text``); a PDF/DOCX's is the line of its extracted text."""
    findings = screen_text(doc.text, doc.body_line)
    if not findings:
        return []
    raw = ""
    if Path(doc.path).suffix.lower() in (*MARKDOWN_SUFFIXES, ".txt"):
        try:
            raw = nfc(Path(doc.path).read_text("utf-8", errors="replace"))
        except OSError:
            raw = ""
    out = []
    for f in findings:
        at = raw.find(f.sentence) if raw else -1
        line = raw.count("\n", 0, at) + 1 if at >= 0 else f.line
        out.append(type(f)(line, f.sentence, f.reason).describe(shown_as or doc.path))
    return out
