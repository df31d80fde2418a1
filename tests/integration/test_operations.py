"""Settings an operator sets through the environment, checked on a real app: CORS origins as a JSON list."""

from __future__ import annotations

import pytest

from assistant.config import Settings


def test_cors_origins_json_list(kb_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    monkeypatch.setenv("KIEMNHIEM_CORS_ORIGINS", '["https://portal.example.gov.vn"]')
    monkeypatch.setenv("KIEMNHIEM_DATA_DIR", str(kb_settings.data_dir))
    monkeypatch.setenv("KIEMNHIEM_MODEL_PATH", str(kb_settings.model_dir))
    settings = Settings()
    assert settings.cors_origins == ["https://portal.example.gov.vn"]
    with TestClient(create_app(settings)) as client:
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        ok = client.options("/ask", headers={"Origin": "https://portal.example.gov.vn", **pre})
        assert ok.headers.get("access-control-allow-origin") == "https://portal.example.gov.vn"
        bad = client.options("/ask", headers={"Origin": "https://evil.example", **pre})
        assert "access-control-allow-origin" not in bad.headers
        r = client.get("/health")
        assert r.status_code == 200 and "default-src 'self'" in r.headers["content-security-policy"]
