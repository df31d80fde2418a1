"""Load source files of every supported format into :class:`~assistant.models.Document`.

Markdown notes carry their metadata in YAML front matter (see ``knowledge/README.md``);
other files (``.txt``, ``.html``, ``.pdf``, ``.docx``) and Markdown files without front matter
take it from a same-name sidecar ``name.yaml`` / ``name.yml`` next to them, or have it inferred
(id from the file name, title from the first heading or line).

Every problem is reported as a :class:`LoadError` that names the file and, where it makes sense,
the line (``knowledge/x.md:3: front matter: …``), so that a user can fix their own source.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import KiemnhiemError
from assistant.models import KINDS, STATUSES, Document, SectionMarker, SectionPeriod
from assistant.screening import screen_text
from assistant.text import collapse_ws, fold, nfc

MARKDOWN_SUFFIXES = (".md", ".markdown")
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
SIDECAR_SUFFIXES = (".yaml", ".yml")
TEXT_FORMS = ("tom-luoc", "nguyen-van")
# One cap for a document id everywhere (files, folders, URLs, Chroma metadata): a file name of 255 bytes is
# the file system's limit, and an id the API cannot route would name a document nobody can open or delete.
MAX_ID_CHARS = 100
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ISO_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[Tt ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_FM_OPEN_RE = re.compile(r"^---[ \t]*$")
_FM_CLOSE_RE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_STRING_KEYS = ("id", "title", "short_title", "number", "kind", "issuer", "status", "text_form")
_LIST_KEYS = ("amended_by", "replaced_by", "source_urls")
_DATE_KEYS = ("issued", "effective", "expired")
# "> Áp dụng: valid_from=2025-07-01; valid_to=…; elections=2016, 2021" right under a section heading
# (matched on folded text, so "Ap dung" works too); "> Ghi chú biên soạn: …" guidance for maintainers
_PERIOD_MARK_RE = re.compile(r"^[ \t]{0,3}(?:>[ \t]*)?ap dung[ \t]*:")
_EDITORIAL_RE = re.compile(r"^[ \t]{0,3}(?:>[ \t]*)?ghi chu bien soan[ \t]*:")
_QUOTE_CONT_RE = re.compile(r"^[ \t]{0,3}>")
_MD_HEADING_RE = re.compile(r"^##[ \t]+\S")
_FENCE_LINE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")
PERIOD_KEYS = ("valid_from", "valid_to", "elections")


class LoadError(KiemnhiemError):
    """A source file that cannot be loaded. ``str()`` is ``path:line: <vi> / <en>``."""

    code = "invalid_document"

    def __init__(self, path: Path | str, message_vi: str, line: int | None = None, *,
                 en: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        super().__init__(message_vi, en)

    @property
    def message(self) -> str:
        """Both languages without the location."""
        return KiemnhiemError.__str__(self)

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else f"{self.path}"

    def text_vi(self) -> str:
        return f"{self.where()}: {self.message_vi}"

    def text_en(self) -> str:
        return f"{self.where()}: {self.message_en}"

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


class DocumentTooLargeError(LoadError):
    """A source over one of the size limits (text bytes, a DOCX's unpacked size, parts or paragraphs): the
    HTTP layer answers 413 rather than 422, the file itself is fine as a format."""

    code = "document_too_large"


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


DEFAULT_MAX_SOURCE_BYTES = 5_000_000  # Settings.max_source_bytes
# a PDF/DOCX/HTML file may be bigger than its text, but not without bound: parsing is not free either
_RAW_FACTOR = 10
# A DOCX is a zip: checked from its directory, before any part is unpacked or parsed. A 1 MB file can name
# a 1 GB part of zeros (the parser would hold all of it), and 42 KB can hold 80,000 empty paragraphs (a
# minute of parsing on every later reindex). The unpacked parts may take _RAW_FACTOR x the text limit;
# the longest law we hold has under 3,000 paragraphs and 60 parts.
DOCX_MAX_PARTS = 1000
DOCX_MAX_PARAGRAPHS = 10_000


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
        if size > max_bytes * (1 if text_format else _RAW_FACTOR):
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
        text = _decode_text(path, raw)
        if suffix in MARKDOWN_SUFFIXES:
            fm = _split_front_matter(path, text)
            if fm is not None:
                fm_text, fm_first_line, text, body_line = fm
                meta, key_lines = _parse_yaml_mapping(path, fm_text, fm_first_line, "front matter")
                meta_path = path
            inferred_title = _first_markdown_title(text)
    elif suffix in (".html", ".htm"):
        text, inferred_title = _html_text(path, raw)
    elif suffix == ".pdf":
        text, inferred_title = _pdf_text(path, raw)
    else:  # .docx
        text, inferred_title = _docx_text(path, raw, (max_bytes or DEFAULT_MAX_SOURCE_BYTES) * _RAW_FACTOR)

    if not meta:
        sidecar = find_sidecar(path)
        if sidecar is not None:
            meta, key_lines, meta_path = _load_sidecar(sidecar)

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
        inferred_title = _first_line(text)
    doc = _build_document(path, meta_path, meta, key_lines, text, body_line, inferred_title)
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


def discover_files(paths: Iterable[Path | str], errors: list[LoadError] | None = None, *,
                   follow_symlinks: bool = False) -> list[Path]:
    """The document files ``iter_documents`` would load, in order (errors appended for bad paths)."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                rel = child.relative_to(p)
                if any(part.startswith((".", "~$")) for part in rel.parts):
                    continue
                if not follow_symlinks and _linked(p, rel):
                    if errors is not None and child.is_symlink() and (child.is_dir() or is_document_file(child)):
                        errors.append(LoadError(
                            child, "liên kết tượng trưng không được theo (đặt KIEMNHIEM_FOLLOW_SYMLINKS=true)",
                            en="symbolic link not followed (set KIEMNHIEM_FOLLOW_SYMLINKS=true)"))
                    continue
                if child.is_file() and is_document_file(child):
                    found.append(child)
        elif p.is_file():
            if p.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(p)
            elif errors is not None:
                errors.append(
                    LoadError(p, f"định dạng không hỗ trợ {p.suffix or '(không có)'}",
                              en=f"unsupported file type {p.suffix or '(none)'}")
                )
        elif errors is not None:
            errors.append(LoadError(p, "không tìm thấy", en="not found"))
    return found


def _linked(root: Path, rel: Path) -> bool:
    """Whether ``root/rel`` or any folder between them is a symbolic link."""
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def is_document_file(path: Path) -> bool:
    """Whether a file met while walking a directory is a document (not README, sidecar, hidden)."""
    name = path.name
    if name.startswith((".", "~$")):
        return False
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return False
    if path.stem.lower() == "readme" and suffix in (*MARKDOWN_SUFFIXES, ".txt"):
        return False
    return True


def find_sidecar(path: Path) -> Path | None:
    """``name.yaml`` / ``name.yml`` (or ``name.pdf.yaml``) next to ``path``, if present."""
    for base in (path.with_suffix(""), path):
        for ext in SIDECAR_SUFFIXES:
            candidate = base.parent / (base.name + ext)
            if candidate.is_file():
                return candidate
    return None


def slugify(text: str, max_chars: int = MAX_ID_CHARS) -> str:
    """ASCII ``a-z0-9-`` slug (``Điều 27`` -> ``dieu-27``) of at most ``max_chars`` (cut at a hyphen when
    one is near); ``""`` if nothing is left."""
    s = fold(nfc(text))
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    if len(s) > max_chars:
        cut = s[: max_chars + 1].rfind("-")
        s = s[: cut if cut > max_chars // 2 else max_chars]
    return s.strip("-")


# --------------------------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------------------------


def read_front_matter(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """A Markdown note's front matter (dates kept as text) and the file line of each key; ``({}, {})``
    without one. For metadata read outside an ingest (``assistant.answering.milestones``)."""
    try:
        text = _decode_text(path, path.read_bytes())
    except OSError as exc:
        raise LoadError(path, f"không đọc được tệp: {exc.strerror or exc}",
                        en=f"cannot read file: {exc.strerror or exc}") from exc
    fm = _split_front_matter(path, text)
    if fm is None:
        return {}, {}
    return _parse_yaml_mapping(path, fm[0], fm[1], "front matter")


def _split_front_matter(path: Path, text: str) -> tuple[str, int, str, int] | None:
    """``(yaml_text, line of its first line, body, body_line)``, or None without front matter."""
    lines = text.split("\n")
    if not lines or not _FM_OPEN_RE.match(lines[0]):
        return None
    for i in range(1, len(lines)):
        if _FM_CLOSE_RE.match(lines[i]):
            return "\n".join(lines[1:i]), 2, "\n".join(lines[i + 1 :]), i + 2
    raise LoadError(path, "front matter: thiếu dòng '---' đóng", 1, en="front matter: missing closing '---' line")


def _parse_yaml_mapping(
    path: Path, source: str, first_line: int, what: str
) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse a YAML mapping, returning it and the file line of each top-level key."""
    offset = first_line - 1
    loader = _MetaLoader(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else first_line
        context = exc.context or ""
        if context and exc.context_mark is not None and exc.context_mark.line + 1 + offset != line:
            context += f" (line {exc.context_mark.line + 1 + offset})"
        problem = ": ".join(str(x) for x in (context, exc.problem) if x)
        raise LoadError(path, f"{what}: YAML không hợp lệ: {problem}", line, en=f"{what}: invalid YAML: {problem}") from exc
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise LoadError(path, f"{what}: YAML không hợp lệ: {exc}", first_line, en=f"{what}: invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise LoadError(path, f"{what}: YAML lồng nhau quá sâu", first_line, en=f"{what}: YAML nested too deeply") from exc
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise LoadError(
            path, f"{what}: phải là các cặp 'khóa: giá trị'", first_line, en=f"{what}: must be a mapping of 'key: value'"
        )
    key_lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 1 + offset
        if key in key_lines:
            raise LoadError(path, f"{what}: khóa '{key}' bị lặp", line, en=f"{what}: duplicate key '{key}'")
        key_lines[key] = line
    return {str(k): v for k, v in data.items()}, key_lines


class _MetaLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as text, so dates are validated with the key's line."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):  # a timestamp tag on a list or mapping: not a date
        raise yaml.constructor.ConstructorError(None, None, "expected a date", node.start_mark)
    return str(loader.construct_scalar(node))


_MetaLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _load_sidecar(sidecar: Path) -> tuple[dict[str, Any], dict[str, int], Path]:
    try:
        source = _decode_text(sidecar, sidecar.read_bytes())
    except OSError as exc:
        raise LoadError(sidecar, f"không đọc được tệp: {exc.strerror or exc}",
                        en=f"cannot read file: {exc.strerror or exc}") from exc
    meta, key_lines = _parse_yaml_mapping(sidecar, source, 1, "sidecar")
    return meta, key_lines, sidecar


def _build_document(
    path: Path,
    meta_path: Path,
    meta: dict[str, Any],
    key_lines: dict[str, int],
    text: str,
    body_line: int,
    inferred_title: str,
) -> Document:
    what = "front matter" if meta_path == path else "sidecar"

    def fail(key: str, vi: str, en: str) -> LoadError:
        return LoadError(meta_path, f"{what}: {vi}", key_lines.get(key), en=f"{what}: {en}")

    values: dict[str, Any] = {}
    for key in _STRING_KEYS:
        if key not in meta or meta[key] is None:
            continue
        v = meta[key]
        if isinstance(v, (dict, list)):
            raise fail(key, f"'{key}' phải là một chuỗi", f"'{key}' must be a single string")
        values[key] = collapse_ws(nfc(str(v)))
    for key in _LIST_KEYS:
        v = meta.get(key)
        if v is None or v == "":
            values[key] = []
        elif isinstance(v, (str, int, float)):
            values[key] = [collapse_ws(nfc(str(v)))]
        elif isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
            values[key] = [collapse_ws(nfc(str(x))) for x in v if str(x).strip()]
        else:
            raise fail(key, f"'{key}' phải là danh sách chuỗi", f"'{key}' must be a list of strings")
    for key in _DATE_KEYS:
        v = meta.get(key)
        if v is None or v == "":
            values[key] = ""
            continue
        if isinstance(v, _dt.datetime):
            v = v.date()
        if isinstance(v, _dt.date):
            values[key] = v.isoformat()
            continue
        raw = str(v).strip()
        m = _ISO_DATE_RE.match(raw)
        try:
            if m is None:
                raise ValueError(raw)
            values[key] = _dt.date.fromisoformat(m.group(1)).isoformat()
        except ValueError:
            raise fail(
                key, f"'{key}: {raw}' không phải ngày hợp lệ dạng YYYY-MM-DD", f"'{key}: {raw}' is not a valid ISO date"
            ) from None

    doc_id = values.get("id") or ""
    if doc_id:
        if not ID_RE.match(doc_id):
            raise fail("id", f"id {doc_id!r} chỉ được gồm a-z, 0-9, '-'", f"id {doc_id!r} must match {ID_RE.pattern}")
        if len(doc_id) > MAX_ID_CHARS:
            raise fail("id", f"id dài {len(doc_id)} ký tự > giới hạn {MAX_ID_CHARS}",
                       f"id is {len(doc_id)} characters > limit {MAX_ID_CHARS}")
    else:
        doc_id = slugify(path.stem) or "tai-lieu"
    title = values.get("title") or collapse_ws(inferred_title) or path.stem
    kind = values.get("kind") or "khac"
    if kind not in KINDS:
        raise fail("kind", f"kind {kind!r} không hợp lệ; dùng một trong: {', '.join(KINDS)}",
                   f"kind {kind!r} is invalid; use one of: {', '.join(KINDS)}")
    status = values.get("status") or "tham-khao"
    if status not in STATUSES:
        raise fail(
            "status", f"status {status!r} không hợp lệ; dùng một trong: {', '.join(STATUSES)}",
            f"status {status!r} is invalid; use one of: {', '.join(STATUSES)}"
        )
    text_form = values.get("text_form", "")
    if text_form and text_form not in TEXT_FORMS:
        raise fail(
            "text_form", f"text_form {text_form!r} không hợp lệ; dùng: {', '.join(TEXT_FORMS)}",
            f"text_form {text_form!r} is invalid; use: {', '.join(TEXT_FORMS)}"
        )
    if values["effective"] and values["expired"] and values["expired"] < values["effective"]:
        raise fail("expired", f"'expired: {values['expired']}' trước 'effective: {values['effective']}'",
                   f"'expired: {values['expired']}' is before 'effective: {values['effective']}'")
    return Document(
        id=doc_id,
        title=title,
        text=text,
        path=str(path),
        number=values.get("number", ""),
        kind=kind,
        issuer=values.get("issuer", ""),
        issued=values["issued"],
        effective=values["effective"],
        status=status,
        amended_by=values["amended_by"],
        text_form=text_form,
        source_urls=values["source_urls"],
        short_title=values.get("short_title", ""),
        body_line=body_line,
        expired=values["expired"],
        replaced_by=values["replaced_by"],
    )


# --------------------------------------------------------------------------------------------
# section periods and editorial notes (removed from the body text)
# --------------------------------------------------------------------------------------------


def extract_annotations(
    path: Path, text: str, first_line: int | None, markdown: bool = True
) -> tuple[str, list[str], list[SectionMarker]]:
    """Remove ``> Áp dụng: …`` and ``> Ghi chú biên soạn: …`` lines from ``text``.

    Returns the text without them, the editorial notes (never indexed or quoted) and, for each
    period marker, where it stood (its ``##`` heading line, or its offset in the returned text).
    ``first_line`` is the file line of ``text``'s first line (None when lines are not the file's,
    e.g. text extracted from a PDF). In a Markdown note with ``##`` sections a period marker must
    stand right under a ``##`` heading (blank lines and editorial notes may sit between), once.
    """
    lines = text.split("\n")
    out: list[str] = []
    out_len = 0
    editorial: list[str] = []
    periods: list[SectionMarker] = []
    heading, seen_headings = "", Counter[str]()
    has_sections = markdown and any(_MD_HEADING_RE.match(ln) for ln in lines)
    in_fence = False
    under_heading = False  # only blank lines and annotations since the last "##" heading
    marked_heading = False  # the current "##" section already has a period marker

    def where(i: int) -> int | None:
        return first_line + i if first_line is not None else None

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE_LINE_RE.match(line):
            in_fence = not in_fence
        folded = fold(line) if not in_fence else ""
        if not in_fence and _EDITORIAL_RE.match(folded):
            parts = [line.split(":", 1)[1].strip()]
            j = i + 1
            quoted = line.lstrip().startswith(">")
            while quoted and j < len(lines) and _QUOTE_CONT_RE.match(lines[j]) and not (
                _PERIOD_MARK_RE.match(fold(lines[j])) or _EDITORIAL_RE.match(fold(lines[j]))
            ):
                parts.append(lines[j].lstrip()[1:].strip())
                j += 1
            note = collapse_ws(" ".join(p for p in parts if p))
            if not note:
                raise LoadError(path, "ghi chú biên soạn trống", where(i), en="empty 'Ghi chú biên soạn' note")
            editorial.append(note)
            i = j
            continue
        if not in_fence and _PERIOD_MARK_RE.match(folded):
            if has_sections and not under_heading:
                raise LoadError(
                    path,
                    "'Áp dụng:' phải đặt ngay dưới tiêu đề '##' của mục",
                    where(i),
                    en="'Áp dụng:' must stand right under a '##' heading",
                )
            if has_sections and marked_heading:
                raise LoadError(path, "mục đã có dòng 'Áp dụng:'", where(i),
                                en="the section already has an 'Áp dụng:' line")
            anchor = heading if has_sections else ""
            occurrence = seen_headings[anchor] - 1 if anchor else 0
            periods.append(SectionMarker(out_len, anchor, occurrence,
                                         parse_period_marker(path, line.split(":", 1)[1], where(i))))
            marked_heading = True
            i += 1
            continue
        if not in_fence and _MD_HEADING_RE.match(line):
            under_heading, marked_heading = True, False
            heading = line.rstrip()
            seen_headings[heading] += 1
        elif line.strip():
            under_heading = False
        out.append(line)
        out_len += len(line) + 1
        i += 1
    return "\n".join(out), editorial, periods


def parse_period_marker(path: Path, spec: str, line: int | None) -> SectionPeriod:
    """``valid_from=2025-07-01; valid_to=2025-06-30; elections=2016, 2021`` -> :class:`SectionPeriod`."""
    values: dict[str, str] = {}
    for item in spec.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in PERIOD_KEYS:
            raise LoadError(
                path,
                f"'Áp dụng:' dùng {'; '.join(k + '=…' for k in PERIOD_KEYS)}; mục {item.strip()!r} không hợp lệ",
                line,
                en=f"invalid item {item.strip()!r}; use {'; '.join(k + '=…' for k in PERIOD_KEYS)}",
            )
        if key in values:
            raise LoadError(path, f"'Áp dụng:' khóa '{key}' bị lặp", line, en=f"'Áp dụng:' duplicate key '{key}'")
        values[key] = value.strip()
    if not values:
        raise LoadError(path, "'Áp dụng:' trống", line, en="empty 'Áp dụng:' line")
    dates: dict[str, str] = {}
    for key in ("valid_from", "valid_to"):
        raw = values.get(key, "")
        if not raw:
            continue
        try:
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
                raise ValueError(raw)
            dates[key] = _dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            raise LoadError(path, f"'Áp dụng:' {key}={raw} không phải ngày dạng YYYY-MM-DD", line,
                            en=f"'Áp dụng:' {key}={raw} is not an ISO date") from None
    if dates.get("valid_from") and dates.get("valid_to") and dates["valid_to"] < dates["valid_from"]:
        raise LoadError(path, f"'Áp dụng:' valid_to={dates['valid_to']} trước valid_from={dates['valid_from']}", line,
                        en=f"'Áp dụng:' valid_to={dates['valid_to']} is before valid_from={dates['valid_from']}")
    elections: list[int] = []
    for tok in re.split(r"[,\s]+", values.get("elections", "")):
        if not tok:
            continue
        if not re.match(r"^(19|20)\d{2}$", tok):
            raise LoadError(path, f"'Áp dụng:' elections: {tok!r} không phải năm (ví dụ 2016, 2021)", line,
                            en=f"'Áp dụng:' elections: {tok!r} is not a year (e.g. 2016, 2021)")
        if int(tok) not in elections:
            elections.append(int(tok))
    return SectionPeriod(dates.get("valid_from", ""), dates.get("valid_to", ""), tuple(sorted(elections)))


# --------------------------------------------------------------------------------------------
# formats
# --------------------------------------------------------------------------------------------


def _decode_text(path: Path, raw: bytes) -> str:
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


def _first_markdown_title(text: str) -> str:
    for line in text.split("\n"):
        m = re.match(r"^#[ \t]+(.+?)[ \t#]*$", line)
        if m:
            return m.group(1)
    return ""


def _first_line(text: str) -> str:
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


def _html_text(path: Path, raw: bytes) -> tuple[str, str]:
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


def _pdf_text(path: Path, raw: bytes) -> tuple[str, str]:
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


def _check_docx(path: Path, raw: bytes, max_unpacked: int) -> None:
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
                          f"({_RAW_FACTOR} x KIEMNHIEM_MAX_SOURCE_BYTES)",
                    en=f"DOCX unpacks to {unpacked:,} bytes > limit {max_unpacked:,} "
                       f"({_RAW_FACTOR} x KIEMNHIEM_MAX_SOURCE_BYTES)")
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


def _docx_text(path: Path, raw: bytes, max_unpacked: int) -> tuple[str, str]:
    _check_docx(path, raw, max_unpacked)
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
