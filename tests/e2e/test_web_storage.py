"""Conversations kept in the browser's localStorage that are damaged (issue #26, N13): start-up and Send go on.

Whatever wrote them (an extension, a hand edit, an older or newer version of the page, a bug), a stored
conversation the page cannot draw is moved aside under its own key with a visible notice, the good ones stay,
and the page works: no script error, questions are answered, the next load is clean. Chromium via Playwright
at 1280×800 and 390×844, reusing the session ``server``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
)
from tests.e2e.test_browser import Q_KIEM_NHIEM, Tab, ask, load, open_tab, screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

browser = test_browser.browser  # the module-scoped Chromium fixture, shared

CONVERSATIONS = "kiemnhiem.conversations.v1"
CURRENT = "kiemnhiem.current.v1"
QUARANTINE = "kiemnhiem.quarantine.v1"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
}
GOOD_TURN = {"question": "Ban bầu cử có bao nhiêu thành viên?", "answer": "Từ 9 đến 17 thành viên [1].",
             "refused": False, "citations": [{"n": 1, "doc_id": "luat-bau-cu", "title": "Luật Bầu cử", "quote": "9 đến 17"}],
             "versions": [{"answer": "Từ 9 đến 17 thành viên [1].", "citations": []}], "version": 0}
GOOD = {"id": "cgood1", "title": "Cuộc trò chuyện còn tốt", "created": "2025-06-01T08:00:00Z",
        "updated": "2025-06-01T08:00:00Z", "turns": [GOOD_TURN]}
# each is a conversation the page could not draw before: a missing turn, turns of the wrong kind, a citation
# that is not one, versions that are not answers, an id that is not text
DAMAGED = [
    {"id": "cbroken1", "title": "Hỏng: lượt trống", "turns": [None]},
    {"id": "cbroken2", "title": "Hỏng: lượt là chữ", "turns": ["abc", [1, 2]]},
    {"id": "cbroken3", "title": "Hỏng: trích dẫn", "turns": [{**GOOD_TURN, "citations": [None, "x"]}]},
    {"id": "cbroken4", "title": "Hỏng: phiên bản", "turns": [{**GOOD_TURN, "versions": [None, 5]}]},
    {"id": {"x": 1}, "title": ["không phải chữ"], "turns": [GOOD_TURN]},
    "không phải một cuộc trò chuyện",
]


@pytest.fixture(params=list(VIEWPORTS))
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    t = open_tab(browser, **VIEWPORTS[request.param])
    yield t
    t.page.context.close()


def store(tab: Tab, values: dict[str, str]) -> None:
    tab.page.evaluate("(values) => { for (const [k, v] of Object.entries(values)) localStorage.setItem(k, v); }", values)


def stored(tab: Tab, key: str) -> Any:
    raw = tab.page.evaluate("(key) => localStorage.getItem(key)", key)
    return json.loads(raw) if raw else None


def test_damaged_conversations_are_set_aside_and_the_page_works(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    store(tab, {CONVERSATIONS: json.dumps([DAMAGED[0], GOOD, *DAMAGED[1:]], ensure_ascii=False),
                CURRENT: json.dumps("cbroken1")})  # the damaged one was open: it is what start-up draws
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    notice = page.locator("#toast")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("6 cuộc trò chuyện")
    expect(notice).to_contain_text("hỏng")
    screenshot(page, f"n13-damaged-storage-{page.viewport_size['width']}.png")
    assert not tab.errors, tab.errors
    # the good conversation is kept and opens; the damaged ones are kept aside, not lost
    assert [c["id"] for c in stored(tab, CONVERSATIONS)] == ["cgood1"]
    aside = stored(tab, QUARANTINE)
    assert len(aside) == 6 and all(json.loads(item["value"]) in DAMAGED for item in aside), aside
    assert page.locator("#conv-list .conv-item").count() == 1
    # Send works
    answer = ask(page, Q_KIEM_NHIEM)
    expect(answer.locator(".answer")).to_contain_text("kiêm nhiệm")
    assert not tab.errors, tab.errors
    # the next load is clean: no notice, both conversations listed
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    expect(page.locator(".msg.assistant")).to_have_count(1)
    expect(notice).to_be_hidden()
    assert len(stored(tab, CONVERSATIONS)) == 2 and not tab.errors, tab.errors


def test_a_store_that_is_not_json_is_set_aside(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    store(tab, {CONVERSATIONS: "[{\"id\": \"c1\", \"turns\": [", CURRENT: "{not json"})
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    expect(page.locator("#toast")).to_contain_text("hỏng")
    assert stored(tab, QUARANTINE)[0]["value"] == "[{\"id\": \"c1\", \"turns\": ["
    ask(page, Q_KIEM_NHIEM)
    assert not tab.errors, tab.errors
