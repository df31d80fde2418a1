"""The web chat in a real browser: Playwright driving Debian's Chromium against real servers.

Skipped (with the reason) when /usr/bin/chromium or the ``playwright`` package is missing; with
KIEMNHIEM_REQUIRE_BROWSER set (CI) that is a failure instead. Never runs ``playwright install``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ARTIFACTS, Server, make_settings, server_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (install it with `apt-get install -y chromium`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the `playwright` Python package is not installed (`.venv/bin/pip install playwright`)"
    return None


_WHY = _missing_browser()
if _WHY:
    if os.environ.get("KIEMNHIEM_REQUIRE_BROWSER"):
        pytest.fail(f"KIEMNHIEM_REQUIRE_BROWSER is set but {_WHY}", pytrace=False)
    pytest.skip(_WHY, allow_module_level=True)

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.server]

Q_KIEM_NHIEM = "Thành viên Ban bầu cử có được kiêm nhiệm không?"
Q_BAN_BAU_CU = "Ban bầu cử đại biểu Quốc hội có bao nhiêu thành viên?"
Q_FOLLOW_UP = "Còn cấp xã thì sao?"
Q_CHIP = "Bí thư chi bộ kiêm trưởng thôn có được hưởng phụ cấp kiêm nhiệm không?"
NETWORK_ERROR_MSG = "Không kết nối được máy chủ. Vui lòng kiểm tra kết nối và thử lại."
ADMIN_KEY = "test-admin-key"
ANSWER_TIMEOUT = 90_000  # ms; the CPU is shared with other test processes

XSS_DOC_ID = "hoi-dap-kiem-nhiem-thu-nghiem-xss"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=2">'
XSS_QUESTION_IMG = '<img src=x onerror="window.__xss=3">'
XSS_NOTE = f"""---
id: {XSS_DOC_ID}
title: "Hỏi đáp: kiêm nhiệm thử nghiệm XSS <script>window.__xss=4</script>"
number: ""
kind: hoi-dap
issuer: "Nhóm kiểm thử <b onmouseover=\\"window.__xss=5\\">in đậm</b>"
status: tham-khao
text_form: tom-luoc
source_urls: ["javascript:window.__xss=6", "https://example.org/kiem-nhiem-thu-nghiem"]
---
# Hỏi đáp: kiêm nhiệm thử nghiệm XSS

## Câu hỏi

Cán bộ kiêm nhiệm thử nghiệm XSS có được hưởng phụ cấp kiêm nhiệm thử nghiệm không? Đoạn này chứa mã {XSS_SCRIPT} để kiểm tra rằng trình duyệt chỉ hiển thị nó như chữ.

## Trả lời

Cán bộ kiêm nhiệm thử nghiệm XSS được hưởng phụ cấp kiêm nhiệm thử nghiệm bằng 10% mức lương hiện hưởng {XSS_SCRIPT} theo quy định thử nghiệm.
Ảnh minh họa {XSS_IMG} chỉ là chữ, không phải ảnh; <svg onload="alert(7)"></svg> cũng vậy.
"""

# records CSP violations as the page sees them (in addition to the console messages)
INIT_SCRIPT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def squash(text: str) -> str:
    """Whitespace-insensitive form: the DOM turns line breaks into <br> and paragraphs."""
    return re.sub(r"\s+", "", text)


def norm_ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception as exc:
        pw.stop()
        if os.environ.get("KIEMNHIEM_REQUIRE_BROWSER"):
            pytest.fail(f"cannot launch {CHROMIUM}: {exc}")
        pytest.skip(f"cannot launch {CHROMIUM}: {exc}")
    yield b
    b.close()
    pw.stop()


@dataclass
class Tab:
    """A page plus everything it reported: console messages, page errors, dialogs, requests."""

    page: Page
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    posts: list[tuple[str, Any]] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        in_page = self.page.evaluate("window.__csp || []")
        in_console = [t for _, t in self.console if "Content Security Policy" in t]
        return [*in_page, *in_console]

    def assert_clean(self) -> None:
        """Normal use: no CSP violation, no uncaught exception, no console error."""
        assert self.csp_violations() == []
        assert self.errors == [], self.errors
        assert [t for kind, t in self.console if kind == "error"] == []


def open_tab(browser: Browser, **context_options: Any) -> Tab:
    options = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN", **context_options}
    context = browser.new_context(**options)
    context.add_init_script(INIT_SCRIPT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    tab = Tab(page)
    page.on("console", lambda m: tab.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: tab.errors.append(str(e)))

    def on_dialog(d: Any) -> None:
        tab.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: tab.posts.append((r.url, r.post_data_json)) if r.method == "POST" else None)
    return tab


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    t = open_tab(browser)
    yield t
    t.page.context.close()


def load(tab: Tab, url: str) -> Page:
    page = tab.page
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-health", "ok")
    return page


def ask(page: Page, question: str, *, typed: bool = False, expect_state: str | None = "done") -> Locator:
    """Ask through the composer (Enter), wait until the answer is complete (or, with ``expect_state=None``,
    finished either way), return its message."""
    n = page.locator(".msg.assistant").count()
    box = page.locator("#question")
    if typed:
        box.click()
        box.press_sequentially(question)
    else:
        box.fill(question)
    box.press("Enter")
    msg = page.locator(".msg.assistant").nth(n)
    expect(msg).to_have_attribute("data-state", expect_state or re.compile("^(done|error)$"), timeout=ANSWER_TIMEOUT)
    return msg


def api_ask(server: Server, question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
    r = httpx.post(server.url + "/ask", json={"question": question, "history": history or []}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
    return path


class Spares:
    """Two extra servers, started in the background as soon as the module begins so that their start-up
    (an index build and two model loads) overlaps the first tests:

    * ``xss``: over a SEPARATE tiny index whose only note carries hostile text;
    * ``doomed``: over the session index, for the test that stops it to see the page lose its server.
    """

    def __init__(self, root: Path, model_dir: Path, kb_settings: Any) -> None:
        self.root = root
        self.servers: list[Server] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spare-server")
        self._xss = self._pool.submit(self._start_xss, model_dir)
        self._doomed = self._pool.submit(self._start, server_env(kb_settings), "doomed")

    def _start(self, env: dict[str, str], name: str) -> Server:
        srv = Server(env, log_path=self.root / f"{name}.log")
        with self._lock:
            self.servers.append(srv)
        return srv.wait(timeout=240)

    def _start_xss(self, model_dir: Path) -> Server:
        from assistant.ingest.pipeline import KnowledgeIndex

        notes = self.root / "notes"
        notes.mkdir()
        (notes / f"{XSS_DOC_ID}.md").write_text(XSS_NOTE, encoding="utf-8")
        settings = make_settings(self.root / "data", model_dir, knowledge_paths=[notes])
        report = KnowledgeIndex(settings).ingest([notes])
        assert report.documents == 1 and not report.errors, report
        return self._start(server_env(settings, KIEMNHIEM_KNOWLEDGE_PATHS=f'["{notes}"]'), "xss")

    @property
    def xss(self) -> Server:
        return self._xss.result(timeout=300)

    @property
    def doomed(self) -> Server:
        return self._doomed.result(timeout=300)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for srv in self.servers:
            srv.stop()


@pytest.fixture(scope="module", autouse=True)
def _spares_in_background(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                          model_dir: Path, kb_settings: Any) -> Iterator[Spares | None]:
    """Start the spare servers when the module starts, if any selected test of it needs them."""
    needed = any(item.module is request.module and "spares" in item.fixturenames for item in request.session.items)
    if not needed:
        yield None
        return
    s = Spares(tmp_path_factory.mktemp("spares"), model_dir, kb_settings)
    yield s
    s.close()


@pytest.fixture(scope="module")
def spares(_spares_in_background: Spares | None) -> Spares:
    assert _spares_in_background is not None
    return _spares_in_background


# ------------------------------------------------------------------------------------------ tests

WATCH_STREAMING = """
() => {
  window.__states = [];
  window.__partials = [];
  const messages = document.getElementById("messages");
  new MutationObserver(() => {
    const m = messages.querySelector(".msg.assistant");
    if (!m) return;
    const state = m.dataset.state;
    if (window.__states[window.__states.length - 1] !== state) window.__states.push(state);
    const text = (m.querySelector(".answer") || {}).textContent || "";
    if (state === "streaming" && text) window.__partials.push(text);
  }).observe(messages, { subtree: true, childList: true, attributes: true, characterData: true });
}
"""


def test_ask_streams_cites_and_opens_the_source(server: Server, tab: Tab) -> None:
    expected = api_ask(server, Q_KIEM_NHIEM)
    assert expected["citations"], expected
    page = load(tab, server.url)
    page.evaluate(WATCH_STREAMING)

    msg = ask(page, Q_KIEM_NHIEM, typed=True)

    # the message went through "streaming" to "done", and ends exactly as POST /ask answers
    states = page.evaluate("window.__states")
    assert states[0] == "streaming" and states[-1] == "done", states
    final = msg.locator(".answer").text_content() or ""
    partials = page.evaluate("window.__partials")
    saw_intermediate = any(squash(p) != squash(final) and squash(final).startswith(squash(p)) for p in partials)
    final_equal = squash(final) == squash(expected["answer"])
    assert saw_intermediate or final_equal, (partials[:3], final)
    assert final_equal, f"browser answer differs from POST /ask:\n{final}\n---\n{expected['answer']}"
    assert page.locator(".msg.user .text").last.text_content() == Q_KIEM_NHIEM
    expect(page.locator("#question")).to_have_value("")

    # [n] markers are buttons, one per marker in the answer, and the source list names every citation
    cites = msg.locator(".answer .cite")
    n_markers = len(re.findall(r"\[\d+\]", expected["answer"]))
    expect(cites).to_have_count(n_markers)
    assert cites.first.text_content() == "[1]"
    # one entry per cited passage: a passage cited as [1] and [2] is listed once
    expect(msg.locator(".source-link")).to_have_count(len({c["passage_id"] for c in expected["citations"]}))

    # [1] opens the panel with the quote highlighted
    first = next(c for c in expected["citations"] if c["n"] == 1)
    msg.locator('.cite[data-n="1"]').first.click()
    panel = page.locator("#source-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#panel-title")).to_have_text("Nguồn [1]")
    mark = panel.locator("mark")
    expect(mark).to_have_count(1)
    expect(mark).to_be_visible()
    assert norm_ws(mark.text_content() or "") == norm_ws(first["quote"])
    expect(panel.locator(".panel-label")).to_have_text(first["label"])
    screenshot(page, "chat-source-panel.png")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(panel).to_have_attribute("hidden", "")
    # focus goes back to the marker that opened the panel
    assert page.evaluate("document.activeElement.matches('.cite[data-n=\"1\"]')")

    screenshot(page, "chat-answered.png")
    tab.assert_clean()
    assert tab.dialogs == []


def test_follow_up_question_uses_the_conversation(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    first = ask(page, Q_BAN_BAU_CU)
    assert "9 đến 17" in (first.locator(".answer").text_content() or "")
    second = ask(page, Q_FOLLOW_UP)
    text = second.locator(".answer").text_content() or ""
    assert "cấp xã" in text, text
    assert "9 đến 15" in text, text
    # the second request carried the first exchange as history
    bodies = [body for url, body in tab.posts if url.endswith("/ask/stream")]
    assert len(bodies) == 2
    history = bodies[1]["history"]
    assert [t["role"] for t in history] == ["user", "assistant"]
    assert history[0]["content"] == Q_BAN_BAU_CU and "9 đến 17" in history[1]["content"]
    # "new chat" forgets it
    page.locator("#new-chat").click()
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator(".example").first).to_be_visible()
    tab.assert_clean()


def test_long_conversation_stays_within_the_history_limit(server: Server, tab: Tab) -> None:
    """Long answers add up: the chat must trim the history it resends rather than exceed the server's
    8,000-character limit, which would fail that question and every later one in the conversation."""
    page = load(tab, server.url)
    long_answer = " ".join(["Câu trả lời dài về kiêm nhiệm chức danh ở cấp xã."] * 70)  # ~3,500 characters

    def fake_long_answer(route: Any) -> None:
        if not json.loads(route.request.post_data or "{}").get("question", "").startswith("Câu hỏi dài"):
            route.continue_()
            return
        events = [("token", {"text": long_answer}), ("citations", {"refused": False, "citations": [], "passages": []}),
                  ("done", {"timings_ms": {"total": 1.0}})]
        body = "".join(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events)
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream; charset=utf-8"}, body=body)

    page.route("**/ask/stream", fake_long_answer)
    for i in range(3):
        ask(page, f"Câu hỏi dài số {i + 1}")
    msg = ask(page, Q_KIEM_NHIEM, expect_state=None)
    history = [body for url, body in tab.posts if url.endswith("/ask/stream")][-1]["history"]
    assert history and history[-1]["content"] == long_answer, "the latest exchange was not sent"
    assert sum(len(t["content"]) for t in history) <= 8000
    expect(msg).to_have_attribute("data-state", "done")
    expect(msg.locator(".cite").first).to_be_visible()
    tab.assert_clean()


def export_rows(server: Server) -> list[dict[str, str]]:
    r = httpx.get(server.url + "/feedback/export", headers={"X-Admin-Key": ADMIN_KEY}, timeout=30)
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))


def test_thumbs_up_reaches_the_feedback_export(server: Server, tab: Tab) -> None:
    before = {row["id"] for row in export_rows(server)}
    page = load(tab, server.url)
    page.locator(".example", has_text=Q_CHIP).click()
    msg = page.locator(".msg.assistant").last
    expect(msg).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
    up = msg.locator(".feedback-up")
    up.click()
    expect(msg.locator(".action-status")).to_have_text(re.compile("Cảm ơn"))
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(msg.locator(".feedback-down")).to_be_enabled()  # a rating can be changed (tests/e2e/test_web_chat.py)

    new = [row for row in export_rows(server) if row["id"] not in before]
    mine = [row for row in new if row["question"] == Q_CHIP]
    assert [row["rating"] for row in mine] == ["up"], mine
    # the answer as shown, without the opening line the page adds when the first line is not the answer
    shown = msg.locator(".answer").evaluate(
        "(a) => { const c = a.cloneNode(true); c.querySelectorAll('.lead-neutral').forEach((n) => n.remove());"
        " return c.textContent; }")
    assert squash(mine[0]["answer"]) == squash(shown or "")
    tab.assert_clean()


def test_mobile_layout(server: Server, browser: Browser) -> None:
    t = open_tab(browser, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                 has_touch=True)
    try:
        page = load(t, server.url)
        page.locator("#question").fill(Q_KIEM_NHIEM)
        page.locator("#send").click()
        msg = page.locator(".msg.assistant").last
        expect(msg).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)
        expect(msg.locator(".cite").first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"page scrolls sideways by {overflow}px on a phone"
        screenshot(page, "chat-mobile.png")
        # the source panel also works on a phone, and closes with Escape
        msg.locator('.cite[data-n="1"]').first.click()
        expect(page.locator("#source-panel mark")).to_be_visible()
        screenshot(page, "chat-mobile-source.png")
        page.keyboard.press("Escape")
        expect(page.locator("#source-panel")).to_be_hidden()
        t.assert_clean()
    finally:
        t.page.context.close()


def test_keyboard_only(server: Server, tab: Tab) -> None:
    page = load(tab, server.url)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(25):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "question":
            break
    else:
        pytest.fail("Tab never reached #question")
    page.keyboard.type(Q_KIEM_NHIEM)
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant").first).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT)

    # source browser, by keyboard: arrow from the chat tab to the sources tab
    page.locator("#tab-chat").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-sources")).to_have_attribute("aria-selected", "true")
    items = page.locator("#source-list .doc-item")
    expect(items).to_have_count(15)
    expect(page.locator("#source-list-status")).to_have_text("15 tài liệu")
    items.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#source-doc .doc-section").first).to_be_visible()
    first_id = items.first.get_attribute("data-id")
    sections = httpx.get(f"{server.url}/sources/{first_id}", timeout=30).json()["sections"]
    expect(page.locator("#source-doc .doc-section")).to_have_count(len(sections))
    tab.assert_clean()


def test_server_unreachable_keeps_the_question(browser: Browser, spares: Spares) -> None:
    t = open_tab(browser)
    try:
        page = load(t, spares.doomed.url)
        spares.doomed.stop()
        question = "Người ứng cử có được làm thành viên Tổ bầu cử không?"
        page.locator("#question").fill(question)
        page.locator("#question").press("Enter")
        banner = page.locator("#status-banner")
        expect(banner).to_be_visible()
        expect(banner.locator(".status-banner-text")).to_have_text(NETWORK_ERROR_MSG)
        expect(page.locator("#question")).to_have_value(question)
        msg = page.locator(".msg.assistant").last
        expect(msg).to_have_attribute("data-state", "error")
        expect(msg.locator(".error-text")).to_have_text(NETWORK_ERROR_MSG)
        expect(page.locator("#send")).to_be_enabled()
        assert t.csp_violations() == [] and t.errors == []
    finally:
        t.page.context.close()


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
def test_hostile_source_text_is_shown_as_text(browser: Browser, spares: Spares, csp: str) -> None:
    """Source text, titles and the question itself are inserted as text. With the CSP bypassed a slip
    (innerHTML) would run the payloads; with it enforced the browser would report a violation."""
    t = open_tab(browser, bypass_csp=(csp == "bypassed"))
    page = t.page
    try:
        load(t, spares.xss.url)
        first = ask(page, "Cán bộ kiêm nhiệm thử nghiệm XSS có được hưởng phụ cấp không?")
        assert XSS_SCRIPT in (first.locator(".answer").text_content() or "")
        question = f"Phụ cấp kiêm nhiệm thử nghiệm XSS {XSS_QUESTION_IMG} là bao nhiêu?"
        second = ask(page, question, typed=True)
        expect(page.locator(".msg.user .text").last).to_have_text(question)
        assert (second.locator(".answer").text_content() or "").strip()

        # the source panel, then the full document in the source browser
        first.locator('.cite[data-n="1"]').first.click()
        panel = page.locator("#source-panel")
        expect(panel.locator("mark")).to_be_visible()
        expect(panel).to_contain_text(XSS_SCRIPT)
        expect(panel).to_contain_text("<script>window.__xss=4</script>")  # the title
        panel.locator(".open-doc").click()
        doc = page.locator("#source-doc")
        expect(doc.locator(".doc-section")).to_have_count(2)
        expect(doc).to_contain_text(XSS_IMG)
        expect(doc.locator(".doc-title")).to_contain_text("<script>window.__xss=4</script>")
        expect(doc.get_by_text("<script>", exact=False).first).to_be_visible()  # visible as text
        expect(page.locator(f'#source-list .doc-item[data-id="{XSS_DOC_ID}"]')).to_contain_text("<script>")

        assert page.evaluate("typeof window.__xss") == "undefined"
        assert t.dialogs == []
        dom = page.evaluate("""() => ({
            scripts: [...document.scripts].map((s) => s.src),
            imgs: [...document.querySelectorAll("img")].map((i) => i.getAttribute("src")),
            svgs: document.querySelectorAll("svg[onload]").length,
            handlers: [...document.querySelectorAll("*")].flatMap((n) =>
                [...n.attributes].filter((a) => a.name.startsWith("on")).map((a) => `${n.tagName} ${a.name}`)),
            jsLinks: [...document.querySelectorAll("a[href]")].filter((a) => !/^https?:|^#/.test(a.getAttribute("href")))
                .map((a) => a.getAttribute("href")),
        })""")
        assert [Path(s).name for s in dom["scripts"]] == ["app.js"], dom["scripts"]
        assert all(src == "/static/favicon.svg" for src in dom["imgs"]), dom["imgs"]
        assert dom["svgs"] == 0 and dom["handlers"] == [], dom
        assert dom["jsLinks"] == [], dom["jsLinks"]
        assert t.csp_violations() == [] and t.errors == []
    finally:
        page.context.close()
