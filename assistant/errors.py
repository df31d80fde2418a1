"""Errors as data: every error the library raises on purpose carries a stable ``code`` and its
message in Vietnamese (``message_vi``, what users read) and English (``message_en``).

The API turns one into ``{"error": {"code", "message", "message_en"}}`` and the CLI prints the
Vietnamese line (both with ``--json``) straight from these fields, so nobody has to split a
glued string apart again. ``str()`` keeps the historical ``"<vi> / <en>"`` form for logs.
"""

from __future__ import annotations

from typing import Any


class KiemnhiemError(Exception):
    """Base class: ``code`` (snake_case, stable), ``message_vi`` and ``message_en``."""

    code: str = "error"  # subclasses override it; an instance may narrow it (FeedbackError by kind)

    def __init__(self, message_vi: str, message_en: str | None = None) -> None:
        self.message_vi = message_vi
        self.message_en = message_en if message_en is not None else message_vi
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.message_en == self.message_vi:
            return self.message_vi
        return f"{self.message_vi} / {self.message_en}"

    def text_vi(self) -> str:
        """The Vietnamese line a user reads (subclasses prefix where it happened)."""
        return self.message_vi

    def text_en(self) -> str:
        return self.message_en

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (multiprocessing, pytest-xdist) keeps every field
        return (_restore, (type(self), dict(self.__dict__)))

    def to_json(self) -> dict[str, str]:
        """The API's error object (without ``details``)."""
        return {"code": self.code, "message": self.message_vi, "message_en": self.message_en}


def _restore(cls: type[KiemnhiemError], state: dict[str, Any]) -> KiemnhiemError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    err.args = (str(err),)
    return err
