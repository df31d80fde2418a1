"""Regression tests for the third red-team round (issue #26): one test per problem, through the real app.

The FastAPI app runs in-process (TestClient) where a request must reach a route without a model (limits,
validation, keys); a real ``kiemnhiem serve`` process where the server's own behaviour is the point
(a full disk, slow clients, /health during an outage).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import make_settings

pytestmark = pytest.mark.server

ADMIN_KEY = "round3-admin-key-51c9"
ADMIN = {"X-Admin-Key": ADMIN_KEY}


def in_process_app(data_dir: Path, model_dir: Path, **overrides: Any) -> Any:
    """The real FastAPI app in this process (no lifespan: what is tested here needs no model)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = make_settings(data_dir, model_dir, threads=1, admin_key=ADMIN_KEY, **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:300]}"
    err = r.json()["error"]
    assert err["code"] == code and err["message"].strip() and err["message_en"].strip(), err
    return err


def docx_bytes(paragraphs: int = 1, zero_part: int = 0) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Điều 1. Phạm vi điều chỉnh")
    buf = io.BytesIO()
    document.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * paragraphs)
            z.writestr(info.filename, data)
        if zero_part:
            with z.open("word/media/zeros.bin", "w", force_zip64=True) as f:
                for _ in range(zero_part >> 20):
                    f.write(bytes(1 << 20))
    return out.getvalue()


# ------------------------------------------------------------------------------------------ N10
def test_n10_docx_bombs_are_413_naming_the_file(tmp_path: Path, model_dir: Path) -> None:
    client = in_process_app(tmp_path / "data", model_dir, max_source_bytes=100_000)  # 1 MB unpacked at most
    bomb = docx_bytes(zero_part=4 << 20)
    assert len(bomb) < 50_000
    r = client.post("/admin/uploads", headers=ADMIN, files={"file": ("bom-giai-nen.docx", bomb)})
    err = assert_error(r, 413, "document_too_large")
    assert "bom-giai-nen.docx" in err["message"] and "unpacks to" in err["message_en"], err
    client = in_process_app(tmp_path / "data", model_dir)  # default limits: the paragraph count is what fails
    r = client.post("/admin/uploads", headers=ADMIN, files={"file": ("nhieu-doan.docx", docx_bytes(12_000))})
    err = assert_error(r, 413, "document_too_large")
    assert "nhieu-doan.docx" in err["message"] and "paragraphs" in err["message_en"], err
    r = client.post("/admin/uploads", headers=ADMIN, files={"file": ("hong.docx", b"PK\x03\x04 not a zip")})
    assert_error(r, 422, "invalid_document")
    assert not (tmp_path / "data" / "uploads").exists() or not any((tmp_path / "data" / "uploads").iterdir())
