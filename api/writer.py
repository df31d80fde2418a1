"""Index writes for the API (``/admin/reindex``, uploads, deletes) in a child process, with a deadline.

A write that goes wrong inside Chroma (after a full disk the red team saw a reindex hang holding the GIL:
``/health`` stopped answering, SIGTERM was ignored) must not take the server with it. So the API process never
writes the store itself: each write runs in a fresh child process (``spawn``) that takes the ingest lock,
changes the sources and ingests (``assistant.ingest.uploads``), while the server keeps answering from its snapshot.
A child still running after ``KIEMNHIEM_REINDEX_TIMEOUT`` seconds is killed (a killed ingest leaves the
previous index whole, and the next writer puts back interrupted upload folders) and the request gets
``504 index_write_timeout``. The child dies with the server (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the
server also interrupts the write, which the next start-up recovers.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import pickle
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from assistant.config import Settings, configure_threads
from assistant.errors import KiemnhiemError
from assistant.ingest import uploads
from assistant.ingest.pipeline import KnowledgeIndex

T = TypeVar("T")
log = logging.getLogger("kiemnhiem.api")


class WriteTimeoutError(KiemnhiemError):
    code = "index_write_timeout"


class WriterDiedError(KiemnhiemError):
    code = "index_write_failed"


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the server that started it dies (best effort elsewhere)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s (index writer): %(message)s")
    try:
        outcome: tuple[str, Any] = ("ok", fn(*args))
    except BaseException as exc:  # noqa: BLE001 - every outcome goes back to the server
        outcome = ("error", exc)
    try:
        pickle.dumps(outcome)
    except Exception:  # noqa: BLE001 - an error that does not pickle still reaches the server, as text
        outcome = ("error", RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}"))
    conn.send(outcome)
    conn.close()


def in_child(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """``fn(*args)`` in a fresh child process; its result, or what it raised; :class:`WriteTimeoutError` (the
    child killed) after ``timeout`` seconds. Blocking: call it from a worker thread."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, fn, args), name="kiemnhiem-index-writer", daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            proc.kill()
            proc.join(30)
            log.error("index write %s killed after %.0f s", getattr(fn, "__name__", fn), timeout)
            raise WriteTimeoutError(
                f"Việc ghi chỉ mục không xong trong {timeout:g} giây nên đã bị dừng; chỉ mục hiện tại không đổi. "
                "Hãy kiểm tra ổ đĩa và kho dữ liệu rồi thử lại.",
                f"The index write did not finish within {timeout:g} seconds and was stopped; the current index is "
                "unchanged. Check the disk and the store, then retry.")
        try:
            kind, value = receiver.recv()
        except EOFError:
            proc.join(30)
            raise WriterDiedError(f"Tiến trình ghi chỉ mục dừng bất thường (mã {proc.exitcode}); chỉ mục hiện tại "
                                  "không đổi.", f"The index writer process died (exit code {proc.exitcode}); the "
                                  "current index is unchanged.") from None
    finally:
        receiver.close()
    proc.join(30)
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


# --- what runs in the child: one index of its own over the same data dir ---------------------------------
def _index(settings: Settings) -> KnowledgeIndex:
    configure_threads(settings)
    return KnowledgeIndex(settings)


def put_upload(settings: Settings, staging: Path, doc_id: str, lock_timeout: float) -> dict[str, Any]:
    return uploads.put(_index(settings), staging, doc_id, lock_timeout)


def remove_upload(settings: Settings, doc_id: str, lock_timeout: float) -> dict[str, Any]:
    return uploads.remove(_index(settings), doc_id, lock_timeout)


def reindex(settings: Settings, lock_timeout: float) -> dict[str, Any]:
    return uploads.reindex(_index(settings), lock_timeout)
