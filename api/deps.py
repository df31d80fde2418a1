"""Dependencies injected into routes: the process-wide Settings, Assistant and feedback store."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated

from fastapi import Depends, Header, Request

from api.errors import APIError
from assistant.answering.chain import Assistant
from assistant.config import Settings
from assistant.feedback import FeedbackStore

audit = logging.getLogger("kiemnhiem.admin")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_feedback(request: Request) -> FeedbackStore:
    return request.app.state.feedback


SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]


def audit_admin(request: Request, outcome: str, **fields: object) -> None:
    """One structured line per admin attempt: what, from where, how it went; never any key material."""
    record = {"event": "admin", "outcome": outcome, "method": request.method, "path": request.url.path,
              "client": request.client.host if request.client else "-", **fields}
    audit.log(logging.INFO if outcome in ("ok", "allowed") else logging.WARNING, "%s",
              json.dumps(record, ensure_ascii=False, sort_keys=True))


def given_admin_key(x_admin_key: str | None, authorization: str | None) -> str:
    """The key a request carries: ``X-Admin-Key``, else ``Authorization: Bearer …``."""
    return x_admin_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else "")


def key_matches(given: str, admin_key: str | None) -> bool:
    return bool(given and admin_key) and hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                                             str(admin_key).encode())


def require_admin(
    request: Request,
    settings: SettingsDep,
    x_admin_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Admin operations exist only when KIEMNHIEM_ADMIN_KEY is set, and need that key."""
    if not settings.admin_key:
        audit_admin(request, "denied", reason="admin_disabled")
        raise APIError(403, "admin_disabled", "Chức năng quản trị đang tắt (chưa đặt KIEMNHIEM_ADMIN_KEY).",
                       "Admin operations are disabled (KIEMNHIEM_ADMIN_KEY is not set).")
    given = given_admin_key(x_admin_key, authorization)
    if not key_matches(given, settings.admin_key):
        audit_admin(request, "denied", reason="missing_key" if not given else "wrong_key")
        raise APIError(401, "unauthorized", "Thiếu hoặc sai khóa quản trị (header X-Admin-Key).",
                       "Missing or wrong admin key (X-Admin-Key header).")
    audit_admin(request, "allowed")


AdminDep = Annotated[None, Depends(require_admin)]
