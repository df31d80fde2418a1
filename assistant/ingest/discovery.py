"""Which files under the given paths are sources: supported formats, Markdown notes, their sidecars."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from assistant.ingest.errors import LoadError

MARKDOWN_SUFFIXES = (".md", ".markdown")
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
SIDECAR_SUFFIXES = (".yaml", ".yml")


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
