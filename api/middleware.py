"""ASGI middleware: request body cap and deadline, header limits, allowed hosts and security headers on every
response."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from api.deps import given_admin_key, key_matches
from api.errors import APIError, error_body, log_unexpected

log = logging.getLogger("kiemnhiem.api")

Scope = dict[str, Any]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI needs one inline bootstrap script; only /docs gets it
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class BodyLimitMiddleware:
    """Reject bodies over ``max_bytes`` with 413, whether or not Content-Length is honest, and bodies still
    incomplete ``body_timeout`` seconds after their request head with 408 (connection closed).

    The deadline is for the whole body, not between reads: a client trickling one byte a second would pass any
    idle timeout and hold a connection and a worker task for as long as it liked (uvicorn has no body timeout).
    """

    def __init__(self, app: Any, max_bytes: int, upload_bytes: int | None = None, admin_key: str | None = None,
                 body_timeout: float = 60.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes  # document uploads (/admin/uploads) may be larger
        self.admin_key = admin_key
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # a document upload carries the file plus its form fields; the route checks the file itself
        upload = scope.get("path", "").startswith("/admin/uploads")
        limit = self.upload_bytes + 65536 if upload else self.max_bytes
        if upload and scope.get("method") in ("POST", "PUT"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if not key_matches(given_admin_key(headers.get("x-admin-key"), headers.get("authorization")),
                               self.admin_key):  # refused before 10 MB are read, not after
                log.warning("upload refused before its body: no or wrong admin key from %s", _client(scope))
                if not self.admin_key:
                    await send_error(send, 403, "admin_disabled", "Chức năng quản trị đang tắt (chưa đặt "
                                     "KIEMNHIEM_ADMIN_KEY).", "Admin operations are disabled (KIEMNHIEM_ADMIN_KEY is not set).")
                else:
                    await send_error(send, 401, "unauthorized", "Thiếu hoặc sai khóa quản trị (header X-Admin-Key).",
                                     "Missing or wrong admin key (X-Admin-Key header).")
                return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_413(send, limit)
                    return
        received = 0
        started = False
        body_done = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout

        async def limited_receive() -> Any:
            nonlocal received, body_done
            if body_done:  # later calls wait for the client to disconnect (streamed answers): no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                log.info("request body not complete after %.0f s from %s: 408", self.body_timeout, _client(scope))
                raise _BodyTimeout(self.body_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_413(send, limit)
        except _BodyTimeout as exc:
            if not started:
                await send_error(send, 408, exc.code, exc.message, exc.message_en, close=True)


class _TooLarge(APIError):
    """An HTTPException, so FastAPI re-raises it from body parsing (any other exception there becomes a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, "payload_too_large", f"Nội dung gửi lên vượt quá {limit} byte.",
                         f"Request body exceeds {limit} bytes.")


class _BodyTimeout(APIError):
    """408 for a body that did not arrive in time; the connection is closed (its rest is never read)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, "body_timeout", f"Nội dung yêu cầu không được gửi hết trong {seconds:g} giây.",
                         f"The request body was not received within {seconds:g} seconds.",
                         headers={"Connection": "close"})


async def _send_413(send: Any, limit: int) -> None:
    await send_error(send, 413, "payload_too_large", f"Nội dung gửi lên vượt quá {limit} byte.",
                     f"Request body exceeds {limit} bytes.")


async def send_error(send: Any, status: int, code: str, message: str, message_en: str, close: bool = False) -> None:
    """A complete JSON error response in the one error shape, straight from ASGI middleware; ``close`` ends the
    connection after it (the rest of the request is never read)."""
    body = json.dumps(error_body(code, message, message_en), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuardMiddleware:
    """Host header against ``allowed_hosts`` (400 invalid_host) and header count (431), before any route runs.

    Redirects are made relative as well, so a forged Host header can never send a browser elsewhere.
    """

    def __init__(self, app: Any, allowed_hosts: list[str], max_header_count: int) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed_hosts]
        self.any_host = not self.allowed or "*" in self.allowed
        self.max_header_count = max_header_count

    def host_ok(self, host: str) -> bool:
        if self.any_host:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allowed)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if len(headers) > self.max_header_count:
            await send_error(send, 431, "headers_too_large", f"Yêu cầu có quá {self.max_header_count} header.",
                             f"The request has more than {self.max_header_count} headers.")
            return
        host = next((v.decode("latin-1") for k, v in headers if k == b"host"), "").strip().lower()
        if not self.host_ok(host):
            log.info("rejected Host header %r from %s", host[:100], _client(scope))
            await send_error(send, 400, "invalid_host", "Tên máy chủ (Host) không được chấp nhận.",
                             "The Host header is not accepted.")
            return

        async def relative_redirects(message: Any) -> None:
            if message["type"] == "http.response.start" and 300 <= message.get("status", 200) < 400:
                message = {**message, "headers": [(k, _relative(v) if k == b"location" else v)
                                                  for k, v in message.get("headers", [])]}
            await send(message)

        await self.app(scope, receive, relative_redirects)


def _relative(location: bytes) -> bytes:
    """``http://any.host/path?q`` -> ``/path?q``: our redirects never leave the host the browser is on."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    path = parts.path or "/"
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


class SecurityHeadersMiddleware:
    """The outermost layer: security headers on every response, and any unhandled error becomes a 500 in
    the one error shape (with the headers) instead of reaching Starlette's bare error page."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        csp = DOCS_CSP if path.startswith("/docs") or path.startswith("/redoc") else CSP

        started = False

        async def add_headers(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", csp.encode()))
                headers.extend(SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, add_headers)
        except Exception as exc:  # noqa: BLE001 - the client gets the error contract, the log one line
            log_unexpected(exc, f"{scope.get('method', '')} {path}")
            if not started:
                await send_error(add_headers, 500, "internal_error", "Lỗi máy chủ ngoài dự kiến.",
                                 "Unexpected server error.")
