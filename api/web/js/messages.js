// Chat bubbles, source list, copy and feedback actions.

import { ApiError, postJSON } from "./http.js";
import { plainAnswer, renderAnswer } from "./render.js";
import { els, state } from "./state.js";
import { $, el, formatMs, icon, safeHttpUrl, statusBadge, str } from "./util.js";

// ---------------------------------------------------------------- chat messages

export function updateEmptyState() {
  const hasMessages = els.messages.children.length > 0;
  els.emptyState.hidden = hasMessages;
  document.body.classList.toggle("has-messages", hasMessages);
}

export function isNearBottom() {
  const s = els.chatScroll;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

// Follow the conversation while the reader is at the bottom; stop following
// as soon as they scroll up, resume when they come back down.
export function scrollToBottom(force = false) {
  if (force) state.stick = true;
  if (state.stick) els.chatScroll.scrollTop = els.chatScroll.scrollHeight;
}

export function watchScroll() {
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

export function addUserMessage(question) {
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

export function addAssistantMessage(question) {
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

export function scheduleRender(msg) {
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

export function finishMessage(msg, stateName) {
  const pending = msg.node.querySelector(".pending-note");
  if (pending) pending.remove();
  msg.node.dataset.state = stateName;
  msg.node.removeAttribute("aria-busy");
  msg.typing.remove();
  msg.busyText.remove();
}

export function showMessageError(msg, message) {
  renderAnswer(msg.answer, msg.text, msg.citations);
  msg.answer.append(el("p", { className: "error-text", attrs: { role: "alert" }, text: message }));
  finishMessage(msg, "error");
  msg.node.classList.add("is-error");
}

export function completeMessage(msg) {
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

export function renderSourceList(msg) {
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

export function renderActions(msg) {
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

export function copyTextFor(msg) {
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

export async function writeClipboard(text) {
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

export async function onCopy(msg, button) {
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

export async function onFeedback(msg, rating, button) {
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
