// Trợ lý Kiêm nhiệm — web chat front end.
// Plain ES module, no dependencies. Every piece of server data is inserted with
// textContent / createElement (never innerHTML), so source text such as
// "<script>…" or "<img onerror=…>" is shown as text.

// ---------------------------------------------------------------- constants

const HISTORY_LIMIT = 10; // messages (user + assistant) sent with a follow-up
const HISTORY_CHARS = 8000; // the server's max_history_chars: more is a 422 for this and every later question
const NETWORK_ERROR_MSG = "Không kết nối được máy chủ. Vui lòng kiểm tra kết nối và thử lại.";
const GENERIC_ERROR_MSG = "Đã có lỗi xảy ra khi tạo câu trả lời. Vui lòng thử lại.";
const INTERRUPTED_MSG = "Câu trả lời bị gián đoạn. Vui lòng thử lại.";
const STOPPED_MSG = "Đã dừng trả lời.";

const STATUS_LABELS = {
  "con-hieu-luc": "Còn hiệu lực",
  "da-sua-doi": "Đã sửa đổi",
  "het-hieu-luc": "Hết hiệu lực",
  "thi-diem": "Thí điểm",
  "tham-khao": "Tham khảo",
};

const KIND_LABELS = {
  "luat": "Luật",
  "nghi-dinh": "Nghị định",
  "thong-tu": "Thông tư",
  "nghi-quyet": "Nghị quyết",
  "ket-luan": "Kết luận",
  "quy-dinh": "Quy định",
  "chi-thi": "Chỉ thị",
  "huong-dan": "Hướng dẫn",
  "hoi-dap": "Hỏi đáp",
  "tin-tuc": "Tin tức",
  "khac": "Tài liệu",
};

const MARKER_RE = /\[(\d+)\]/;

// ---------------------------------------------------------------- DOM helpers

const $ = (sel, root = document) => root.querySelector(sel);

/**
 * Create an element. `props`: className, text (→ textContent), dataset {…},
 * attrs {…} (setAttribute; "style" and on* are refused), on {event: fn},
 * plus any other safe DOM property (type, disabled, hidden, href, …).
 */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "attrs") {
      for (const [name, v] of Object.entries(value)) {
        if (v === undefined || v === null || v === false) continue;
        const lower = name.toLowerCase();
        if (lower === "style" || lower.startsWith("on")) continue;
        node.setAttribute(name, v === true ? "" : String(v));
      }
    } else if (key === "on") {
      for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    } else if (key.startsWith("on") || key === "innerHTML" || key === "outerHTML") {
      continue; // never
    } else node[key] = value;
  }
  appendAll(node, children);
  return node;
}

function appendAll(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Accept only absolute http(s) URLs; return the normalised href or "". */
function safeHttpUrl(raw) {
  if (typeof raw !== "string" || !raw.trim()) return "";
  try {
    const url = new URL(raw.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
  } catch {
    return "";
  }
}

function externalLink(url, text) {
  const href = safeHttpUrl(url);
  if (!href) return null;
  return el("a", {
    className: "ext-link",
    href,
    target: "_blank",
    rel: "noopener noreferrer",
    text: text || href,
  });
}

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  copy: "M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z",
  check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  up: "M1 21h4V9H1v12zm22-11a2 2 0 0 0-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59A1.98 1.98 0 0 0 7 9v10a2 2 0 0 0 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
  down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2a2 2 0 0 0 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5a2 2 0 0 0-2-2zm4 0v12h4V3h-4z",
};

/** A small inline SVG icon built with createElementNS (static path data only). */
function icon(name, cls = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", cls);
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function statusBadge(status, amendedBy) {
  const key = typeof status === "string" ? status : "";
  let label = STATUS_LABELS[key] || (key ? key : "Không rõ");
  // "how current": a law in force as amended says so on its badge
  const amended = Array.isArray(amendedBy) ? amendedBy.map(str).filter(Boolean).join(", ") : str(amendedBy);
  if (amended) label += ` · sửa đổi bởi ${amended}`;
  const cls = STATUS_LABELS[key] ? `status-${key}` : "status-unknown";
  return el("span", { className: `badge ${cls}`, dataset: { status: key }, text: label });
}

function formatDate(value) {
  if (typeof value !== "string" || !value) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : value;
}

function formatMs(ms) {
  if (typeof ms !== "number" || !isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toLocaleString("vi-VN", { maximumFractionDigits: 1 })} giây`;
}

function str(v) {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

function prefersReducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

function isPhone() {
  return window.matchMedia && window.matchMedia("(max-width: 640px)").matches;
}

// ---------------------------------------------------------------- HTTP helpers

class ApiError extends Error {
  constructor(message, { code = "", status = 0, network = false } = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.network = network;
  }
}

/** Turn a non-OK response into an ApiError carrying the Vietnamese message. */
async function errorFromResponse(res) {
  let message = "";
  let code = "";
  try {
    const body = await res.json();
    const err = body && body.error;
    if (err && typeof err === "object") {
      message = str(err.message) || str(err.message_en);
      code = str(err.code);
    } else if (body && typeof body.detail === "string") {
      message = body.detail;
    }
  } catch {
    /* not JSON */
  }
  if (!message) message = `Máy chủ trả về lỗi (mã ${res.status}). Vui lòng thử lại sau.`;
  return new ApiError(message, { code, status: res.status });
}

async function apiFetch(path, options = {}) {
  let res;
  try {
    res = await fetch(path, options);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(NETWORK_ERROR_MSG, { network: true });
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

async function getJSON(path, options = {}) {
  const res = await apiFetch(path, { headers: { Accept: "application/json" }, ...options });
  try {
    return await res.json();
  } catch {
    throw new ApiError("Dữ liệu máy chủ trả về không hợp lệ.");
  }
}

async function postJSON(path, body, options = {}) {
  return apiFetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    ...options,
  });
}

/**
 * Read a text/event-stream body and call onEvent(name, dataString) per event.
 * Handles \r\n / \r line endings, multi-line data, comments and a final event
 * without a trailing blank line.
 */
async function readSSE(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let eventName = "";
  let dataLines = [];

  const dispatch = () => {
    if (dataLines.length || eventName) {
      onEvent(eventName || "message", dataLines.join("\n"));
    }
    eventName = "";
    dataLines = [];
  };

  const processLine = (line) => {
    if (line === "") {
      dispatch();
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    if (field === "event") eventName = value;
    else if (field === "data") dataLines.push(value);
    // "id" and "retry" are irrelevant here
  };

  const drain = (final) => {
    // A lone trailing "\r" may be the first half of "\r\n": keep it unless final.
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (!match) break;
      if (!final && match[0] === "\r" && match.index === buffer.length - 1) break;
      processLine(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  };

  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    drain(false);
  }
  buffer += decoder.decode();
  drain(true);
  if (buffer) processLine(buffer);
  buffer = "";
  dispatch();
}

// ---------------------------------------------------------------- state

const state = {
  history: [], // [{role, content}] of completed exchanges only
  busy: false,
  controller: null, // AbortController of the running request
  docCache: new Map(), // doc_id -> Promise<doc>
  sourcesLoaded: false,
  panelToken: 0,
  stick: true,
  panelReturnFocus: null,
  currentDocId: "",
};

// ---------------------------------------------------------------- elements

const els = {};

function cacheElements() {
  for (const id of [
    "question", "send", "stop", "messages", "composer", "empty-state", "chat-scroll",
    "new-chat", "tab-chat", "tab-sources", "view-chat", "view-sources", "source-list",
    "source-list-status", "source-doc", "source-panel", "panel-body", "panel-title",
    "panel-close", "status-banner",
  ]) {
    els[id.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = document.getElementById(id);
  }
}

// ---------------------------------------------------------------- status banner

function showBanner(message) {
  const banner = els.statusBanner;
  $(".status-banner-text", banner).textContent = message;
  banner.hidden = false;
}

function hideBanner() {
  els.statusBanner.hidden = true;
}

async function checkHealth() {
  try {
    const data = await getJSON("/health", { cache: "no-store" });
    hideBanner();
    document.body.dataset.health = str(data && data.status) || "ok";
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.network) showBanner(NETWORK_ERROR_MSG);
    else document.body.dataset.health = "error";
    return false;
  }
}

// ---------------------------------------------------------------- answer rendering

/** Render answer text into `container`: paragraphs, line breaks and [n] buttons. */
function renderAnswer(container, text, citations) {
  const known = citations ? new Set(citations.map((c) => Number(c.n))) : null;
  const frag = document.createDocumentFragment();
  const paragraphs = text.replace(/\r\n?/g, "\n").split(/\n{2,}/);
  for (const para of paragraphs) {
    if (!para.trim()) continue;
    const p = el("p");
    if (/^\s*(Lưu ý|Ghi chú|Chú ý)(?=[\s:,.])/i.test(para)) p.className = "note";
    const lines = para.split("\n");
    lines.forEach((line, i) => {
      if (i > 0) p.append(el("br"));
      appendWithMarkers(p, line, known);
    });
    frag.append(p);
  }
  container.replaceChildren(frag);
}

function appendWithMarkers(parent, line, known) {
  // split with a capture group: even indexes are text, odd ones are numbers
  const parts = line.split(/\[(\d+)\]/g);
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) parent.append(document.createTextNode(part));
      return;
    }
    const n = Number(part);
    if (known && !known.has(n)) {
      parent.append(document.createTextNode(`[${part}]`));
      return;
    }
    // brackets stay in textContent (so the text reads "[n]") but are hidden visually
    parent.append(
      el(
        "button",
        {
          type: "button",
          className: "cite",
          dataset: { n: String(n) },
          attrs: { "aria-label": `Nguồn ${n}` },
        },
        el("span", { className: "cite-br", attrs: { "aria-hidden": "true" }, text: "[" }),
        String(n),
        el("span", { className: "cite-br", attrs: { "aria-hidden": "true" }, text: "]" }),
      ),
    );
  });
}

function plainAnswer(text) {
  return text.replace(/\r\n?/g, "\n").trim();
}

// ---------------------------------------------------------------- chat messages

function updateEmptyState() {
  const hasMessages = els.messages.children.length > 0;
  els.emptyState.hidden = hasMessages;
  document.body.classList.toggle("has-messages", hasMessages);
}

function isNearBottom() {
  const s = els.chatScroll;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

// Follow the conversation while the reader is at the bottom; stop following
// as soon as they scroll up, resume when they come back down.
function scrollToBottom(force = false) {
  if (force) state.stick = true;
  if (state.stick) els.chatScroll.scrollTop = els.chatScroll.scrollHeight;
}

function watchScroll() {
  els.chatScroll.addEventListener("scroll", () => {
    state.stick = isNearBottom();
  }, { passive: true });
  if (typeof ResizeObserver === "function") {
    const ro = new ResizeObserver(() => {
      if (state.stick) els.chatScroll.scrollTop = els.chatScroll.scrollHeight;
    });
    ro.observe(els.messages);
    ro.observe(els.chatScroll);
  }
}

function addUserMessage(question) {
  const node = el(
    "div",
    { className: "msg user" },
    el("h3", { className: "visually-hidden", text: "Bạn hỏi" }),
    el("div", { className: "bubble" }, el("p", { className: "text", text: question })),
  );
  els.messages.append(node);
  updateEmptyState();
  return node;
}

function addAssistantMessage(question) {
  const answer = el("div", { className: "answer" });
  const typing = el(
    "div",
    { className: "typing", attrs: { "aria-hidden": "true" } },
    el("span"), el("span"), el("span"),
  );
  const busyText = el("p", { className: "visually-hidden busy-text", text: "Trợ lý đang soạn câu trả lời…" });
  const bubble = el("div", { className: "bubble" }, typing, busyText, answer);
  const node = el(
    "article",
    {
      className: "msg assistant",
      dataset: { state: "streaming" },
      attrs: { "aria-busy": "true", "aria-label": "Câu trả lời của trợ lý" },
    },
    el("div", { className: "avatar", attrs: { "aria-hidden": "true" } }),
    bubble,
  );
  const msg = {
    node, bubble, answer, typing, busyText, question,
    text: "", citations: null, passages: [], refused: false, timings: null,
    renderQueued: false,
  };
  node._msg = msg;
  els.messages.append(node);
  updateEmptyState();
  return msg;
}

function scheduleRender(msg) {
  if (msg.renderQueued) return;
  msg.renderQueued = true;
  requestAnimationFrame(() => {
    msg.renderQueued = false;
    if (msg.node.dataset.state !== "streaming") return;
    // hide a marker that is still arriving ("… [1") until it is complete
    renderAnswer(msg.answer, msg.text.replace(/\[\d*$/, ""), msg.citations);
    if (msg.text) msg.typing.hidden = true;
    scrollToBottom();
  });
}

function finishMessage(msg, stateName) {
  const pending = msg.node.querySelector(".pending-note");
  if (pending) pending.remove();
  msg.node.dataset.state = stateName;
  msg.node.removeAttribute("aria-busy");
  msg.typing.remove();
  msg.busyText.remove();
}

function showMessageError(msg, message) {
  renderAnswer(msg.answer, msg.text, msg.citations);
  msg.answer.append(el("p", { className: "error-text", attrs: { role: "alert" }, text: message }));
  finishMessage(msg, "error");
  msg.node.classList.add("is-error");
}

function completeMessage(msg) {
  renderAnswer(msg.answer, msg.text, msg.citations);
  if (msg.refused) {
    msg.node.classList.add("refused");
    msg.bubble.prepend(el("p", { className: "refused-label", text: "Không tìm thấy căn cứ trong nguồn" }));
  } else if (msg.citations && msg.citations.length) {
    msg.bubble.append(renderSourceList(msg));
  }
  msg.bubble.append(renderActions(msg));
  finishMessage(msg, "done");
}

function renderSourceList(msg) {
  const seen = new Set();
  const items = [];
  const sorted = [...msg.citations].sort((a, b) => Number(a.n) - Number(b.n));
  for (const c of sorted) {
    const n = Number(c.n);
    if (seen.has(n)) continue;
    seen.add(n);
    const label = str(c.label) || [str(c.section), str(c.title)].filter(Boolean).join(", ") || `Nguồn ${n}`;
    items.push(
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            className: "source-link",
            dataset: { n: String(n) },
            attrs: { "aria-label": `Nguồn ${n}: ${label}` },
          },
          el("span", { className: "source-num", text: String(n) }),
          el("span", { className: "source-label", text: label }),
          statusBadge(c.status, c.amended_by),
        ),
      ),
    );
  }
  return el(
    "section",
    { className: "sources", attrs: { "aria-label": "Nguồn trích dẫn" } },
    el("h4", { className: "sources-title", text: "Nguồn" }),
    el("ol", { className: "sources-items" }, items),
  );
}

function renderActions(msg) {
  const status = el("span", { className: "action-status", attrs: { role: "status", "aria-live": "polite" } });
  const copy = el(
    "button",
    { type: "button", className: "btn-ghost copy", attrs: { "aria-label": "Sao chép câu trả lời" } },
    icon("copy", "icon icon-copy"),
    icon("check", "icon icon-check"),
    el("span", { className: "copy-text", text: "Sao chép" }),
  );
  // 👍 / 👎 drawn as SVG so they render without an emoji font
  const up = el(
    "button",
    {
      type: "button",
      className: "btn-ghost btn-round feedback-up",
      attrs: { "aria-label": "Câu trả lời hữu ích 👍", "aria-pressed": "false", title: "Hữu ích" },
    },
    icon("up"),
  );
  const down = el(
    "button",
    {
      type: "button",
      className: "btn-ghost btn-round feedback-down",
      attrs: { "aria-label": "Câu trả lời chưa tốt 👎", "aria-pressed": "false", title: "Chưa tốt" },
    },
    icon("down"),
  );
  const children = [copy, up, down, status];
  if (msg.timings && typeof msg.timings.total === "number") {
    const parts = [];
    if (typeof msg.timings.retrieve === "number") parts.push(`tra cứu ${formatMs(msg.timings.retrieve)}`);
    if (typeof msg.timings.generate === "number") parts.push(`soạn ${formatMs(msg.timings.generate)}`);
    children.push(
      el("span", {
        className: "timing",
        attrs: { title: parts.join(", ") },
        text: formatMs(msg.timings.total),
      }),
    );
  }
  return el("div", { className: "actions" }, children);
}

function copyTextFor(msg) {
  let text = plainAnswer(msg.text);
  if (!msg.refused && msg.citations && msg.citations.length) {
    const seen = new Set();
    const lines = [];
    for (const c of [...msg.citations].sort((a, b) => Number(a.n) - Number(b.n))) {
      if (seen.has(Number(c.n))) continue;
      seen.add(Number(c.n));
      const url = safeHttpUrl(c.source_url);
      lines.push(`[${c.n}] ${str(c.label) || str(c.title)}${url ? ` — ${url}` : ""}`);
    }
    text += `\n\nNguồn:\n${lines.join("\n")}`;
  }
  return text;
}

async function writeClipboard(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall through */
    }
  }
  const ta = el("textarea", { className: "clipboard-helper", value: text, readOnly: true });
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

async function onCopy(msg, button) {
  const status = $(".action-status", msg.node);
  const ok = await writeClipboard(copyTextFor(msg));
  const label = $(".copy-text", button);
  if (ok) {
    label.textContent = "Đã sao chép";
    button.classList.add("done");
    status.textContent = "Đã sao chép câu trả lời vào bộ nhớ tạm.";
  } else {
    status.textContent = "Không sao chép được. Hãy chọn văn bản và sao chép thủ công.";
  }
  clearTimeout(button._timer);
  button._timer = setTimeout(() => {
    label.textContent = "Sao chép";
    button.classList.remove("done");
    if (status.textContent.startsWith("Đã sao chép") || status.textContent.startsWith("Không sao chép")) {
      status.textContent = "";
    }
  }, 2500);
}

async function onFeedback(msg, rating, button) {
  const up = $(".feedback-up", msg.node);
  const down = $(".feedback-down", msg.node);
  const status = $(".action-status", msg.node);
  if (up.disabled) return;
  up.disabled = true;
  down.disabled = true;
  status.textContent = "Đang gửi phản hồi…";
  try {
    await postJSON("/feedback", { question: msg.question, answer: msg.text, rating });
    button.setAttribute("aria-pressed", "true");
    button.classList.add("chosen");
    status.textContent = "Cảm ơn phản hồi của bạn";
    msg.node.dataset.feedback = rating;
  } catch (err) {
    up.disabled = false;
    down.disabled = false;
    status.textContent =
      err instanceof ApiError && !err.network
        ? `Không gửi được phản hồi: ${err.message}`
        : "Không gửi được phản hồi. Vui lòng thử lại.";
  }
}

// ---------------------------------------------------------------- asking

function setBusy(busy) {
  state.busy = busy;
  els.send.disabled = busy;
  els.stop.hidden = !busy;
  els.composer.classList.toggle("busy", busy);
  for (const chip of document.querySelectorAll(".example")) chip.disabled = busy;
}

function historyPayload() {
  const turns = state.history.slice(-HISTORY_LIMIT).map((t) => ({ role: t.role, content: t.content }));
  // long answers add up: drop the oldest turns until the rest fits the server's limit
  let total = turns.reduce((n, t) => n + t.content.length, 0);
  while (turns.length && total > HISTORY_CHARS) total -= turns.shift().content.length;
  return turns;
}

async function ask(rawQuestion) {
  const question = str(rawQuestion).trim();
  if (!question || state.busy) return;

  const history = historyPayload();
  els.question.value = "";
  autosize();

  addUserMessage(question);
  const msg = addAssistantMessage(question);
  scrollToBottom(true);

  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);

  let outcome = "error";
  try {
    outcome = await streamAnswer(msg, { question, history }, controller.signal);
  } catch (err) {
    if (err && err.name === "AbortError") {
      showMessageError(msg, STOPPED_MSG);
      msg.node.classList.add("stopped");
    } else if (err instanceof ApiError && err.network) {
      showMessageError(msg, NETWORK_ERROR_MSG);
      showBanner(NETWORK_ERROR_MSG);
      // keep the question so the user can simply resend
      if (!els.question.value.trim()) {
        els.question.value = question;
        autosize();
      }
    } else {
      showMessageError(msg, (err && err.message) || GENERIC_ERROR_MSG);
    }
  } finally {
    if (state.controller === controller) state.controller = null;
    setBusy(false);
  }

  if (outcome === "done") {
    state.history.push({ role: "user", content: question });
    state.history.push({ role: "assistant", content: plainAnswer(msg.text) });
  }
  scrollToBottom();
  if (!isPhone() && document.activeElement === document.body) els.question.focus();
}

/** Returns "done" or "error"; throws ApiError / AbortError for transport problems. */
async function streamAnswer(msg, payload, signal) {
  let res;
  try {
    res = await fetch("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(payload),
      signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(NETWORK_ERROR_MSG, { network: true });
  }

  if (res.status === 404 || res.status === 405) {
    // no streaming endpoint: fall back to the plain JSON one
    return askPlain(msg, payload, signal);
  }
  if (!res.ok) throw await errorFromResponse(res);
  hideBanner();

  const type = res.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    applyFullAnswer(msg, await res.json());
    return "done";
  }
  if (!res.body) return askPlain(msg, payload, signal);

  let finished = false;
  let failed = null;
  let gotCitations = false;

  try {
    await readSSE(res.body, (event, data) => {
      if (finished || failed) return;
      let obj = null;
      try {
        obj = data ? JSON.parse(data) : {};
      } catch {
        obj = null;
      }
      switch (event) {
        case "token": {
          const piece = obj && typeof obj.text === "string" ? obj.text : "";
          if (piece) {
            msg.text += piece;
            scheduleRender(msg);
          }
          break;
        }
        case "citations": {
          if (!obj) break;
          gotCitations = true;
          msg.refused = Boolean(obj.refused);
          msg.citations = Array.isArray(obj.citations) ? obj.citations.filter((c) => c && typeof c === "object") : [];
          msg.passages = Array.isArray(obj.passages) ? obj.passages : [];
          scheduleRender(msg);
          break;
        }
        case "done": {
          msg.timings = obj && obj.timings_ms && typeof obj.timings_ms === "object" ? obj.timings_ms : null;
          finished = true;
          break;
        }
        case "error": {
          const err = obj && obj.error;
          failed = (err && (str(err.message) || str(err.message_en))) || GENERIC_ERROR_MSG;
          break;
        }
        default:
          break;
      }
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    if (!finished && !failed) throw new ApiError(msg.text ? INTERRUPTED_MSG : NETWORK_ERROR_MSG, { network: !msg.text });
  }

  if (failed) {
    showMessageError(msg, failed);
    return "error";
  }
  if (!finished && !(gotCitations && msg.text)) {
    showMessageError(msg, INTERRUPTED_MSG);
    return "error";
  }
  if (!msg.text.trim()) {
    showMessageError(msg, GENERIC_ERROR_MSG);
    return "error";
  }
  completeMessage(msg);
  return "done";
}

async function askPlain(msg, payload, signal) {
  const res = await apiFetch("/ask", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
    signal,
  });
  hideBanner();
  applyFullAnswer(msg, await res.json());
  if (!msg.text.trim()) {
    showMessageError(msg, GENERIC_ERROR_MSG);
    return "error";
  }
  completeMessage(msg);
  return "done";
}

function applyFullAnswer(msg, data) {
  data = data && typeof data === "object" ? data : {};
  msg.text = str(data.answer);
  msg.refused = Boolean(data.refused);
  msg.citations = Array.isArray(data.citations) ? data.citations.filter((c) => c && typeof c === "object") : [];
  msg.passages = Array.isArray(data.passages) ? data.passages : [];
  msg.timings = data.timings_ms && typeof data.timings_ms === "object" ? data.timings_ms : null;
}

function stopAnswer() {
  if (state.controller) state.controller.abort();
}

function newChat() {
  stopAnswer();
  state.history = [];
  closePanel(false);
  els.messages.replaceChildren();
  els.question.value = "";
  autosize();
  updateEmptyState();
  selectTab("chat");
  els.question.focus();
}

// ---------------------------------------------------------------- composer

function autosize() {
  const ta = els.question;
  ta.style.height = "auto";
  const max = Math.round(window.innerHeight * 0.35);
  ta.style.height = `${Math.min(ta.scrollHeight + 2, Math.max(max, 120))}px`;
}

// ---------------------------------------------------------------- source documents

function loadDoc(docId) {
  if (!state.docCache.has(docId)) {
    const p = getJSON(`/sources/${encodeURIComponent(docId)}`).catch((err) => {
      state.docCache.delete(docId);
      throw err;
    });
    state.docCache.set(docId, p);
  }
  return state.docCache.get(docId);
}

function findSection(doc, citation) {
  const sections = doc && Array.isArray(doc.sections) ? doc.sections : [];
  const pid = str(citation.passage_id);
  if (pid) {
    const hit = sections.find((s) => s && str(s.passage_id) === pid);
    if (hit) return hit;
  }
  const sec = str(citation.section);
  if (sec) {
    const hit = sections.find((s) => s && str(s.section) === sec);
    if (hit) return hit;
  }
  return null;
}

/** Normalised copy of `text` (NFC, whitespace runs → one space) with an index map back. */
function normaliseWithMap(text) {
  let out = "";
  const map = [];
  let inSpace = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      if (!inSpace && out.length) {
        out += " ";
        map.push(i);
      }
      inSpace = true;
    } else {
      out += ch;
      map.push(i);
      inSpace = false;
    }
  }
  return { out, map };
}

function cleanQuote(q) {
  return str(q)
    .normalize("NFC")
    .trim()
    .replace(/^["“”'‘’«»]+|["“”'‘’«»]+$/g, "")
    .replace(/^(\.\.\.|…)\s*/, "")
    .replace(/\s*(\.\.\.|…)$/, "")
    .trim();
}

/** Locate `quote` in `text`; returns [start, end) in `text` or null. */
function locateQuote(text, quote) {
  if (!quote) return null;
  let idx = text.indexOf(quote);
  if (idx !== -1) return [idx, idx + quote.length];

  const nText = normaliseWithMap(text.normalize("NFC"));
  // when NFC changes the length the map is unreliable; only trust it when equal
  if (text.normalize("NFC").length !== text.length) return null;
  for (const candidate of [quote, cleanQuote(quote)]) {
    const nQuote = candidate.normalize("NFC").replace(/\s+/g, " ").trim();
    if (!nQuote) continue;
    idx = nText.out.indexOf(nQuote);
    if (idx === -1) idx = nText.out.toLocaleLowerCase("vi").indexOf(nQuote.toLocaleLowerCase("vi"));
    if (idx !== -1) {
      const start = nText.map[idx];
      const end = nText.map[idx + nQuote.length - 1] + 1;
      return [start, end];
    }
  }
  return null;
}

function passageFromEvent(msg, citation) {
  const pid = str(citation.passage_id);
  if (!pid || !Array.isArray(msg.passages)) return null;
  const p = msg.passages.find((x) => x && (str(x.passage_id) === pid || str(x.id) === pid));
  return p && typeof p.text === "string" ? p : null;
}

// ---------------------------------------------------------------- source panel

function openCitation(msg, n, trigger) {
  const citation = (msg.citations || []).find((c) => Number(c.n) === Number(n));
  if (!msg.citations) {
    // still streaming: citations not known yet
    const status = msg.node.querySelector(".pending-note");
    if (!status) {
      msg.answer.after(el("p", { className: "pending-note", attrs: { role: "status" }, text: "Nguồn sẽ hiển thị khi câu trả lời hoàn tất." }));
    }
    return;
  }
  if (!citation) return;
  openPanel(msg, citation, trigger);
}

function openPanel(msg, citation, trigger) {
  const token = ++state.panelToken;
  const panel = els.sourcePanel;
  if (panel.hidden) state.panelReturnFocus = trigger || document.activeElement;
  else if (trigger) state.panelReturnFocus = trigger;

  document.querySelectorAll(".cite.active, .source-link.active").forEach((b) => b.classList.remove("active"));
  msg.node
    .querySelectorAll(`.cite[data-n="${Number(citation.n)}"], .source-link[data-n="${Number(citation.n)}"]`)
    .forEach((b) => b.classList.add("active"));

  els.panelTitle.textContent = `Nguồn [${citation.n}]`;
  const body = els.panelBody;
  body.replaceChildren();

  const label = str(citation.label);
  if (label) body.append(el("p", { className: "panel-label", text: label }));

  const meta = el("dl", { className: "doc-meta" });
  const addMeta = (term, value) => {
    if (!value) return;
    meta.append(el("div", {}, el("dt", { text: term }), el("dd", {}, value)));
  };
  const title = str(citation.title);
  addMeta("Văn bản", title);
  addMeta("Số hiệu", str(citation.number));
  addMeta("Cơ quan ban hành", str(citation.issuer));
  addMeta("Ngày ban hành", formatDate(str(citation.issued)));
  addMeta("Tình trạng", statusBadge(citation.status, citation.amended_by));
  const link = externalLink(citation.source_url, "Mở nguồn gốc");
  if (link) {
    link.append(el("span", { className: "visually-hidden", text: " (mở trong thẻ mới)" }));
    addMeta("Nguồn gốc", el("span", { className: "url-wrap" }, link, el("span", { className: "url-text", text: safeHttpUrl(citation.source_url) })));
  }
  body.append(meta);

  const passageBox = el("section", { className: "passage", attrs: { "aria-label": "Đoạn trích dẫn" } });
  passageBox.append(el("h3", { className: "passage-title", text: "Đoạn được trích dẫn" }));
  const passageContent = el("div", { className: "passage-content" }, el("p", { className: "loading", text: "Đang tải đoạn văn bản…" }));
  passageBox.append(passageContent);
  body.append(passageBox);

  panel.hidden = false;
  document.body.classList.add("panel-open");
  els.panelTitle.focus({ preventScroll: true });
  body.scrollTop = 0;

  const docId = str(citation.doc_id);
  const quote = str(citation.quote);

  const render = (section, note) => {
    if (token !== state.panelToken) return;
    passageContent.replaceChildren();
    if (note) passageContent.append(el("p", { className: "panel-note", text: note }));
    let markEl = null;
    if (section) {
      const text = str(section.text);
      const range = locateQuote(text, quote);
      if (!range && quote) {
        markEl = el("mark", { text: quote });
        passageContent.append(
          el("p", { className: "panel-note", text: "Trích dẫn (không tìm thấy nguyên văn trong đoạn bên dưới):" }),
          el("blockquote", { className: "quote-alone" }, markEl),
        );
      }
      const heading = str(section.label) || str(section.section);
      if (heading && heading !== label) passageContent.append(el("p", { className: "section-ref", text: heading }));
      const pre = el("div", { className: "section-text" });
      if (range) {
        markEl = el("mark", { text: text.slice(range[0], range[1]) });
        pre.append(text.slice(0, range[0]), markEl, text.slice(range[1]));
      } else {
        pre.textContent = text;
      }
      passageContent.append(pre);
      if (docId) {
        passageContent.append(
          el("button", {
            type: "button",
            className: "btn-link open-doc",
            text: "Xem toàn văn trong Nguồn tài liệu →",
            on: { click: () => openDocument(docId, str(section.anchor)) },
          }),
        );
      }
    } else if (quote) {
      markEl = el("mark", { text: quote });
      passageContent.append(el("blockquote", { className: "quote-alone" }, markEl));
    } else {
      passageContent.append(el("p", { className: "panel-note", text: "Không có đoạn trích cho nguồn này." }));
    }
    if (markEl) {
      requestAnimationFrame(() => {
        if (token !== state.panelToken) return;
        markEl.scrollIntoView({ block: "center", behavior: prefersReducedMotion() ? "auto" : "smooth" });
      });
    }
  };

  if (!docId) {
    const p = passageFromEvent(msg, citation);
    render(p ? { text: p.text, label: p.label || citation.label } : null);
    return;
  }
  loadDoc(docId)
    .then((doc) => {
      const section = findSection(doc, citation);
      if (section) render(section);
      else {
        const p = passageFromEvent(msg, citation);
        render(p ? { text: p.text } : null, p ? "" : "Không tìm thấy đoạn này trong văn bản nguồn; dưới đây là phần được trích.");
      }
    })
    .catch((err) => {
      const p = passageFromEvent(msg, citation);
      const why = err instanceof ApiError && err.network ? NETWORK_ERROR_MSG : `Không tải được văn bản nguồn${err && err.message ? `: ${err.message}` : "."}`;
      render(p ? { text: p.text } : null, why);
    });
}

function closePanel(restoreFocus = true) {
  const panel = els.sourcePanel;
  if (panel.hidden) return;
  state.panelToken++;
  panel.hidden = true;
  document.body.classList.remove("panel-open");
  document.querySelectorAll(".cite.active, .source-link.active").forEach((b) => b.classList.remove("active"));
  const target = state.panelReturnFocus;
  state.panelReturnFocus = null;
  if (restoreFocus) {
    if (target && target.isConnected && !target.closest("[hidden]")) target.focus();
    else els.question.focus();
  }
}

function trapPanelFocus(e) {
  if (e.key !== "Tab" || els.sourcePanel.hidden || !isPhone()) return;
  const focusables = [...els.sourcePanel.querySelectorAll("button, a[href], [tabindex]:not([tabindex='-1'])")].filter(
    (n) => !n.disabled && n.offsetParent !== null,
  );
  if (!focusables.length) return;
  const first = focusables[0];
  const last = focusables[focusables.length - 1];
  if (e.shiftKey && (document.activeElement === first || document.activeElement === els.panelTitle)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

// ---------------------------------------------------------------- tabs

function selectTab(name, focus = false) {
  const isChat = name === "chat";
  els.tabChat.setAttribute("aria-selected", String(isChat));
  els.tabSources.setAttribute("aria-selected", String(!isChat));
  els.tabChat.tabIndex = isChat ? 0 : -1;
  els.tabSources.tabIndex = isChat ? -1 : 0;
  els.viewChat.hidden = !isChat;
  els.viewSources.hidden = isChat;
  document.body.dataset.view = isChat ? "chat" : "sources";
  if (focus) (isChat ? els.tabChat : els.tabSources).focus();
  if (!isChat) {
    closePanel(false);
    loadSourceList();
  }
}

function onTabKeydown(e) {
  if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) return;
  e.preventDefault();
  const toSources = e.key === "End" || ((e.key === "ArrowRight" || e.key === "ArrowLeft") && e.currentTarget === els.tabChat);
  selectTab(toSources ? "sources" : "chat", true);
}

// ---------------------------------------------------------------- source browser

async function loadSourceList(force = false) {
  if (state.sourcesLoaded && !force) return;
  state.sourcesLoaded = true;
  const status = els.sourceListStatus;
  status.replaceChildren(el("span", { className: "loading", text: "Đang tải danh sách tài liệu…" }));
  try {
    const docs = await getJSON("/sources");
    const list = Array.isArray(docs) ? docs.filter((d) => d && typeof d === "object") : [];
    status.textContent = list.length ? `${list.length} tài liệu` : "Chưa có tài liệu nào.";
    els.sourceList.replaceChildren(
      ...list.map((d) => {
        const id = str(d.id);
        const metaBits = [KIND_LABELS[str(d.kind)] || "", str(d.number), formatDate(str(d.issued))].filter(Boolean);
        return el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              className: "doc-item",
              dataset: { id },
              attrs: { "aria-current": id === state.currentDocId ? "true" : null },
              on: { click: () => openDocument(id) },
            },
            el("span", { className: "doc-item-title", text: str(d.title) || id }),
            el(
              "span",
              { className: "doc-item-meta" },
              statusBadge(d.status),
              metaBits.length ? el("span", { className: "doc-item-sub", text: metaBits.join(" · ") }) : null,
              typeof d.passages === "number" ? el("span", { className: "doc-item-sub", text: `${d.passages} đoạn` }) : null,
            ),
          ),
        );
      }),
    );
  } catch (err) {
    state.sourcesLoaded = false;
    status.replaceChildren(
      el("span", { className: "error-text", text: (err && err.message) || "Không tải được danh sách tài liệu." }),
      " ",
      el("button", { type: "button", className: "btn btn-small", text: "Thử lại", on: { click: () => loadSourceList(true) } }),
    );
    if (err instanceof ApiError && err.network) showBanner(NETWORK_ERROR_MSG);
  }
}

function sectionDomId(section, index) {
  const anchor = str(section.anchor).trim();
  if (anchor && !/\s/.test(anchor)) return anchor;
  const pid = str(section.passage_id).trim();
  return pid ? `sec-${pid.replace(/[^\w-]+/g, "-")}` : `sec-${index + 1}`;
}

async function openDocument(docId, anchor = "") {
  if (document.body.dataset.view !== "sources") selectTab("sources");
  state.currentDocId = docId;
  document.body.classList.add("doc-open");
  els.sourceList.querySelectorAll(".doc-item").forEach((b) => {
    if (b.dataset.id === docId) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
  const box = els.sourceDoc;
  box.replaceChildren(el("p", { className: "loading", text: "Đang tải tài liệu…" }));
  let doc;
  try {
    doc = await loadDoc(docId);
  } catch (err) {
    if (state.currentDocId !== docId) return;
    box.replaceChildren(
      backButton(),
      el("p", { className: "error-text", attrs: { role: "alert" }, text: (err && err.message) || "Không tải được tài liệu." }),
    );
    return;
  }
  if (state.currentDocId !== docId) return;
  renderDocument(doc || {});
  if (anchor) {
    const target = box.querySelector(`[data-anchor="${CSS.escape(anchor)}"]`);
    if (target) {
      target.scrollIntoView({ block: "start" });
      const h = target.querySelector(".section-heading");
      if (h) h.focus({ preventScroll: true });
      target.classList.add("flash");
      return;
    }
  }
  box.scrollTop = 0;
  const h = $(".doc-title", box);
  if (h) h.focus({ preventScroll: true });
}

function backButton() {
  return el("button", {
    type: "button",
    className: "btn-link back-to-list",
    text: "← Danh sách tài liệu",
    on: {
      click: () => {
        document.body.classList.remove("doc-open");
        const current = els.sourceList.querySelector(`.doc-item[data-id="${CSS.escape(state.currentDocId)}"]`);
        if (current) current.focus();
      },
    },
  });
}

function renderDocument(doc) {
  const box = els.sourceDoc;
  const header = el("header", { className: "doc-header" });
  header.append(backButton());
  header.append(el("h2", { className: "doc-title", attrs: { tabindex: "-1" }, text: str(doc.title) || str(doc.id) }));
  const meta = el("dl", { className: "doc-meta" });
  const add = (t, v) => v && meta.append(el("div", {}, el("dt", { text: t }), el("dd", {}, v)));
  add("Loại", KIND_LABELS[str(doc.kind)] || str(doc.kind));
  add("Số hiệu", str(doc.number));
  add("Cơ quan ban hành", str(doc.issuer));
  add("Ngày ban hành", formatDate(str(doc.issued)));
  add("Ngày hiệu lực", formatDate(str(doc.effective)));
  add("Tình trạng", statusBadge(doc.status, doc.amended_by));
  const amended = Array.isArray(doc.amended_by) ? doc.amended_by.map(str).filter(Boolean) : [];
  if (amended.length) add("Được sửa đổi bởi", amended.join(", "));
  header.append(meta);
  const urls = Array.isArray(doc.source_urls) ? doc.source_urls.map(safeHttpUrl).filter(Boolean) : [];
  if (urls.length) {
    const details = el("details", { className: "doc-urls" }, el("summary", { text: `Nguồn gốc (${urls.length})` }));
    details.append(el("ul", {}, urls.map((u) => el("li", {}, externalLink(u)))));
    header.append(details);
  }

  const sections = Array.isArray(doc.sections) ? doc.sections.filter((s) => s && typeof s === "object") : [];
  const content = el("div", { className: "doc-content" });
  let toc = null;
  if (sections.length) {
    const ids = new Set();
    const tocList = el("ol", { className: "toc-list" });
    sections.forEach((s, i) => {
      let id = sectionDomId(s, i);
      while (ids.has(id) || (document.getElementById(id) && !els.sourceDoc.contains(document.getElementById(id)))) id = `${id}-${i + 1}`;
      ids.add(id);
      const heading = str(s.heading) || str(s.section) || `Mục ${i + 1}`;
      const text = str(s.text);
      // section text starts with its heading line: don't show it twice
      const firstBreak = text.indexOf("\n");
      const firstLine = (firstBreak === -1 ? text : text.slice(0, firstBreak)).replace(/^#+\s*/, "").trim();
      const bodyText = firstLine && firstLine === heading.replace(/^#+\s*/, "").trim() ? text.slice(firstBreak === -1 ? text.length : firstBreak + 1) : text;
      const headingEl = el("h3", { className: "section-heading", attrs: { tabindex: "-1" }, text: heading });
      content.append(
        el(
          "section",
          { className: "doc-section", id, dataset: { anchor: str(s.anchor), passageId: str(s.passage_id) }, attrs: { "aria-label": heading } },
          headingEl,
          el("div", { className: "section-text", text: bodyText.replace(/^\n+/, "") }),
        ),
      );
      tocList.append(
        el(
          "li",
          {},
          el("a", {
            href: `#${id}`,
            text: heading,
            on: {
              click: (e) => {
                e.preventDefault();
                const target = document.getElementById(id);
                if (!target) return;
                target.scrollIntoView({ block: "start", behavior: prefersReducedMotion() ? "auto" : "smooth" });
                headingEl.focus({ preventScroll: true });
                if (history.replaceState) history.replaceState(null, "", `#${id}`);
              },
            },
          }),
        ),
      );
    });
    toc = el("nav", { className: "toc", attrs: { "aria-label": "Mục lục tài liệu" } }, el("h3", { className: "toc-title", text: "Mục lục" }), tocList);
  } else {
    content.append(el("div", { className: "section-text", text: str(doc.text) || "Tài liệu không có nội dung." }));
  }
  box.replaceChildren(header, toc || "", content);
}

// ---------------------------------------------------------------- wiring

function findMsg(node) {
  const article = node.closest(".msg.assistant");
  return article ? article._msg : null;
}

function bind() {
  els.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    ask(els.question.value);
  });
  els.question.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter = newline; never during IME composition (Telex/VNI)
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      ask(els.question.value);
    }
  });
  els.question.addEventListener("input", autosize);
  els.stop.addEventListener("click", stopAnswer);
  els.newChat.addEventListener("click", newChat);

  document.querySelectorAll(".example").forEach((chip) => {
    chip.addEventListener("click", () => ask(chip.textContent));
  });

  els.messages.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const msg = findMsg(target);
    if (!msg) return;
    const cite = target.closest(".cite, .source-link");
    if (cite) {
      openCitation(msg, Number(cite.dataset.n), cite);
      return;
    }
    const copy = target.closest(".copy");
    if (copy) return void onCopy(msg, copy);
    const up = target.closest(".feedback-up");
    if (up) return void onFeedback(msg, "up", up);
    const down = target.closest(".feedback-down");
    if (down) return void onFeedback(msg, "down", down);
  });

  els.panelClose.addEventListener("click", () => closePanel(true));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !els.sourcePanel.hidden) {
      e.preventDefault();
      closePanel(true);
    }
  });
  els.sourcePanel.addEventListener("keydown", trapPanelFocus);

  els.tabChat.addEventListener("click", () => selectTab("chat"));
  els.tabSources.addEventListener("click", () => selectTab("sources"));
  els.tabChat.addEventListener("keydown", onTabKeydown);
  els.tabSources.addEventListener("keydown", onTabKeydown);

  $(".status-banner-retry", els.statusBanner).addEventListener("click", checkHealth);
  window.addEventListener("offline", () => showBanner(NETWORK_ERROR_MSG));
  window.addEventListener("online", checkHealth);
  window.addEventListener("resize", autosize);
}

function init() {
  cacheElements();
  bind();
  watchScroll();
  updateEmptyState();
  selectTab("chat");
  autosize();
  if (!isPhone()) els.question.focus({ preventScroll: true });
  checkHealth();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
