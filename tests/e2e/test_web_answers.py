"""Web chat v3 (issue 25, items 1, 2, 3, 5, 6, 7, 8) in Debian's Chromium via Playwright, at 1280 px and 390 px.

The first line is bold only when it answers; a follow-up says how it was understood and can be asked alone;
"Chia sẻ" shares a snapshot a fresh browser shows exactly; a reopened chat lands at its last answer's start;
each chat has its URL and Back closes what was opened over it; "Hỏi lại" answers again in place with the
history as it was; refusals are short, with tappable questions. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
)
from tests.e2e.test_browser import ANSWER_TIMEOUT, Q_BAN_BAU_CU, Tab, ask, load, open_tab, screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

browser = test_browser.browser  # the module-scoped Chromium fixture, shared

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
VIEWPORTS = ["desktop", "phone"]

Q_YES = "Bí thư chi bộ có được kiêm trưởng thôn không?"
Q_RELATED = "Chủ tịch UBND xã có được kiêm bí thư không?"  # the sources hold a related news line, no verdict
Q_RATE_ANY = "Phụ cấp kiêm nhiệm là bao nhiêu?"  # several rates for several groups
Q_RATE_COMMUNE = "Phụ cấp kiêm nhiệm của công chức cấp xã là bao nhiêu?"
Q_FOLLOW = "Còn cấp xã thì sao?"
Q_OWN = "Nếu tôi là người ứng cử thì có được làm thành viên Tổ bầu cử không?"  # opens like a follow-up, is not
Q_OUT = "Lương tối thiểu vùng năm 2026 là bao nhiêu?"
CURATOR_TODO = re.compile(r"(?<!, )cần đối chiếu(?! văn bản hiện hành)|chưa đối chiếu nguyên văn")
SHARE_STUB = "navigator.share = async (data) => { window.__shared = data; };"


@pytest.fixture
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    phone = request.node.callspec.params.get("viewport") == "phone"
    t = open_tab(browser, **(PHONE if phone else DESKTOP))
    t.page.context.add_init_script(SHARE_STUB)
    yield t
    t.page.context.close()


def stream_bodies(tab: Tab) -> list[dict[str, Any]]:
    return [body for url, body in tab.posts if url.endswith("/ask/stream")]


def answer_top_in_view(page: Page, msg: Locator) -> bool:
    """The top of the answer's text is inside the chat's scrolling area."""
    return bool(msg.locator(".answer").evaluate("""(a) => {
        const s = document.getElementById("chat-scroll").getBoundingClientRect();
        const r = a.getBoundingClientRect();
        return r.top >= s.top - 1 && r.top <= s.bottom - 24;
    }"""))


# ------------------------------------------------------------------------------------------ item 1

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_bold_only_when_the_first_line_answers(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    yes = ask(page, Q_YES)
    expect(yes).to_have_attribute("data-lead", "answer")
    verdict = yes.locator(".answer .verdict")
    expect(verdict).to_have_text(re.compile(r"^Được\."))
    assert int(verdict.evaluate("(n) => getComputedStyle(n).fontWeight")) >= 600

    page.locator("#new-chat").click()  # each question alone: none is read as a follow-up of another
    related = ask(page, Q_RELATED)  # a related 2017 news line is not an answer: no bold, a neutral opening
    expect(related.locator(".verdict")).to_have_count(0)
    expect(related.locator(".lead-neutral")).to_have_text(re.compile("nguồn liên quan"))
    assert int(related.locator(".support li").first.evaluate("(n) => getComputedStyle(n).fontWeight")) < 600

    page.locator("#new-chat").click()
    groups = ask(page, Q_RATE_ANY)  # rates for different groups: said so, none bold
    expect(groups.locator(".verdict")).to_have_count(0)
    expect(groups.locator(".lead-neutral")).to_have_text(re.compile("từng đối tượng"))

    page.locator("#new-chat").click()
    commune = ask(page, Q_RATE_COMMUNE)  # the asker's group named: its 50 % rule is the bold line
    expect(commune.locator(".verdict")).to_contain_text("50%")
    screenshot(page, f"web-v3-lead-{viewport}.png")

    # curators' remarks never reach the reader: not in answers, not in the cited passages
    for msg in (commune, groups):
        assert not CURATOR_TODO.search(msg.locator(".answer").inner_text())
    commune.locator(".cite").first.click()
    expect(page.locator("#source-panel .section-text, #source-panel .quote-alone").first).to_be_visible()
    assert not CURATOR_TODO.search(page.locator("#panel-body").inner_text())
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ item 2

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_follow_up_says_how_it_was_understood(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    ask(page, Q_BAN_BAU_CU)
    follow = ask(page, Q_FOLLOW)
    understood = follow.locator(".understood")
    expect(understood).to_contain_text("Hiểu là:")
    expect(understood.locator(".understood-query")).to_contain_text("cấp xã")
    screenshot(page, f"web-v3-understood-{viewport}.png")

    # one tap asks it alone: no history is sent, and it is a new exchange
    understood.locator(".ask-alone").click()
    alone = page.locator(".msg.assistant").nth(2)
    expect(alone).to_have_attribute("data-state", re.compile("done|error"), timeout=ANSWER_TIMEOUT)
    body = stream_bodies(tab)[-1]
    assert body["question"] == Q_FOLLOW and body["history"] == []

    # a question with its own subject is never merged: the same answer as in a new chat
    own = ask(page, Q_OWN)
    expect(own.locator(".understood")).to_have_count(0)
    expect(own.locator(".verdict")).to_have_text(re.compile(r"^Không\."))
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ item 3

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_shared_link_shows_exactly_the_shared_answer(server: Server, browser: Browser, tab: Tab,
                                                       viewport: str) -> None:
    page = load(tab, server.url)
    ask(page, Q_YES)  # another conversation in the same browser: nothing of it may leak
    page.locator("#new-chat").click()
    ask(page, Q_BAN_BAU_CU)
    msg = ask(page, Q_FOLLOW)  # a follow-up shared alone must still show its own answer
    answer_text = msg.locator(".answer").inner_text()
    labels = msg.locator(".source-link .source-label").all_inner_texts()
    page.evaluate("""() => {
        window.__copied = [];
        if (navigator.clipboard) Object.defineProperty(navigator.clipboard, "writeText",
            { value: async (t) => { window.__copied.push(t); } });
        document.execCommand = () => { window.__copied.push(document.querySelector(".clipboard-helper").value); return true; };
    }""")
    msg.locator(".share").click()
    expect(msg).to_have_attribute("data-share-url", re.compile(r"/s/[A-Za-z0-9_-]{22}$"))
    link = msg.get_attribute("data-share-url") or ""
    if viewport == "phone":  # the system share sheet (Zalo, …) gets the link
        assert page.evaluate("window.__shared && window.__shared.url") == link
    else:
        assert page.evaluate("window.__copied[0]") == link

    # what is stored is this exchange only (with how it was understood): no history, no other conversation
    stored = httpx.get(server.url + "/share/" + link.rsplit("/", 1)[1], timeout=30).json()
    assert set(stored) == {"question", "query", "answer", "refused", "lead", "answered_by", "as_of", "citations",
                           "suggestions", "created", "expires"}
    assert stored["question"] == Q_FOLLOW and Q_YES not in str(stored)

    fresh = open_tab(browser, **(PHONE if viewport == "phone" else DESKTOP))
    try:
        fpage = fresh.page
        fpage.goto(link)
        shown = fpage.locator(".msg.assistant").first
        expect(shown).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
        expect(fpage.locator(".msg.user .text")).to_have_text(Q_FOLLOW)
        assert shown.locator(".answer").inner_text() == answer_text
        assert shown.locator(".source-link .source-label").all_inner_texts() == labels
        expect(fpage.locator(".shared-banner")).to_contain_text("được chia sẻ")
        assert stream_bodies(fresh) == []  # nothing was asked again
        shown.locator(".cite").first.click()
        expect(fpage.locator("#source-panel mark").first).to_have_text(stored["citations"][0]["quote"])
        screenshot(fpage, f"web-v3-shared-{viewport}.png")
        fresh.assert_clean()
    finally:
        fresh.page.context.close()

    # a changed answer is not stored under the site's name; unknown links say so
    tampered = {**stored, "answer": stored["answer"].replace("9", "19"), "token": "0" * 64}
    r = httpx.post(server.url + "/share", json={k: v for k, v in tampered.items() if k not in ("created", "expires")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "share_not_verified"
    assert httpx.get(server.url + "/share/AAAAAAAAAAAAAAAAAAAAAA", timeout=30).status_code == 404
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ items 5 and 6

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_reopened_chat_lands_at_its_last_answer(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    ask(page, Q_BAN_BAU_CU)
    last = ask(page, Q_RATE_ANY)  # a long answer: taller than the screen with its sources
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    last = page.locator(".msg.assistant").last
    expect(last).to_have_attribute("data-state", "done")
    page.wait_for_timeout(300)
    assert answer_top_in_view(page, last)
    screenshot(page, f"web-v3-reopened-{viewport}.png")

    # from "Lịch sử" too
    page.locator("#new-chat").click()
    page.locator("#history-toggle").click()
    page.locator("#history-panel .conv-open").first.click()
    last = page.locator(".msg.assistant").last
    expect(last).to_have_attribute("data-state", "done")
    page.wait_for_timeout(300)
    assert answer_top_in_view(page, last)
    tab.assert_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_each_chat_has_its_url_and_back_closes_what_was_opened(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    msg = ask(page, Q_BAN_BAU_CU)
    expect(page).to_have_url(re.compile(r"/\?c=c[a-z0-9]+$"))
    chat_url = page.url

    # a cited source, then its whole document: Back returns step by step, never out of the app
    msg.locator(".cite").first.click()
    expect(page.locator("#source-panel")).to_be_visible()
    page.locator("#source-panel .open-doc").click()
    expect(page.locator("#view-sources")).to_be_visible()
    screenshot(page, f"web-v3-back-doc-{viewport}.png")
    page.go_back()
    expect(page.locator("#view-chat")).to_be_visible()
    expect(page.locator("#source-panel")).to_be_visible()
    page.go_back()
    expect(page.locator("#source-panel")).to_be_hidden()
    assert page.url == chat_url

    # a new chat is "/", Back brings the conversation back; its URL opens it in place of whatever was current
    page.locator("#new-chat").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".msg")).to_have_count(0)
    page.go_back()
    expect(page.locator(".msg.assistant")).to_have_count(1)
    assert page.url == chat_url
    ask(page, Q_YES)  # a second conversation becomes the current one …
    page.locator("#new-chat").click()
    ask(page, Q_OUT, expect_state=None)
    page.goto(chat_url)  # … the first one's URL still opens the first one
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    expect(page.locator(".msg.user .text").first).to_have_text(Q_BAN_BAU_CU)
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ item 7

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_ask_again_answers_in_place_with_the_history_as_it_was(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    ask(page, Q_BAN_BAU_CU)
    follow = ask(page, Q_FOLLOW)
    first_text = follow.locator(".answer").inner_text()
    ask(page, Q_YES)  # a later turn about something else

    page.locator(".msg.assistant").nth(1).locator(".retry").click()
    again = page.locator(".msg.assistant").nth(1)
    expect(again.locator(".version-label")).to_have_text("Phiên bản 2/2", timeout=ANSWER_TIMEOUT)
    expect(page.locator(".msg.assistant")).to_have_count(3)  # replaced in place, nothing appended
    body = stream_bodies(tab)[-1]
    assert body["question"] == Q_FOLLOW
    assert [t["content"] for t in body["history"] if t["role"] == "user"] == [Q_BAN_BAU_CU]
    assert "cấp xã" in again.locator(".answer").inner_text()
    screenshot(page, f"web-v3-versions-{viewport}.png")

    again.locator(".version-prev").click()
    again = page.locator(".msg.assistant").nth(1)
    expect(again.locator(".version-label")).to_have_text("Phiên bản 1/2")
    assert again.locator(".answer").inner_text() == first_text
    page.reload()  # versions are kept with the conversation
    expect(page.locator(".msg.assistant").nth(1).locator(".version-label")).to_have_text("Phiên bản 1/2")
    tab.assert_clean()


# ------------------------------------------------------------------------------------------ item 8

@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_refusals_are_short_with_questions_to_tap(server: Server, tab: Tab, viewport: str) -> None:
    page = load(tab, server.url)
    out = ask(page, Q_OUT)
    expect(out.locator(".refused-label")).to_have_text("Ngoài phạm vi các nguồn")
    expect(out.locator(".verdict")).to_have_count(0)
    lines = out.locator(".answer .refusal-lead").evaluate(
        "(p) => Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight))")
    assert lines <= 4, lines
    assert int(out.locator(".refusal-lead").evaluate("(n) => getComputedStyle(n).fontWeight")) < 600
    suggestions = out.locator(".suggestion")
    assert suggestions.count() >= 1
    screenshot(page, f"web-v3-refusal-{viewport}.png")
    tapped = suggestions.first.inner_text()
    suggestions.first.click()
    asked = page.locator(".msg.assistant").nth(1)
    expect(asked).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    expect(page.locator(".msg.user .text").nth(1)).to_have_text(tapped)
    tab.assert_clean()
