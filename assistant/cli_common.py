"""What every CLI command shares: consoles, the one Settings load, errors and JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from assistant.config import Settings, configure_threads
from assistant.errors import KiemnhiemError

console = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a Vietnamese-first error on stderr and exit (never hard-wrapped, so paths stay whole)."""
    console.print(f"[bold red]Lỗi:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_error(exc: KiemnhiemError, code: int = 1, as_json: bool = False) -> NoReturn:
    """A library error: its Vietnamese line; with ``--json`` also ``{"error": {code, message, message_en}}``
    as one JSON line on stderr (stdout keeps carrying results only)."""
    if as_json:
        sys.stderr.write(json.dumps({"error": {"code": exc.code, "message": exc.text_vi(),
                                               "message_en": exc.text_en()}}, ensure_ascii=False) + "\n")
    fail(exc.text_vi(), code)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: it names the variable
        fail(f"Cấu hình không hợp lệ / invalid configuration: {exc}")
    configure_threads(settings)
    return settings


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
