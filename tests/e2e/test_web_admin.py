"""Administrators add and remove documents from the browser (issues 13 and 25, item 9), in Debian's Chromium.

The upload form lives in its own pane; type, status and text form are Vietnamese choices (no slugs), dates are
typed dd/mm/yyyy, every error is written for a person (the file and line, or the field; never "sidecar"), and
"Xóa" asks first. Runs at 1280×800 and 390×844 over a private copy of the session index; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
    test_web_polish,
)
from tests.e2e.test_browser import ADMIN_KEY, Tab, load, screenshot
from tests.support import Server, clone_index, server_env

pytestmark = [pytest.mark.browser, pytest.mark.server]

browser = test_browser.browser

tab = test_web_polish.tab  # a fresh tab at 1280×800 or 390×844
SLUG = re.compile(r"\b[a-z]+(?:-[a-z]+)+\b")  # con-hieu-luc, tom-luoc, nghi-dinh …
JARGON = ("sidecar", "front matter", "yaml", "metadata")

GOOD_NOTE = """---
id: {id}
title: "Hỏi đáp tải lên thử nghiệm"
kind: hoi-dap
status: tham-khao
text_form: tom-luoc
---
# Hỏi đáp tải lên thử nghiệm

## Câu hỏi

Tài liệu tải lên thử nghiệm có được nạp không?

## Trả lời

Tài liệu tải lên thử nghiệm được nạp ngay sau khi quản trị viên tải lên.
"""
BAD_NOTE = """---
id: hoi-dap-loi
title: "Lỗi"
status: sai-trang-thai
---
# Lỗi

## Câu hỏi

Nội dung.
"""
GOOD_HTML = """<!doctype html><html lang="vi"><head><title>Trang</title></head><body>
<h1>Trang tải lên từ trình duyệt</h1>
<p>Trang này được tải lên từ trình duyệt để thử nạp tệp HTML với thông tin nhập trong biểu mẫu.</p>
</body></html>
"""


@pytest.fixture(scope="module")
def upload_server(kb_settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A private copy of the session index (uploads change it), with an admin key."""
    settings = clone_index(kb_settings, tmp_path_factory.mktemp("uploads-data"))
    srv = Server(server_env(settings, KIEMNHIEM_ADMIN_KEY=ADMIN_KEY),
                 log_path=tmp_path_factory.mktemp("uploads-log") / "server.log").wait(timeout=300)
    yield srv
    srv.stop()


def upload_posts(tab: Tab) -> int:
    return sum(1 for url, _ in tab.posts if url.endswith("/admin/uploads"))


def open_admin(page: Page) -> Locator:
    page.locator("#tab-sources").click()
    expect(page.locator("#source-list .doc-item").first).to_be_visible()
    box = page.locator("#upload-box")
    expect(box).to_be_hidden()  # nothing of the admin under the document list
    page.locator("#admin-open").click()
    expect(box).to_be_visible()
    return box


def no_jargon(text: str) -> None:
    low = text.lower()
    assert not [w for w in JARGON if w in low], text


def test_admin_pane_choices_dates_errors_and_confirmation(upload_server: Server, tab: Tab, tmp_path: Path) -> None:
    srv, viewport = upload_server, tab.viewport  # type: ignore[attr-defined]
    doc_id = f"trang-tai-len-{viewport}"
    page = load(tab, srv.url)
    box = open_admin(page)
    # its own pane: not inside the document list; on a phone the list gives way to it
    assert page.locator(".sources-list-pane #upload-box").count() == 0
    if viewport == "phone":
        expect(page.locator(".sources-list-pane")).to_be_hidden()
    expect(box.locator("input[type=file]")).to_have_count(0)  # no key: no form
    box.locator("#admin-key").fill("wrong-key")
    box.locator("#admin-key").press("Enter")
    expect(box.locator(".upload-errors")).to_contain_text("không đúng")
    box.locator("#admin-key").fill(ADMIN_KEY)
    box.locator("#admin-key").press("Enter")
    form = box.locator("form.upload-form")
    expect(form.locator("#up-file")).to_be_visible()

    # type, status and text form are Vietnamese choices; nowhere a slug to type
    for name, expected in (("kind", {"Luật", "Nghị định", "Hỏi đáp"}), ("status", {"Còn hiệu lực", "Hết hiệu lực"}),
                           ("text_form", {"Nguyên văn", "Tóm lược"})):
        control = form.locator(f"#up-{name}")
        assert control.evaluate("(n) => n.tagName") == "SELECT", name
        labels = control.locator("option").all_inner_texts()
        assert expected <= set(labels), labels
        assert not [t for t in labels if SLUG.search(t)], labels
    visible = form.inner_text()
    assert not SLUG.search(visible.replace("luat-bau-cu-2015", "")), visible  # only the id example may be a slug
    # dates are dd/mm/yyyy
    for name in ("issued", "effective"):
        expect(form.locator(f"#up-{name}")).to_have_attribute("placeholder", "dd/mm/yyyy")

    # a date that does not exist is refused before anything is sent, next to its field
    page_html = tmp_path / "trang.html"
    page_html.write_text(GOOD_HTML, encoding="utf-8")
    form.locator("#up-file").set_input_files(str(page_html))
    form.locator("#up-issued").fill("31/02/2024")
    form.locator(".upload-send").click()
    issued_error = form.locator("#up-issued-error")
    expect(issued_error).to_be_visible()
    expect(issued_error).to_contain_text("31/02/2024")
    expect(form.locator("#up-issued")).to_have_attribute("aria-invalid", "true")
    assert upload_posts(tab) == 0

    # a bad file: the file and its line, in words; no "sidecar" or "front matter"
    bad = tmp_path / "loi.md"
    bad.write_text(BAD_NOTE, encoding="utf-8")
    form.locator("#up-issued").fill("")
    form.locator("#up-file").set_input_files(str(bad))
    form.locator(".upload-send").click()
    errors = form.locator(".upload-errors")
    expect(errors).to_contain_text("loi.md, dòng 4")
    no_jargon(errors.inner_text())
    screenshot(page, f"web-admin-error-{viewport}.png")

    # an HTML page whose metadata comes from the choices and a dd/mm/yyyy date: ingested and listed
    form.locator("#up-file").set_input_files(str(page_html))
    form.locator("#up-title").fill("Trang tải lên từ trình duyệt")
    form.locator("#up-kind").select_option(label="Hỏi đáp")
    form.locator("#up-status").select_option(label="Tham khảo")
    form.locator("#up-text_form").select_option(label="Tóm lược")
    form.locator("#up-issued").fill("25/06/2015")
    form.locator(".upload-advanced summary").click()
    form.locator("#up-id").fill(doc_id)
    form.locator(".upload-send").click()
    expect(box.locator(".upload-status")).to_contain_text("Đã thêm", timeout=120_000)
    detail = httpx.get(f"{srv.url}/sources/{doc_id}", timeout=30).json()
    assert (detail["kind"], detail["status"], detail["text_form"], detail["issued"]) == \
        ("hoi-dap", "tham-khao", "tom-luoc", "2015-06-25"), detail
    item = box.locator(f'.upload-list li[data-id="{doc_id}"]')
    expect(item).to_be_visible()

    # the same id again is refused with a way out ("Thay thế"), which then works
    form = box.locator("form.upload-form")
    form.locator("#up-file").set_input_files(str(page_html))
    form.locator(".upload-advanced summary").click()
    form.locator("#up-id").fill(doc_id)
    form.locator(".upload-send").click()
    expect(form.locator(".upload-errors")).to_contain_text("Thay thế")
    item.locator(".upload-replace-btn").click()
    expect(form.locator("#up-replace")).to_be_checked()
    form.locator("#up-file").set_input_files(str(page_html))
    form.locator(".upload-send").click()
    expect(box.locator(".upload-status")).to_contain_text("Đã thêm", timeout=120_000)

    # "Xóa" asks first; "Hủy" keeps the document; "Xóa hẳn" removes it from the sources
    item = box.locator(f'.upload-list li[data-id="{doc_id}"]')
    item.locator(".upload-delete").click()
    confirm = item.locator(".upload-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Xóa")
    screenshot(page, f"web-admin-confirm-delete-{viewport}.png")
    item.locator(".upload-delete-cancel").click()
    expect(confirm).to_have_count(0)
    assert httpx.get(f"{srv.url}/sources/{doc_id}", timeout=30).status_code == 200
    item.locator(".upload-delete").click()
    item.locator(".upload-delete-confirm").click()
    expect(box.locator(".upload-status")).to_contain_text("Đã xóa", timeout=120_000)
    expect(box.locator(f'.upload-list li[data-id="{doc_id}"]')).to_have_count(0)
    assert httpx.get(f"{srv.url}/sources/{doc_id}", timeout=30).status_code == 404

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the admin pane scrolls sideways by {overflow}px"
    screenshot(page, f"web-admin-pane-{viewport}.png")
    assert tab.csp_violations() == [] and tab.errors == []


def test_a_note_uploaded_from_the_browser_is_answered_from(upload_server: Server, tab: Tab, tmp_path: Path) -> None:
    """A Markdown note whose metadata is its own front matter (the form left on "theo tệp"): answered from at once."""
    srv, viewport = upload_server, tab.viewport  # type: ignore[attr-defined]
    if viewport == "phone":
        pytest.skip("the ingest path is the same at both widths; the phone run is the pane test above")
    doc_id = "hoi-dap-tai-len-thu-nghiem"
    assert httpx.get(srv.url + "/admin/uploads", timeout=30).status_code == 401
    page = load(tab, srv.url)
    page.evaluate("(key) => sessionStorage.setItem('kiemnhiem.adminKey', key)", ADMIN_KEY)
    page.reload()
    box = open_admin(page)
    form = box.locator("form.upload-form")
    good = tmp_path / "tai-len.md"
    good.write_text(GOOD_NOTE.format(id=doc_id), encoding="utf-8")
    form.locator("#up-file").set_input_files(str(good))
    form.locator("#up-source_urls").fill("https://vbpl.vn/thu-nghiem")
    form.locator(".upload-send").click()
    expect(box.locator(".upload-status")).to_contain_text("Đã thêm", timeout=120_000)
    expect(page.locator(f'#source-list .doc-item[data-id="{doc_id}"]')).to_have_count(1)
    r = httpx.post(srv.url + "/ask", json={"question": "Tài liệu tải lên thử nghiệm có được nạp không?"}, timeout=120)
    assert any(c["doc_id"] == doc_id for c in r.json()["citations"]), r.json()
    # opening a document gives the pane's place back to it
    page.locator(f'#source-list .doc-item[data-id="{doc_id}"]').click()
    expect(page.locator("#source-doc .doc-title")).to_have_text("Hỏi đáp tải lên thử nghiệm")
    expect(box).to_be_hidden()
    page.locator("#admin-open").click()
    box.locator(f'.upload-list li[data-id="{doc_id}"] .upload-delete').click()
    box.locator(f'.upload-list li[data-id="{doc_id}"] .upload-delete-confirm').click()
    expect(box.locator(".upload-status")).to_contain_text("Đã xóa", timeout=120_000)
    assert httpx.get(srv.url + "/admin/uploads", headers={"X-Admin-Key": ADMIN_KEY}, timeout=30).json() == []
    assert tab.csp_violations() == [] and tab.errors == []


def test_vocabulary_and_upload_errors_are_written_for_people(upload_server: Server) -> None:
    """GET /vocabulary gives every kind, status and text form with its Vietnamese label; a refused upload's
    details say where (the file and line, or the form field) in words, never the metadata file's name."""
    from assistant.models import KINDS, STATUSES, TEXT_FORM_LABELS

    vocab = httpx.get(upload_server.url + "/vocabulary", timeout=30).json()
    assert [k["value"] for k in vocab["kinds"]] == list(KINDS)
    assert [s["value"] for s in vocab["statuses"]] == list(STATUSES)
    assert {t["value"] for t in vocab["text_forms"]} == set(TEXT_FORM_LABELS)
    assert all(o["label"] and not SLUG.search(o["label"]) for group in vocab.values() for o in group), vocab

    headers = {"X-Admin-Key": ADMIN_KEY}
    bad = httpx.post(upload_server.url + "/admin/uploads", headers=headers, timeout=60,
                     files={"file": ("loi.md", BAD_NOTE.encode())})
    assert bad.status_code == 422, bad.text
    err = bad.json()["error"]
    assert err["details"][0]["message"].startswith("loi.md, dòng 4: ") and err["details"][0]["line"] == 4, err
    no_jargon(err["message"] + " ".join(d["message"] for d in err["details"]))
    # a value sent by hand past the form's checks: the field is named, the metadata file is not
    field = httpx.post(upload_server.url + "/admin/uploads", headers=headers, timeout=60, data={"issued": "2024-13-45"},
                       files={"file": ("trang.html", GOOD_HTML.encode())})
    assert field.status_code == 422, field.text
    err = field.json()["error"]
    assert err["details"][0]["field"] == "issued", err
    assert "2024-13-45" in err["details"][0]["message"] and "biểu mẫu" in err["details"][0]["message"], err
    no_jargon(err["message"] + " ".join(d["message"] for d in err["details"]))
    assert httpx.get(upload_server.url + "/admin/uploads", headers=headers, timeout=30).json() == []
