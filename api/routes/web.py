"""The web chat: static files shipped in the package, no CDN, no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.api_route("/s/{share_id}", methods=["GET", "HEAD"])
async def shared(share_id: str) -> FileResponse:
    """A shared answer's page: the chat, which reads the snapshot from GET /share/{id}."""
    return await index()


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Trợ lý Kiêm nhiệm — API",
                               swagger_js_url="/docs-static/swagger-ui-bundle.js",
                               swagger_css_url="/docs-static/swagger-ui.css",
                               swagger_favicon_url="/favicon.ico")
