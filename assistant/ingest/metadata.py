"""A document's metadata: YAML front matter or a sidecar ``name.yaml``, validated key by key with its line
(``knowledge/README.md`` lists the keys), and ids made from file names."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import yaml

from assistant.ingest.errors import LoadError
from assistant.ingest.formats import decode_text
from assistant.models import KINDS, STATUSES, Document
from assistant.text import collapse_ws, fold, nfc

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


def slugify(text: str, max_chars: int = MAX_ID_CHARS) -> str:
    """ASCII ``a-z0-9-`` slug (``Điều 27`` -> ``dieu-27``) of at most ``max_chars`` (cut at a hyphen when
    one is near); ``""`` if nothing is left."""
    s = fold(nfc(text))
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    if len(s) > max_chars:
        cut = s[: max_chars + 1].rfind("-")
        s = s[: cut if cut > max_chars // 2 else max_chars]
    return s.strip("-")


def read_front_matter(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """A Markdown note's front matter (dates kept as text) and the file line of each key; ``({}, {})``
    without one. For metadata read outside an ingest (``assistant.answering.milestones``)."""
    try:
        text = decode_text(path, path.read_bytes())
    except OSError as exc:
        raise LoadError(path, f"không đọc được tệp: {exc.strerror or exc}",
                        en=f"cannot read file: {exc.strerror or exc}") from exc
    fm = split_front_matter(path, text)
    if fm is None:
        return {}, {}
    return parse_yaml_mapping(path, fm[0], fm[1], "front matter")


def split_front_matter(path: Path, text: str) -> tuple[str, int, str, int] | None:
    """``(yaml_text, line of its first line, body, body_line)``, or None without front matter."""
    lines = text.split("\n")
    if not lines or not _FM_OPEN_RE.match(lines[0]):
        return None
    for i in range(1, len(lines)):
        if _FM_CLOSE_RE.match(lines[i]):
            return "\n".join(lines[1:i]), 2, "\n".join(lines[i + 1 :]), i + 2
    raise LoadError(path, "front matter: thiếu dòng '---' đóng", 1, en="front matter: missing closing '---' line")


def parse_yaml_mapping(
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


def load_sidecar(sidecar: Path) -> tuple[dict[str, Any], dict[str, int], Path]:
    try:
        source = decode_text(sidecar, sidecar.read_bytes())
    except OSError as exc:
        raise LoadError(sidecar, f"không đọc được tệp: {exc.strerror or exc}",
                        en=f"cannot read file: {exc.strerror or exc}") from exc
    meta, key_lines = parse_yaml_mapping(sidecar, source, 1, "sidecar")
    return meta, key_lines, sidecar


def build_document(
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
