"""One error shape for every endpoint: ``{"error": {"code", "message" (vi), "message_en"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.writer import WriterDiedError, WriteTimeoutError
from assistant.answering.dates import AS_OF_ERROR
from assistant.errors import KiemnhiemError
from assistant.search.store import IndexStoreError, ModelMismatchError, StoreUnavailableError
from assistant.storage import StorageFullError

log = logging.getLogger("kiemnhiem.api")


class APIError(HTTPException):
    """An error with a Vietnamese and an English message."""

    def __init__(self, status: int, code: str, message: str, message_en: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message_en, headers=headers)
        self.code, self.message, self.message_en, self.details = code, message, message_en, details

    @classmethod
    def of(cls, status: int, exc: KiemnhiemError, details: Any = None,
           headers: dict[str, str] | None = None) -> APIError:
        """A library error as it is: its code and both messages, no string surgery."""
        return cls(status, exc.code, exc.message_vi, exc.message_en, details, headers)


_TRACED: set[tuple[str, str]] = set()


def log_unexpected(exc: BaseException, where: str) -> None:
    """One line per unexpected error; the traceback only the first time a (type, place) is seen, so a
    22-byte request can no longer write kilobytes of log each time."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    at = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    key = (type(exc).__name__, at)
    first = key not in _TRACED and len(_TRACED) < 1000
    _TRACED.add(key)
    log.error("unhandled %s at %s on %s: %.200s", type(exc).__name__, at, where, str(exc).replace("\n", " "),
              exc_info=exc if first else None)


def error_body(code: str, message: str, message_en: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message, "message_en": message_en}
    if details is not None:
        err["details"] = details
    return {"error": err}


_STATUS_TEXT = {
    400: ("bad_request", "Yêu cầu không hợp lệ.", "Bad request."),
    401: ("unauthorized", "Cần khóa quản trị hợp lệ.", "A valid admin key is required."),
    403: ("forbidden", "Không được phép.", "Forbidden."),
    404: ("not_found", "Không tìm thấy.", "Not found."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ.", "Method not allowed."),
    413: ("payload_too_large", "Nội dung gửi lên quá lớn.", "Request body too large."),
    429: ("too_many_requests", "Quá nhiều yêu cầu; vui lòng thử lại sau.", "Too many requests; retry later."),
    431: ("headers_too_large", "Header của yêu cầu quá lớn.", "Request headers too large."),
    415: ("unsupported_media_type", "Chỉ nhận JSON.", "Only JSON is accepted."),
    422: ("invalid_request", "Dữ liệu gửi lên không hợp lệ.", "Invalid request data."),
    503: ("unavailable", "Dịch vụ tạm thời không sẵn sàng.", "Service temporarily unavailable."),
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        out.append({"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")})
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.message_en, exc.details), status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, vi, en = _STATUS_TEXT.get(exc.status_code, ("error", "Lỗi.", str(exc.detail)))
        return JSONResponse(error_body(code, vi, en), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        log.info("422 %s %s from %s: %.200s", request.method, request.url.path,
                 request.client.host if request.client else "-",
                 "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:3]))
        if any(d["type"] == "json_invalid" for d in details):
            return JSONResponse(error_body("invalid_json", "Nội dung không phải JSON hợp lệ.",
                                           "The body is not valid JSON.", details), status_code=400)
        custom = next((d for d in details if d["type"] == "invalid_as_of"), None)
        if custom is not None:  # the as_of field: its two messages are data in assistant.answering.period
            return JSONResponse(error_body(custom["type"], *AS_OF_ERROR, details), status_code=422)
        return JSONResponse(error_body("invalid_request", "Dữ liệu gửi lên không hợp lệ: kiểm tra các trường.",
                                       "Invalid request data: check the fields.", details), status_code=422)

    @app.exception_handler(StorageFullError)
    async def _storage_full(_: Request, exc: StorageFullError) -> JSONResponse:
        log.warning("storage full: %s", exc)
        return JSONResponse({"error": exc.to_json()}, status_code=507)

    @app.exception_handler(WriteTimeoutError)
    async def _write_timeout(_: Request, exc: WriteTimeoutError) -> JSONResponse:
        return JSONResponse({"error": exc.to_json()}, status_code=504)

    @app.exception_handler(WriterDiedError)
    async def _writer_died(_: Request, exc: WriterDiedError) -> JSONResponse:
        log.error("index writer died: %s", exc)
        return JSONResponse({"error": exc.to_json()}, status_code=500)

    @app.exception_handler(StoreUnavailableError)
    async def _store_down(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return JSONResponse(error_body("store_unavailable", "Kho dữ liệu tạm thời không truy cập được; vui lòng thử lại sau.",
                                       "The document store is temporarily unreachable; please retry later."),
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(ModelMismatchError)
    async def _model_mismatch(_: Request, exc: ModelMismatchError) -> JSONResponse:
        return JSONResponse({"error": exc.to_json()}, status_code=503)

    @app.exception_handler(IndexStoreError)
    async def _index_error(_: Request, exc: IndexStoreError) -> JSONResponse:
        return JSONResponse(error_body("index_unavailable", "Chỉ mục chưa sẵn sàng (hãy chạy `kiemnhiem ingest`).",
                                       "The index is not ready (run `kiemnhiem ingest`)."), status_code=503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_unexpected(exc, f"{request.method} {request.url.path}")
        return JSONResponse(error_body("internal_error", "Lỗi máy chủ ngoài dự kiến.", "Unexpected server error."),
                            status_code=500)
