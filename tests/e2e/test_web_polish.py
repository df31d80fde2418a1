"""Web chat v3, what moved under the reader or hid from them (issue 25, items 4 and 10), in Debian's Chromium.

Every check runs at 1280×800 and at 390×844 against the session ``server``; screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
)
from tests.e2e.test_browser import (
    Q_BAN_BAU_CU,
    Q_KIEM_NHIEM,
    Tab,
    ask,
    load,
    open_tab,
    screenshot,
)
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

browser = test_browser.browser  # the module-scoped Chromium fixture, shared

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
Q_PHU_CAP = "Bí thư chi bộ kiêm trưởng thôn có được hưởng phụ cấp kiêm nhiệm không?"


@pytest.fixture(params=list(VIEWPORTS))
def tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A fresh tab at 1280×800 or 390×844."""
    t = open_tab(browser, **VIEWPORTS[request.param])
    t.viewport = request.param  # type: ignore[attr-defined]
    yield t
    t.page.context.close()


def scrolled_elements(page: Page) -> list[str]:
    """Every element (and the document) scrolled away from 0, except the two that scroll by design."""
    return page.evaluate("""() => {
        const own = new Set(["panel-body", "chat-scroll", "source-doc"]);
        const out = [...document.querySelectorAll("*")]
            .filter((n) => (n.scrollTop > 0 || n.scrollLeft > 0) && !own.has(n.id))
            .map((n) => `${n.tagName.toLowerCase()}${n.id ? "#" + n.id : ""}.${n.className}: ${n.scrollTop}`);
        if (window.scrollY || window.scrollX) out.push(`window: ${window.scrollY}`);
        return out;
    }""")


def in_viewport(page: Page, selector: str) -> bool:
    return bool(page.evaluate("""(sel) => {
        const n = document.querySelector(sel);
        if (!n) return false;
        const r = n.getBoundingClientRect();
        return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
    }""", selector))


# ------------------------------------------------------------------------------------------ item 4

def test_opening_a_citation_never_scrolls_the_page(server: Server, tab: Tab) -> None:
    """Every source of three answers, opened in turn: the quote is centred inside the panel only; the
    page, its header and the panel's close button never move."""
    page = load(tab, server.url)
    opened = 0
    for question in (Q_KIEM_NHIEM, Q_BAN_BAU_CU, Q_PHU_CAP):
        msg = ask(page, question)
        links = msg.locator(".source-link")
        for i in range(links.count()):
            links.nth(i).click()
            panel = page.locator("#source-panel")
            expect(panel.locator(".passage-content mark, .passage-content .panel-note").first).to_be_visible()
            page.wait_for_timeout(700)  # a smooth scroll has ended
            assert scrolled_elements(page) == [], (question, i)
            assert in_viewport(page, ".app-header" if tab.viewport == "desktop" else "#panel-close"), (question, i)  # type: ignore[attr-defined]
            assert in_viewport(page, "#panel-close"), (question, i)
            mark = panel.locator("mark").first
            if mark.count():
                expect(mark).to_be_in_viewport()
            opened += 1
            if opened == 2:
                screenshot(page, f"web-citation-no-page-scroll-{tab.viewport}.png")  # type: ignore[attr-defined]
            page.keyboard.press("Escape")
            expect(panel).to_be_hidden()
    assert opened >= 4
    tab.assert_clean()
