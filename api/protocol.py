"""uvicorn's h11 protocol with two limits the stock one lacks (``kiemnhiem serve`` uses it).

* A request head (request line + headers) must arrive within ``header_timeout`` seconds of the
  connection opening or of the previous response: half-sent connections no longer stay open forever.
* A head larger than ``max_header_bytes`` gets ``431`` in the one error shape and the connection is
  closed, instead of being buffered without bound (httptools, uvicorn's default parser, has no limit).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.errors import error_body
from api.middleware import CSP, SECURITY_HEADERS


class GuardedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, header_timeout: float = 10.0, max_header_bytes: int = 16384,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._rejected = False

    def _waiting_for_head(self) -> bool:
        return self.conn.their_state in (h11.IDLE, h11.DONE) and (self.cycle is None or self.cycle.response_complete)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:  # drained and dropped until the connection closes
            return
        if self._waiting_for_head():
            self._arm()
            end = data.find(b"\r\n\r\n")
            size = self._head_bytes + (end + 4 if end >= 0 else len(data))
            if size > self.max_header_bytes:
                self._disarm()
                self._reject(431, "headers_too_large", f"Header của yêu cầu vượt quá {self.max_header_bytes} byte.",
                             f"The request head exceeds {self.max_header_bytes} bytes.")
                return
            self._head_bytes = 0 if end >= 0 else size
        super().data_received(data)
        if not self.transport.is_closing() and not self._waiting_for_head():
            self._disarm()  # a complete head arrived: the app (and its own limits) take over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._head_bytes = 0

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self._waiting_for_head():
            self.transport.close()

    def _reject(self, status: int, code: str, message: str, message_en: str) -> None:
        body = json.dumps(error_body(code, message, message_en), ensure_ascii=False).encode()
        head = [f"HTTP/1.1 {status} {h11_reason(status)}", "content-type: application/json",
                f"content-length: {len(body)}", "connection: close", f"content-security-policy: {CSP}"]
        head += [f"{k.decode()}: {v.decode()}" for k, v in SECURITY_HEADERS]
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        # half-close and drop what still arrives for a moment: closing with unread input would send a TCP
        # reset, and the client could lose the 431 it was sent
        self._rejected = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(2.0, self.transport.close)


def h11_reason(status: int) -> str:
    return {431: "Request Header Fields Too Large"}.get(status, "Error")
