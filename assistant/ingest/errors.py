"""The error every source-loading step raises: it names the file and, where it makes sense, the line
(``knowledge/x.md:3: front matter: …``), so that a user can fix their own source."""

from __future__ import annotations

from pathlib import Path

from assistant.errors import KiemnhiemError


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
