"""The web chat as ChatGPT / Open WebUI users expect it (issue 13), in Debian's Chromium via Playwright.

Kept conversations, reading on a phone, recovery, feedback with reasons, trust signals, the as-of date,
print and share, and an axe-core accessibility scan. Reuses the session ``server`` (one process for the
whole module); screenshots go to test-artifacts/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
    test_llm_stream,
)
from tests.e2e.test_browser import (
    ADMIN_KEY,
    ANSWER_TIMEOUT,
    Q_BAN_BAU_CU,
    Q_FOLLOW_UP,
    Q_KIEM_NHIEM,
    Tab,
    ask,
    load,
    open_tab,
    screenshot,
    squash,
)
from tests.support import ARTIFACTS, Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

browser = test_browser.browser  # the module-scoped Chromium fixture, shared
# a server whose (scripted) model streams its reply, paused mid-reply
scripted_llm, llm_server = test_llm_stream.scripted_llm, test_llm_stream.llm_server

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


VIEWPORTS = ["desktop", "phone"]  # every item is checked at 1280 px and at 390 px


@pytest.fixture
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh tab; a phone (390 px) when the test is parametrized with ``viewport="phone"``."""
    callspec = getattr(request.node, "callspec", None)
    phone = callspec is not None and callspec.params.get("viewport") == "phone"
    t = open_tab(browser, **(PHONE if phone else {}))
    yield t
    t.page.context.close()


def stream_bodies(tab: Tab) -> list[dict[str, Any]]:
    return [body for url, body in tab.posts if url.endswith("/ask/stream")]


def export_rows(server: Server) -> list[dict[str, str]]:
    r = httpx.get(server.url + "/feedback/export", headers={"X-Admin-Key": ADMIN_KEY}, timeout=30)
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))


# ------------------------------------------------------------------------------------------ conversations

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_conversations_are_kept_listed_renamed_and_undone(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    first = ask(page, Q_BAN_BAU_CU)
    # the answer's first line is a distinct verdict line
    verdict = first.locator(".answer .verdict")
    expect(verdict).to_have_count(1)
    assert verdict.evaluate("(n) => getComputedStyle(n).fontWeight") >= "600"

    # a reload keeps the conversation, and the follow-up's history comes from the kept one
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    expect(page.locator(".msg.assistant")).to_have_count(1)
    expect(page.locator(".msg.user .text")).to_have_text(Q_BAN_BAU_CU)
    second = ask(page, Q_FOLLOW_UP)
    assert "cấp xã" in (second.locator(".answer").text_content() or "")
    history = stream_bodies(tab)[-1]["history"]
    assert [t["role"] for t in history] == ["user", "assistant"] and history[0]["content"] == Q_BAN_BAU_CU

    # "Lịch sử" lists it with its title and date; rename it inline
    page.locator("#history-toggle").click()
    panel = page.locator("#history-panel")
    expect(panel).to_be_visible()
    item = panel.locator(".conv-item").first
    expect(item.locator(".conv-title")).to_have_text(Q_BAN_BAU_CU)
    expect(item.locator(".conv-date")).to_contain_text("2 câu hỏi")
    item.locator(".conv-rename").click()
    page.locator(".conv-rename-input").fill("Ban bầu cử")
    page.locator(".conv-rename-input").press("Enter")
    expect(panel.locator(".conv-item .conv-title").first).to_have_text("Ban bầu cử")
    screenshot(page, f"web-history-{viewport}.png")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    # new chat, then undo brings the conversation back
    page.locator("#new-chat").click()
    expect(page.locator(".msg")).to_have_count(0)
    page.locator("#toast .toast-undo").click()
    expect(page.locator(".msg.assistant")).to_have_count(2)

    # delete with undo, then "xóa lịch sử"
    page.locator("#history-toggle").click()
    panel.locator(".conv-item .conv-delete").first.click()
    expect(panel.locator(".conv-item")).to_have_count(0)
    expect(page.locator(".msg")).to_have_count(0)
    page.locator("#toast .toast-undo").click()
    expect(panel.locator(".conv-item")).to_have_count(1)
    page.locator("#clear-history").click()
    expect(panel.locator(".conv-item")).to_have_count(0)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    expect(page.locator(".msg")).to_have_count(0)
    assert page.evaluate("JSON.parse(localStorage.getItem('kiemnhiem.conversations.v1') || '[]').length") == 0
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ phones

@pytest.mark.parametrize("width", [390, 360])
def test_phone_reading(server: Server, browser: Browser, width: int) -> None:
    t = open_tab(browser, **{**PHONE, "viewport": {"width": width, "height": 740}})
    try:
        page = load(t, server.url)
        msg = ask(page, Q_KIEM_NHIEM)
        # the verdict (start of the answer) is on screen, not the end of the source list
        box = msg.locator(".answer .verdict").bounding_box()
        scroller = page.locator("#chat-scroll").bounding_box()
        assert box and scroller and scroller["y"] - 1 <= box["y"] < scroller["y"] + scroller["height"] - 20, (box, scroller)
        # no sideways scrolling
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"page scrolls sideways by {overflow}px at {width}px"
        # tap targets in the answer are at least 32 px
        small = page.evaluate("""() => [...document.querySelectorAll('.msg.assistant button, .msg.user button, #send')]
            .filter((b) => b.offsetParent !== null)
            .map((b) => [b.className, b.getBoundingClientRect().width, b.getBoundingClientRect().height])
            .filter(([, w, h]) => w < 31.5 || h < 31.5)""")
        assert small == [], small
        # the same passage is listed once
        cites = page.evaluate("""() => [...document.querySelectorAll('.msg.assistant .source-link')].map((b) => b.dataset.ns)""")
        assert len(cites) == len(set(cites))
        screenshot(page, f"web-phone-{width}.png")
        t.assert_clean()
    finally:
        t.page.context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_duplicate_sources_are_merged(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    citation = {"n": 1, "doc_id": "x", "title": "Luật A", "number": "1/2015/QH13", "section": "Điều 1",
                "label": "Điều 1, Luật A", "quote": "Câu trích.", "source_url": "https://vbpl.vn/a", "status": "con-hieu-luc",
                "status_label": "Còn hiệu lực", "score": 1.0, "passage_id": "x::dieu-1", "text_form": "tom-luoc"}
    cits = [citation, {**citation, "n": 2}, {**citation, "n": 3, "passage_id": "x::dieu-2", "label": "Điều 2, Luật A"}]
    answer = "Có [1].\nVì thế [2].\nVà [3]."

    def fake(route: Any) -> None:
        events = [("token", {"text": answer}), ("citations", {"refused": False, "citations": cits, "passages": []}),
                  ("done", {"timings_ms": {"total": 1.0}, "as_of": "2026-01-01", "lead": "answer"})]
        body = "".join(f"event: {n}\ndata: {json.dumps(d, ensure_ascii=False)}\n\n" for n, d in events)
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream; charset=utf-8"}, body=body)

    page.route("**/ask/stream", fake)
    msg = ask(page, "Câu hỏi có nguồn trùng")
    links = msg.locator(".source-link")
    expect(links).to_have_count(2)
    expect(links.first.locator(".source-num")).to_have_text("1, 2")
    expect(links.first.locator(".form-badge")).to_have_text("Tóm lược")
    expect(msg.locator(".answer .support li")).to_have_count(2)
    expect(msg.locator(".asof-line")).to_contain_text("Áp dụng tại ngày 01/01/2026")
    screenshot(page, f"web-merged-sources-{viewport}.png")
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ recovery

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_recovery_counter_stop_retry_and_edit(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    box = page.locator("#question")
    counter = page.locator("#char-count")
    box.fill("a" * 1700)
    expect(counter).to_be_visible()
    expect(counter).to_contain_text("1.700/2.000")
    box.fill("kiêm nhiệm " * 200)  # 2,200 characters: refused before sending, text kept
    box.press("Enter")
    expect(counter).to_have_class(re.compile("over"))
    expect(counter).to_contain_text("dài quá")
    assert stream_bodies(tab) == []
    assert len(box.input_value()) > 2000

    # an answer that does not come: the waiting text says what happens; Stop puts the question back
    held: list[Any] = []
    page.route("**/ask/stream", lambda route: held.append(route))
    box.fill(Q_KIEM_NHIEM)
    box.press("Enter")
    step = page.locator(".msg.assistant .step-text")
    expect(step).to_have_text("Đang tìm trong nguồn…")  # no response yet: not "writing" (waiting.js)
    page.locator("#stop").click()
    stopped = page.locator(".msg.assistant").last
    expect(stopped).to_have_attribute("data-state", "error")
    expect(box).to_have_value(Q_KIEM_NHIEM)
    page.unroute("**/ask/stream")

    # "Hỏi lại" on the stopped answer asks again
    box.fill("")
    stopped.locator(".retry").click()
    answered = page.locator(".msg.assistant").last
    expect(answered).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    expect(answered.locator(".retry")).to_be_visible()

    # edit-and-resend the last question: the last exchange is replaced, not duplicated
    users_before = page.locator(".msg.user").count()
    page.locator(".msg.user").last.locator(".edit-question").click()
    expect(box).to_have_value(Q_KIEM_NHIEM)
    box.fill(Q_BAN_BAU_CU)
    box.press("Enter")
    expect(page.locator(".msg.assistant").last).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    expect(page.locator(".msg.user")).to_have_count(users_before)
    expect(page.locator(".msg.user .text").last).to_have_text(Q_BAN_BAU_CU)
    kept = page.evaluate("JSON.parse(localStorage.getItem('kiemnhiem.conversations.v1'))[0].turns.map((t) => t.question)")
    assert kept == [Q_BAN_BAU_CU], kept  # the edited question replaced the answered one; the stopped one was never kept
    screenshot(page, f"web-recovery-{viewport}.png")
    assert tab.errors == []


# ------------------------------------------------------------------------------------------ feedback

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_feedback_changes_and_carries_reason_citations_and_conversation(server: Server, tab: Tab, viewport: str) -> None:
    before = {row["id"] for row in export_rows(server)}
    page = load(tab, server.url)
    msg = ask(page, Q_KIEM_NHIEM)
    up, down = msg.locator(".feedback-up"), msg.locator(".feedback-down")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_be_enabled()
    # change of mind: 👎 with a reason and a comment
    down.click()
    form = msg.locator(".feedback-form")
    expect(form).to_be_visible()
    screenshot(page, f"web-feedback-form-{viewport}.png")
    form.get_by_label("Nguồn không đúng").check()
    form.locator(".feedback-comment").fill("Nguồn [1] nói về cấp tỉnh.")
    form.locator(".feedback-send").click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(form).to_be_hidden()

    rows = [r for r in export_rows(server) if r["id"] not in before and r["question"] == Q_KIEM_NHIEM]
    assert len(rows) == 1, rows  # the change updated the first rating, not a second row
    row = rows[0]
    assert row["rating"] == "down" and row["reason"] == "nguon-khong-dung", row
    assert row["comment"] == "Nguồn [1] nói về cấp tỉnh."
    assert json.loads(row["citations"])[0]["n"] == 1
    assert row["answered_by"] and row["as_of"] and row["conversation_id"]
    assert squash(row["answer"]) == squash(msg.locator(".answer").text_content() or "")
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ trust, date, share, print

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_answer_speaks_for_the_date_chosen(server: Server, tab: Tab, viewport: str) -> None:
    """Issue #11 in the browser: the same question before and after the 2025 amendment gets each period's figure."""
    page = load(tab, server.url)
    q = "Ban bầu cử đại biểu Hội đồng nhân dân cấp xã có bao nhiêu thành viên?"
    now_msg = ask(page, q)
    now, now_first = now_msg.locator(".answer").first.inner_text(), now_msg.locator(".verdict").first.inner_text()
    assert "9 đến 15" in now_first and "7 đến 9" not in now, now
    page.locator("#asof-change").click()
    page.locator("#asof-input").fill("2021-05-23")
    page.locator("#asof-input").dispatch_event("change")
    old_msg = ask(page, q)
    old, old_first = old_msg.locator(".answer").first.inner_text(), old_msg.locator(".verdict").first.inner_text()
    assert old_first.startswith("Tại ngày 23/05/2021") and "7 đến 9" in old_first and "9 đến 15" not in old, old
    screenshot(page, f"web-period-{viewport}.png")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_trust_signals_as_of_share_and_print(server: Server, browser: Browser, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    # the as-of control: change the date, the request carries it and the answer shows it
    page.locator("#asof-change").click()
    page.locator("#asof-input").fill("2021-05-01")
    page.locator("#asof-input").dispatch_event("change")
    expect(page.locator("#asof-label")).to_have_text("Áp dụng tại ngày 01/05/2021")
    msg = ask(page, Q_KIEM_NHIEM)
    assert stream_bodies(tab)[-1]["as_of"] == "2021-05-01"
    expect(msg.locator(".asof-line")).to_contain_text("01/05/2021")

    # trust: the summary badge, only the quote highlighted (server offsets), pinned title and status
    expect(msg.locator(".source-link .form-badge").first).to_have_text(re.compile("Tóm lược|Nguyên văn"))
    expected = httpx.post(server.url + "/ask", json={"question": Q_KIEM_NHIEM, "as_of": "2021-05-01"}, timeout=120).json()
    first = next(c for c in expected["citations"] if c["n"] == 1)
    assert first["quote_start"] is not None and first["status_label"]
    msg.locator('.cite[data-n="1"]').first.click()
    panel = page.locator("#source-panel")
    expect(panel.locator("mark")).to_have_text(first["quote"])
    pinned = panel.locator(".panel-pinned")
    expect(pinned.locator(".badge").first).to_have_text(re.compile(first["status_label"]))
    page.locator("#panel-body").evaluate("(b) => { b.scrollTop = b.scrollHeight; }")
    expect(pinned).to_be_in_viewport()
    screenshot(page, f"web-panel-pinned-{viewport}.png")
    page.keyboard.press("Escape")

    # "Sao chép" copies the answer with its date and its sources (number, status, link)
    page.evaluate("""() => {
        window.__copied = [];
        const keep = async (t) => { window.__copied.push(t); };
        if (navigator.clipboard) Object.defineProperty(navigator.clipboard, "writeText", { value: keep });
        document.execCommand = () => { keep(document.querySelector(".clipboard-helper").value); return true; };
    }""")
    msg.locator(".copy").click()
    expect(msg.locator(".action-status")).to_contain_text("Đã sao chép")
    copied = page.evaluate("window.__copied[0]")
    assert "Áp dụng tại ngày 01/05/2021" in copied and "Nguồn:\n[1" in copied, copied
    assert f"({first['status_label']})" in copied and any(u in copied for u in first["source_urls"] or [""])

    # share: the link shows a snapshot of this answer (tests/e2e/test_web_answers.py), not the question re-asked
    msg.locator(".share").click()
    expect(msg).to_have_attribute("data-share-url", re.compile(r"/s/[A-Za-z0-9_-]{22}$"))
    link = msg.get_attribute("data-share-url") or ""
    other = open_tab(browser)
    try:
        other.page.goto(link)
        reopened = other.page.locator(".msg.assistant").first
        expect(reopened).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
        expect(other.page.locator(".msg.user .text")).to_have_text(Q_KIEM_NHIEM)
        expect(reopened.locator(".asof-line")).to_contain_text("01/05/2021")
        assert stream_bodies(other) == []
    finally:
        other.page.context.close()

    # print: no header, composer or buttons; the answer, its sources with number/link, and the date
    ask(page, Q_BAN_BAU_CU)
    page.emulate_media(media="print")
    expect(page.locator(".app-header")).to_be_hidden()
    expect(page.locator(".composer")).to_be_hidden()
    expect(page.locator(".actions").first).to_be_hidden()
    expect(page.locator(".msg.assistant")).to_have_count(2)
    expect(page.locator(".msg.assistant").first).to_be_visible()
    expect(page.locator(".print-head")).to_contain_text("In ngày")
    expect(page.locator(".source-print").first).to_be_visible()
    printed = page.locator(".msg.assistant").first.locator(".source-print").first
    expect(printed).to_contain_text(first["number"] or "http")  # number and link on paper
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTIFACTS / f"web-print-conversation-{viewport}.pdf"))
    # one answer: the other exchange is not printed
    page.evaluate("window.print = () => {}")
    page.emulate_media(media="screen")
    page.locator(".msg.assistant").first.locator(".print-one").click()
    page.emulate_media(media="print")
    expect(page.locator(".msg.assistant").last).to_be_hidden()
    expect(page.locator(".msg.assistant").first).to_be_visible()
    page.pdf(path=str(ARTIFACTS / f"web-print-one-{viewport}.pdf"))
    assert (ARTIFACTS / f"web-print-one-{viewport}.pdf").stat().st_size > 5_000
    page.emulate_media(media="screen")
    tab.assert_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_official_links_come_first(server: Server, tab: Tab, viewport: str) -> None:
    """A note whose first source URL is a personal repository links the official site (quochoi.vn) first."""
    page = load(tab, server.url)
    page.locator("#tab-sources").click()
    page.locator('#source-list .doc-item[data-id="hoi-dap-thanh-vien-ban-bau-cu-kiem-nhiem"]').click()
    links = page.locator("#source-doc .doc-urls li a")
    expect(links).to_have_count(3)
    hrefs = links.evaluate_all("(as) => as.map((a) => a.href)")
    assert "quochoi.vn" in hrefs[0] and "github.com" in hrefs[-1], hrefs  # the note lists github.com first
    page.locator("#source-doc .doc-urls summary").click()
    screenshot(page, f"web-official-first-{viewport}.png")
    tab.assert_clean()


# accessibility (axe-core, every view, light and dark): tests/e2e/test_web_a11y.py
# uploads from the browser (the admin pane): tests/e2e/test_web_admin.py


# ------------------------------------------------------------------------------------------ shape

def test_front_end_is_native_modules_with_server_labels(server: Server, tab: Tab) -> None:
    """app.js loads api/web/js/*.js as ES modules (no bundle) and no module carries the label tables."""
    from assistant.models import KIND_LABELS, STATUS_LABELS

    page = load(tab, server.url)
    loaded = page.evaluate("performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)")
    modules = sorted(p for p in loaded if re.fullmatch(r"/static/js/\w+\.js", p))
    assert len(modules) >= 8, loaded
    for path in modules:
        r = httpx.get(server.url + path, timeout=30)
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
        tables = [k for k in (*STATUS_LABELS, *KIND_LABELS) if re.search(rf"[\"']{k}[\"']\s*:", r.text)]
        assert tables == [], (path, tables)  # a slug -> label table: the labels come from the server
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ LLM streaming

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_llm_answer_is_shown_as_it_is_written(llm_server: Server, scripted_llm: Any, tab: Tab, viewport: str) -> None:
    """With the LLM answerer the first verified sentence is on screen while the model is still writing."""
    test_llm_stream.script(scripted_llm, test_llm_stream.reply())
    page = load(tab, llm_server.url)
    page.locator("#question").fill(test_llm_stream.QUESTION)
    page.locator("#question").press("Enter")
    msg = page.locator(".msg.assistant").last
    expect(msg.locator(".answer")).to_contain_text("9 đến 17", timeout=ANSWER_TIMEOUT)
    expect(msg).to_have_attribute("data-state", "streaming")
    assert not scripted_llm.finished.is_set()
    screenshot(page, f"web-llm-streaming-{viewport}.png")
    scripted_llm.resume.set()
    expect(msg).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    expect(msg.locator(".answer")).to_contain_text("Thường trực Hội đồng nhân dân")
    expect(msg.locator(".answer")).not_to_contain_text("văn bản khác")
    expect(msg.locator(".source-link").first).to_be_visible()
    tab.assert_clean()
