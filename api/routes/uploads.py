"""Documents added from the browser by an administrator (X-Admin-Key): upload, list, replace, delete.

Each upload lives in its own folder ``<uploads>/<doc id>/`` (the file plus a ``.yaml`` sidecar with the
form's metadata), which ``kiemnhiem ingest`` and ``/admin/reindex`` read next to ``knowledge/``. A file is
validated with the same loaders (and ``file:line`` errors) as ingest in a hidden staging folder before
anything is stored; the folder and the index then change together, under the ingest lock, crash-safe and
in a child process with a deadline (``assistant.ingest.uploads``, ``api.writer``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, AssistantDep, SettingsDep, audit_admin
from api.errors import APIError
from api.routes.sources import DOC_ID
from api.writer import in_child, put_upload, remove_upload
from assistant.config import Settings
from assistant.ingest.discovery import SUPPORTED_SUFFIXES
from assistant.ingest.documents import (
    MAX_ID_CHARS,
    DocumentTooLargeError,
    LoadError,
    iter_documents,
    screen_document,
    slugify,
)
from assistant.ingest.pipeline import IngestBusyError
from assistant.ingest.uploads import NoPassagesError, UploadNotFoundError, staging_dir
from assistant.search.store import IndexStoreError
from assistant.storage import disk_full_error, is_disk_full

router = APIRouter(prefix="/admin/uploads", tags=["admin"])

META_KEYS = ("id", "title", "short_title", "number", "kind", "issuer", "issued", "effective", "status", "text_form")
UPLOAD_SUFFIXES = (".md", ".txt", ".pdf", ".docx", ".html", ".htm")
_WHAT = re.compile(r"^(?:sidecar|front matter): ")  # where the loader found the metadata, for curators
_KEY = re.compile(r"^([a-z_]+):")


def _on_disk(settings: Settings, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work``; a full disk under the data dir is 507 storage_full, not a generic 500."""
    try:
        return work()
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(settings.data_dir, exc) from exc
        raise


async def _audited(request: Request, settings: Settings, work: Callable[[], dict[str, Any]],
                   **fields: object) -> dict[str, Any]:
    """Run an upload or a delete and write one audit line saying what changed and whether it worked."""
    try:
        result = await run_in_threadpool(_on_disk, settings, work)
    except APIError as exc:
        audit_admin(request, "failed", **fields, status=exc.status_code, error=exc.code)
        raise
    except Exception as exc:
        audit_admin(request, "failed", **fields, error=getattr(exc, "code", type(exc).__name__))
        raise
    report = result.get("report", {})
    audit_admin(request, "ok", **{**fields, "id": result.get("id"), "documents": report.get("documents"),
                                  "added": report.get("added"), "updated": report.get("updated"),
                                  "removed": report.get("removed"), "warnings": len(result.get("warnings", []))})
    return result


def _uploaded(settings: Settings) -> list[dict[str, Any]]:
    root = settings.uploads_path
    out = []
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = [f for f in folder.iterdir() if f.suffix.lower() in SUPPORTED_SUFFIXES]
            if not files:
                continue
            stat = files[0].stat()
            out.append({"id": folder.name, "filename": files[0].name, "bytes": stat.st_size,
                        "uploaded_at": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds")})
    return out


def _problem(error: LoadError, filename: str) -> dict[str, Any]:
    """One error as an administrator reads it: the uploaded file and its line, or the form field it came
    from (the form's values travel in a metadata file the admin never sees, so its name is never shown)."""
    message = _WHAT.sub("", error.message_vi)
    if error.path.suffix.lower() in SUPPORTED_SUFFIXES:
        where = f"{filename}, dòng {error.line}" if error.line else filename
        return {"message": f"{where}: {message}", "line": error.line, "field": None}
    field = None
    if error.line and error.path.is_file():
        lines = error.path.read_text("utf-8", errors="replace").splitlines()
        m = _KEY.match(lines[error.line - 1]) if error.line <= len(lines) else None
        field = m.group(1) if m else None
    return {"message": f"Thông tin nhập trong biểu mẫu: {message}", "line": None, "field": field}


def _validate(staging: Path, filename: str, settings: Settings) -> Any:
    """Load the staged file exactly as ingest would (same limits); errors name the uploaded file and the line,
    or the form field; a size limit is 413, not a broken file."""
    docs, errors = iter_documents([staging], max_bytes=settings.max_source_bytes)
    if errors or len(docs) != 1:
        problems = [_problem(e, filename) for e in errors]
        vi = "; ".join([p["message"] for p in problems] or ["không đọc được"])
        en = "; ".join([e.text_en().replace(str(e.path), filename) for e in errors] or ["unreadable"])
        if any(isinstance(e, DocumentTooLargeError) for e in errors):
            raise APIError(413, "document_too_large", "Tài liệu vượt giới hạn: " + vi, "Document over a limit: " + en,
                           details=problems)
        raise APIError(422, "invalid_document", "Tài liệu không hợp lệ: " + vi, "Invalid document: " + en,
                       details=problems)
    return docs[0]


def _indexed(index: Any, doc_id: str) -> bool:
    try:
        return doc_id in index.snapshot().documents
    except IndexStoreError:  # no index yet
        return False


UPLOAD_LOCK_TIMEOUT = 5.0  # seconds an upload or a delete waits for another ingest before 409 ingest_busy


def _write(settings: Settings, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """An index write in the child process; the library's errors as this API's statuses."""
    try:
        return in_child(fn, settings, *args, UPLOAD_LOCK_TIMEOUT, timeout=settings.reindex_timeout)
    except IngestBusyError as exc:
        raise APIError(409, "ingest_busy", "Đang có một tiến trình nạp dữ liệu khác, vui lòng thử lại sau.",
                       "Another ingest is running; try again later.") from exc
    except NoPassagesError as exc:
        raise APIError.of(422, exc) from exc
    except UploadNotFoundError as exc:
        raise APIError.of(404, exc) from exc


@router.get("", summary="Tài liệu đã tải lên (cần khóa quản trị) / uploaded documents (admin)")
async def list_uploads(_: AdminDep, settings: SettingsDep) -> list[dict[str, Any]]:
    return await run_in_threadpool(_uploaded, settings)


@router.post("", status_code=201, summary="Tải lên một tài liệu và nạp vào chỉ mục (cần khóa quản trị) / upload a "
             "document and index it (admin)")
async def upload(_: AdminDep, assistant: AssistantDep, settings: SettingsDep, request: Request,
                 file: Annotated[UploadFile, File(description="md, txt, pdf, docx, html")],
                 replace: Annotated[bool, Form()] = False,
                 id: Annotated[str, Form(max_length=MAX_ID_CHARS)] = "",  # noqa: A002 - the knowledge-note key
                 title: Annotated[str, Form(max_length=500)] = "",
                 short_title: Annotated[str, Form(max_length=200)] = "",
                 number: Annotated[str, Form(max_length=100)] = "",
                 kind: Annotated[str, Form(max_length=40)] = "",
                 issuer: Annotated[str, Form(max_length=300)] = "",
                 issued: Annotated[str, Form(max_length=10)] = "",
                 effective: Annotated[str, Form(max_length=10)] = "",
                 status: Annotated[str, Form(max_length=40)] = "",
                 text_form: Annotated[str, Form(max_length=20)] = "",
                 source_urls: Annotated[str, Form(max_length=4000)] = "") -> dict[str, Any]:
    name = Path(file.filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise APIError(415, "unsupported_file", f"Chỉ nhận tệp {', '.join(UPLOAD_SUFFIXES)}.",
                       f"Only {', '.join(UPLOAD_SUFFIXES)} files are accepted.")
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise APIError(413, "payload_too_large", f"Tệp vượt quá {settings.max_upload_bytes} byte.",
                       f"The file exceeds {settings.max_upload_bytes} bytes.")
    if not data:
        raise APIError(422, "empty_file", "Tệp rỗng.", "The file is empty.")
    fields = {"id": id, "title": title, "short_title": short_title, "number": number, "kind": kind,
              "issuer": issuer, "issued": issued, "effective": effective, "status": status, "text_form": text_form}
    meta: dict[str, Any] = {k: v.strip() for k, v in fields.items() if v.strip()}
    urls = [u.strip() for u in source_urls.splitlines() if u.strip()]
    if urls:
        meta["source_urls"] = urls
    stem = slugify(meta.get("id") or Path(name).stem) or "tai-lieu"

    def work() -> dict[str, Any]:
        staging = staging_dir(settings.uploads_path)  # hidden: no ingest reads it
        try:
            (staging / f"{stem}{suffix}").write_bytes(data)
            if meta:
                (staging / f"{stem}.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False),
                                                      encoding="utf-8")
            doc = _validate(staging, name, settings)
            snap = assistant.index.snapshot()
            uploaded = {u["id"] for u in _uploaded(settings)}
            if doc.id in snap.documents and doc.id not in uploaded:
                raise APIError(409, "id_taken", f"Mã '{doc.id}' đã là một tài liệu trong knowledge/; hãy đặt mã khác.",
                               f"'{doc.id}' is already a knowledge/ document; choose another id.")
            if doc.id in uploaded and not replace:
                raise APIError(409, "already_uploaded", f"Đã có tài liệu tải lên mã '{doc.id}'; chọn 'Thay thế' để "
                               "thay bản cũ.", f"An upload with id '{doc.id}' exists; set replace to overwrite it.")
            warnings = screen_document(doc, name)  # suspected planted instructions, by file name and line
            report = _write(settings, put_upload, staging, doc.id)
            assistant.index.snapshot(refresh=True)  # listed immediately, not after the pointer check's delay
            return {"id": doc.id, "title": doc.title, "report": report, "warnings": warnings}
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    return await _audited(request, settings, work, action="upload", filename=name, replace=replace)


@router.delete("/{doc_id}", summary="Xóa một tài liệu đã tải lên (cần khóa quản trị) / delete an upload (admin)")
async def delete_upload(_: AdminDep, assistant: AssistantDep, settings: SettingsDep, request: Request,
                        doc_id: Annotated[str, PathParam(pattern=DOC_ID, max_length=MAX_ID_CHARS)]) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        if not (settings.uploads_path / doc_id).is_dir() and not _indexed(assistant.index, doc_id):
            raise APIError(404, "upload_not_found", f"Không có tài liệu tải lên mã '{doc_id}'.",
                           f"No uploaded document '{doc_id}'.")
        report = _write(settings, remove_upload, doc_id)
        assistant.index.snapshot(refresh=True)
        return {"id": doc_id, "deleted": True, "report": report}

    return await _audited(request, settings, work, action="delete", id=doc_id)
