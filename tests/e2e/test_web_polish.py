"""Web chat v3, what moved under the reader or hid from them (issue 25, items 4 and 10), in Debian's Chromium.

Every check runs at 1280×800 and at 390×844 against the session ``server``; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e import (
    test_browser,  # its module-level check skips (or fails in CI) without Chromium and playwright
)
from tests.e2e.test_browser import (
    ANSWER_TIMEOUT,
    Q_BAN_BAU_CU,
    Q_KIEM_NHIEM,
    Tab,
    ask,
    load,
    open_tab,
    screenshot,
)
from tests.support import ARTIFACTS, Server

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


# ------------------------------------------------------------------------------------------ item 10

CITATION = {"n": 1, "doc_id": "", "title": "Luật A", "number": "1/2015/QH13", "section": "Điều 1",
            "label": "Điều 1, Luật A", "quote": "Câu được trích nguyên văn.", "status": "con-hieu-luc",
            "status_label": "Còn hiệu lực", "score": 1.0, "passage_id": "a::dieu-1", "text_form": "nguyen-van",
            "source_url": "https://github.com/someone/mirror/blob/main/luat-a.md",
            "source_urls": ["https://github.com/someone/mirror/blob/main/luat-a.md",
                            "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=96185"]}


def fake_answers(page: Page, citations: list[dict[str, Any]] | None = None, answer: str = "Có [1].") -> None:
    """/ask/stream answers at once with ``answer`` and ``citations`` (and millisecond timings, as the API does)."""
    cits = [CITATION] if citations is None else citations
    passages = [{"passage_id": c["passage_id"], "text": f"Điều 1. {c['quote']} Câu sau.", "label": c["label"]} for c in cits]

    def fulfil(route: Any) -> None:
        events = [("token", {"text": answer}), ("citations", {"refused": False, "citations": cits, "passages": passages}),
                  ("done", {"timings_ms": {"total": 850.0, "retrieve": 120.0, "generate": 700.0}, "as_of": "2026-01-01"})]
        body = "".join(f"event: {n}\ndata: {json.dumps(d, ensure_ascii=False)}\n\n" for n, d in events)
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream; charset=utf-8"}, body=body)

    page.route("**/ask/stream", fulfil)


def boxes_overlap(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    assert a and b
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def contrast_violations(page: Page, selector: str) -> list[Any]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, context=selector, options={"runOnly": ["color-contrast"]}).response
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_undo_toast_is_readable_and_clear_of_the_input(server: Server, browser: Browser, mode: str) -> None:
    for viewport, options in VIEWPORTS.items():
        t = open_tab(browser, color_scheme=mode, **options)
        try:
            page = load(t, server.url)
            fake_answers(page)
            ask(page, "Câu hỏi bất kỳ")
            page.locator("#new-chat").click()
            toast = page.locator("#toast")
            expect(toast.locator(".toast-undo")).to_be_visible()
            assert contrast_violations(page, "#toast") == [], (viewport, mode)
            assert not boxes_overlap(toast.bounding_box(), page.locator("#composer .composer-inner").bounding_box()), viewport
            assert in_viewport(page, "#toast")
            screenshot(page, f"web-undo-toast-{viewport}-{mode}.png")
            toast.locator(".toast-undo").click()
            expect(page.locator(".msg.assistant")).to_have_count(1)
            t.assert_clean()
        finally:
            t.page.context.close()


def test_edit_mode_is_visible_and_can_be_cancelled(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    fake_answers(page)
    ask(page, "Câu hỏi thứ nhất")
    ask(page, "Câu hỏi thứ hai")
    bar = page.locator("#composer .edit-bar")
    expect(bar).to_have_count(0)
    last = page.locator(".msg.user").last
    last.locator(".edit-question").click()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Đang sửa câu hỏi")
    expect(last).to_have_class(re.compile(r"\bediting\b"))
    expect(page.locator("#question")).to_have_value("Câu hỏi thứ hai")
    screenshot(page, f"web-edit-mode-{tab.viewport}.png")  # type: ignore[attr-defined]
    # "Hủy sửa": nothing replaced, the composer empty, a new question is added after the others
    bar.locator(".edit-cancel").click()
    expect(bar).to_be_hidden()
    expect(last).not_to_have_class(re.compile(r"\bediting\b"))
    expect(page.locator("#question")).to_have_value("")
    ask(page, "Câu hỏi thứ ba")
    expect(page.locator(".msg.user .text")).to_have_text(["Câu hỏi thứ nhất", "Câu hỏi thứ hai", "Câu hỏi thứ ba"])
    # Escape leaves edit mode too; sending an edit replaces the last exchange and ends the mode
    page.locator(".msg.user").last.locator(".edit-question").click()
    expect(bar).to_be_visible()
    page.locator("#question").press("Escape")
    expect(bar).to_be_hidden()
    page.locator(".msg.user").last.locator(".edit-question").click()
    page.locator("#question").fill("Câu hỏi thứ ba, đã sửa")
    page.locator("#question").press("Enter")
    expect(page.locator(".msg.assistant").last).to_have_attribute("data-state", "done")
    expect(page.locator(".msg.user .text")).to_have_text(["Câu hỏi thứ nhất", "Câu hỏi thứ hai", "Câu hỏi thứ ba, đã sửa"])
    expect(bar).to_be_hidden()
    tab.assert_clean()


def test_waiting_says_when_the_server_is_slow_or_down(server: Server, tab: Tab) -> None:
    """While no response has come, the line never claims the answer is being written; after a while it says,
    from a /health probe, whether the server is busy or cannot be reached."""
    page = load(tab, server.url)
    held: list[Any] = []
    page.route("**/ask/stream", lambda route: held.append(route))
    page.locator("#question").fill(Q_KIEM_NHIEM)
    page.locator("#question").press("Enter")
    msg = page.locator(".msg.assistant").last
    step = msg.locator(".step-text")
    expect(step).to_have_text("Đang tìm trong nguồn…")
    page.wait_for_timeout(3000)
    expect(step).to_have_text("Đang tìm trong nguồn…")  # a clock alone changes nothing
    expect(msg).to_have_attribute("data-wait", "slow", timeout=20_000)
    expect(step).to_contain_text("Máy chủ đang bận")
    screenshot(page, f"web-waiting-slow-{tab.viewport}.png")  # type: ignore[attr-defined]
    page.route("**/health", lambda route: route.abort())
    expect(msg).to_have_attribute("data-wait", "down", timeout=20_000)
    expect(step).to_contain_text("Không liên lạc được máy chủ")
    screenshot(page, f"web-waiting-down-{tab.viewport}.png")  # type: ignore[attr-defined]
    page.unroute("**/health")
    expect(msg).to_have_attribute("data-wait", "slow", timeout=20_000)
    # the answer arrives at last: the waiting line goes, the answer is shown
    assert held
    held[0].fallback()
    expect(msg).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    expect(msg.locator(".step-text")).to_have_count(0)
    assert tab.errors == []


def test_no_emoji_labels_and_no_milliseconds(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    fake_answers(page)
    msg = ask(page, "Câu hỏi bất kỳ")
    labels = page.evaluate("[...document.querySelectorAll('[aria-label]')].map((n) => n.getAttribute('aria-label'))")
    emoji = [label for label in labels if re.search(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]", label)]
    assert emoji == [], emoji
    shown = page.evaluate("""() => [...document.querySelectorAll('.msg.assistant, .msg.assistant [title]')]
        .map((n) => n.innerText + ' ' + (n.getAttribute('title') || '')).join(' ')""")
    assert not re.search(r"\d\s*ms\b", shown), shown
    screenshot(page, f"web-no-ms-{tab.viewport}.png")  # type: ignore[attr-defined]
    assert msg.locator(".feedback-up").get_attribute("aria-label") == "Câu trả lời hữu ích"
    tab.assert_clean()


def test_document_list_has_a_search_box(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    page.locator("#tab-sources").click()
    items = page.locator("#source-list li")
    expect(items).to_have_count(15)
    search = page.get_by_role("searchbox", name="Tìm tài liệu")
    expect(search).to_be_visible()
    search.fill("bau cu")  # without diacritics
    visible = page.locator("#source-list li:visible")
    expect(visible.first).to_be_visible()
    titles = visible.all_inner_texts()
    assert 0 < len(titles) < 15, titles
    assert all(re.search("bầu cử", t, re.I) for t in titles), titles
    expect(page.locator("#source-list-status")).to_contain_text(f"{len(titles)}/15")
    search.fill("85/2015")
    expect(page.locator('#source-list li:visible .doc-item[data-id="luat-bau-cu-85-2015-qh13"]')).to_be_visible()
    search.fill("không có văn bản này")
    expect(page.locator("#source-list li:visible")).to_have_count(0)
    expect(page.locator("#source-list-status")).to_contain_text("Không có tài liệu nào khớp")
    screenshot(page, f"web-source-search-{tab.viewport}.png")  # type: ignore[attr-defined]
    search.fill("")
    expect(page.locator("#source-list li:visible")).to_have_count(15)
    tab.assert_clean()


def test_official_text_label_copy_and_print_cite_the_official_source(server: Server, tab: Tab) -> None:
    """"Mở văn bản chính thức" only on a link to the official text; copy and print use the official link of the
    document (never its GitHub mirror) and print carries the quoted sentence."""
    api = httpx.post(server.url + "/ask", json={"question": Q_KIEM_NHIEM}, timeout=120).json()
    mirrored = [c for c in api["citations"] if "github.com" in c["source_url"]]
    assert mirrored, "precondition: a cited note lists a GitHub mirror first"
    assert all(any("github.com" not in u for u in c["source_urls"]) for c in mirrored), mirrored

    page = load(tab, server.url)
    msg = ask(page, Q_KIEM_NHIEM)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    msg.locator(".copy").click()
    expect(msg.locator(".action-status")).to_contain_text("Đã sao chép")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "github.com" not in copied, copied
    assert any(f"“{c['quote']}”" in copied for c in api["citations"]), copied
    # a note's link to an official publisher's page that is not the text is not called the official text
    for i in range(msg.locator(".source-link").count()):
        msg.locator(".source-link").nth(i).click()
        link = page.locator("#panel-body .url-slot a")
        expect(link).to_be_visible()
        href = link.get_attribute("href") or ""
        text = link.inner_text()
        official = "vbpl.vn" in href or ("vanban.chinhphu.vn" in href and "docid=" in href)
        assert ("Mở văn bản chính thức" in text) == official, (href, text)
        assert "github.com" not in href, href
        page.keyboard.press("Escape")

    page.emulate_media(media="print")
    printed = msg.locator(".source-print").all_inner_texts()
    assert printed and not [p for p in printed if "github.com" in p], printed
    quotes = msg.locator(".source-quote")
    expect(quotes.first).to_be_visible()
    assert any(c["quote"][:40] in " ".join(quotes.all_inner_texts()) for c in api["citations"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTIFACTS / f"web-print-quotes-{tab.viewport}.pdf"))  # type: ignore[attr-defined]
    page.emulate_media(media="screen")

    # a link to the official text itself is called so
    fake_answers(page)
    fake = ask(page, "Câu hỏi có nguồn chính thức")
    fake.locator(".source-link").first.click()
    link = page.locator("#panel-body .url-slot a")
    expect(link).to_contain_text("Mở văn bản chính thức")
    expect(link).to_have_attribute("href", re.compile(r"vbpl\.vn"))
    screenshot(page, f"web-official-text-link-{tab.viewport}.png")  # type: ignore[attr-defined]
    tab.assert_clean()


def test_the_rules_behind_dates_search_and_links(server: Server, browser: Browser) -> None:
    """util.js, in the page: dd/mm/yyyy dates (only real ones), search with or without diacritics, and which
    link is the official text, which the best to print, which only a mirror."""
    t = open_tab(browser, **DESKTOP)
    try:
        page = load(t, server.url)
        got = page.evaluate("""async () => {
            const u = await import("/static/js/util.js");
            const urls = [
                "https://github.com/diepxuan/diepxuan.github.io/blob/x/van-ban/luat.md",
                "https://nganhangphapluat.thukyluat.vn/tu-van-phap-luat/so-luong-thanh-vien-181360",
                "http://hoidongbaucu.quochoi.vn/to-chuc-bcdp/Pages/gioi-thieu.aspx",
                "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=96185",
                "https://phapdien.moj.gov.vn",
                "https://vanban.chinhphu.vn/?classid=1&docid=216606&pageid=27160",
            ];
            return {
                dates: ["25/06/2015", "1/9/2015", "01-09-2015", "31.12.2024", "29/02/2024", "31/02/2024",
                        "29/02/2023", "2015-06-25", "25/6/15", ""].map(u.parseDate),
                folded: ["Bầu cử", "ĐẢNG ỦY", "bau cu", "Nghị định 33/2023/NĐ-CP"].map(u.fold),
                text: urls.map(u.isOfficialText),
                labels: urls.map(u.sourceLinkLabel),
                order: u.officialFirst(urls),
                cited: u.citationUrl({ source_url: urls[0], source_urls: [urls[0], urls[1], urls[2]] }),
                seconds: [850, 12345, 40].map(u.formatMs),
            };
        }""")
    finally:
        t.page.context.close()
    assert got["dates"] == ["2015-06-25", "2015-09-01", "2015-09-01", "2024-12-31", "2024-02-29", None, None, None,
                            None, ""]
    assert got["folded"] == ["bau cu", "dang uy", "bau cu", "nghi dinh 33/2023/nd-cp"]
    assert got["text"] == [False, False, False, True, False, True]
    assert got["labels"][3] == got["labels"][5] == "Mở văn bản chính thức"
    assert got["labels"][2] == "Mở trang nguồn (hoidongbaucu.quochoi.vn)"
    assert set(got["order"][:2]) == {
        "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=96185",
        "https://vanban.chinhphu.vn/?classid=1&docid=216606&pageid=27160"}
    assert "github.com" in got["order"][-1]
    assert got["cited"] == "http://hoidongbaucu.quochoi.vn/to-chuc-bcdp/Pages/gioi-thieu.aspx"
    assert got["seconds"] == ["0,9 giây", "12 giây", "dưới 0,1 giây"]
