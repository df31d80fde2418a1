"""The past-date walk in the browser (issue #24): the date chip, its colour, one-tap clearing, the date kept per
conversation and carried by a reload and a shared link, a dd/mm/yyyy field in an en-US browser, and an answer
for 23/05/2021 that cites nothing issued or applying later. Debian's Chromium via Playwright; the session server.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from assistant.answering.timeline import audit
from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
)
from tests.e2e.test_browser import ANSWER_TIMEOUT, Tab, ask, load, open_tab, screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

browser = test_browser.browser  # the module-scoped Chromium fixture, shared
DAY = date(2021, 5, 23)
# who holds which post: on the old code, asked as of 2021 it was answered from a directive of 14/04/2025
QUESTION = "Bí thư cấp ủy có đồng thời làm chủ tịch Hội đồng nhân dân cùng cấp không?"
EN_US = {"locale": "en-US", "timezone_id": "Asia/Ho_Chi_Minh"}


def background(page: Page) -> str:
    return str(page.locator("#asof-chip").evaluate("e => getComputedStyle(e).backgroundColor"))


def kept_conversation(page: Page) -> dict[str, Any]:
    convs: list[dict[str, Any]] = page.evaluate("JSON.parse(localStorage.getItem('kiemnhiem.conversations.v1'))")
    return convs[0]


def asked_as_of(tab: Tab) -> list[str]:
    return [str((body or {}).get("as_of", "")) for url, body in tab.posts if url.endswith("/ask/stream")]


def choose_day(page: Page, typed: str) -> None:
    page.locator("#asof-change").click()
    field = page.locator("#asof-input")
    field.fill(typed)
    field.press("Enter")


def test_the_past_date_walk(server: Server, browser: Browser) -> None:
    tab = open_tab(browser, **EN_US)
    try:
        page = load(tab, server.url)
        # the chip shows the reader's day, in the browser's time zone (UTC+7 here): from 17:00 UTC that is
        # already tomorrow on the test machine's clock
        today = datetime.now(ZoneInfo(EN_US["timezone_id"])).strftime("%d/%m/%Y")
        label, clear = page.locator("#asof-label"), page.locator("#asof-clear")
        expect(label).to_have_text(f"Áp dụng tại ngày {today}")
        expect(clear).to_be_hidden()
        grey = background(page)

        # the field reads and shows dd/mm/yyyy in an en-US browser; a bad day is named, not taken
        page.locator("#asof-change").click()
        expect(page.locator("#asof-input")).to_have_value(today)
        page.locator("#asof-input").fill("31/02/2021")
        page.locator("#asof-input").press("Enter")
        expect(page.locator("#asof-error")).to_contain_text("31/02/2021")
        expect(label).to_have_text(f"Áp dụng tại ngày {today}")
        page.locator("#asof-input").fill("23/05/2021")
        page.locator("#asof-input").press("Enter")

        # the chip: visible, its own colour, with a ✕; the URL carries the day
        chip = page.locator("#asof-chip")
        expect(chip).to_have_text(re.compile(r"Áp dụng tại ngày 23/05/2021\s*✕"))
        expect(chip).to_have_class(re.compile(r"\bother-day\b"))
        assert background(page) != grey, "a chosen day must not look like today"
        assert "as_of=2021-05-23" in page.url
        page.locator("#asof-change").click()
        expect(page.locator("#asof-input")).to_have_value("23/05/2021")
        page.keyboard.press("Escape")

        # the answer for that day: asked for it, opens with it, cites nothing later
        msg = ask(page, QUESTION)
        assert asked_as_of(tab)[-1] == DAY.isoformat()
        conv = kept_conversation(page)
        assert conv["as_of"] == DAY.isoformat()
        turn = conv["turns"][-1]
        assert audit(turn["answer"], turn["citations"], DAY, DAY) == [], turn["answer"]
        assert all(c.get("issued", "") <= DAY.isoformat() for c in turn["citations"]), turn["citations"]
        assert "45-CT/TW" not in (msg.locator(".answer").inner_text())
        if not turn["refused"]:
            expect(msg.locator(".answer")).to_contain_text("23/05/2021")
        screenshot(page, "web-asof-chip.png")

        # a reload opens the same conversation on the same day
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-health", "ok")
        expect(label).to_have_text("Áp dụng tại ngày 23/05/2021")
        expect(page.locator(".msg.assistant")).to_have_count(1)

        # its share link opens, elsewhere, with the same day
        reopened = page.locator(".msg.assistant").first
        reopened.locator(".share").click()
        expect(reopened).to_have_attribute("data-share-url", re.compile(r"/s/[A-Za-z0-9_-]{22}"))  # a snapshot
        link = reopened.get_attribute("data-share-url") or ""
        other = open_tab(browser, **EN_US)
        try:
            other.page.goto(link)
            expect(other.page.locator("#asof-label")).to_have_text("Áp dụng tại ngày 23/05/2021",
                                                                   timeout=ANSWER_TIMEOUT)
            expect(other.page.locator(".msg.assistant").first).to_have_attribute("data-state", "done",
                                                                                 timeout=ANSWER_TIMEOUT)
            assert not asked_as_of(other), "a shared answer is shown as it was, never asked again"
            assert "as_of=2021-05-23" in other.page.url and "q=" not in other.page.url
        finally:
            other.page.context.close()

        # a new conversation starts at today; the kept one keeps its day
        page.locator("#new-chat").click()
        expect(label).to_have_text(f"Áp dụng tại ngày {today}")
        expect(clear).to_be_hidden()
        page.locator("#history-toggle").click()
        page.locator(".conv-open").first.click()
        expect(label).to_have_text("Áp dụng tại ngày 23/05/2021")

        # one tap back to today, in today's colour; the conversation forgets the day
        clear.click()
        expect(label).to_have_text(f"Áp dụng tại ngày {today}")
        expect(clear).to_be_hidden()
        assert background(page) == grey and "as_of" not in page.url
        assert kept_conversation(page)["as_of"] == ""
        tab.assert_clean()
    finally:
        tab.page.context.close()
