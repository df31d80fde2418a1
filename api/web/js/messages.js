// Chat bubbles: the answer (verdict, supporting sentences, notes), its merged sources and its actions
// (Hỏi lại, Sao chép, 👍/👎 with reasons, Chia sẻ, In).

import { ApiError, postJSON } from "./http.js";
import { appendWithMarkers, plainAnswer, renderAnswer } from "./render.js";
import { els, state } from "./state.js";
import { saveConversation } from "./store.js";
import {
  $, citationUrl, el, formatDate, formatMs, icon, isPhone, officialFirst, periodBadge, statusBadge, str, textFormBadge,
} from "./util.js";

export const STEP_SEARCHING = "Đang tìm trong nguồn…";
export const STEP_WRITING = "Đang soạn câu trả lời…";
export const REFUSAL_LABELS = {
  "out-of-domain": "Ngoài phạm vi các nguồn",
  refusal: "Không tìm thấy căn cứ trong nguồn",
};
const SUGGESTIONS_RE = /\n+Bạn có thể hỏi, ví dụ:[\s\S]*$/;
export const FEEDBACK_REASONS = [
  ["sai", "Sai"],
  ["thieu", "Thiếu"],
  ["nguon-khong-dung", "Nguồn không đúng"],
  ["kho-hieu", "Khó hiểu"],
  ["khac", "Khác"],
];

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

/** After an answer arrives, and when a kept conversation reopens, its (last) answer's start must be on screen,
 * not its source list; `force` also scrolls down when the whole answer fits (a reopened conversation). */
export function keepStartInView(msg, { force = false } = {}) {
  const s = els.chatScroll;
  const userNode = msg.node.previousElementSibling;
  const anchor = userNode && userNode.classList.contains("user") ? userNode : msg.node;
  const top = msg.node.getBoundingClientRect().top - s.getBoundingClientRect().top + s.scrollTop;
  const askedTop = anchor.getBoundingClientRect().top - s.getBoundingClientRect().top + s.scrollTop;
  if (s.scrollHeight - top <= s.clientHeight) {
    if (force) scrollToBottom(true);
    return; // the whole answer fits: normal bottom follow
  }
  state.stick = false;
  // the question too when it fits with the answer's first lines, else the answer's first line
  s.scrollTop = top - askedTop < s.clientHeight / 3 ? askedTop - 8 : top - 8;
}

export function addUserMessage(question) {
  const edit = el("button", {
    type: "button",
    className: "btn-ghost btn-small edit-question",
    text: "Sửa",
    attrs: { "aria-label": "Sửa và gửi lại câu hỏi này" },
  });
  const node = el(
    "div",
    { className: "msg user" },
    el("h3", { className: "visually-hidden", text: "Bạn hỏi" }),
    el("div", { className: "bubble" }, el("p", { className: "text", text: question })),
    el("div", { className: "user-actions" }, edit),
  );
  node._question = question;
  els.messages.append(node);
  updateEditButtons();
  updateEmptyState();
  return node;
}

/** Only the last question can be edited and resent (as in ChatGPT); a shared answer's question cannot. */
export function updateEditButtons() {
  const users = els.messages.querySelectorAll(".msg.user");
  users.forEach((u, i) => {
    const b = $(".edit-question", u);
    if (b) b.hidden = i !== users.length - 1 || state.busy || u.dataset.shared === "true";
  });
}

export function addAssistantMessage(question) {
  const msg = createAssistantMessage(question);
  els.messages.append(msg.node);
  updateEmptyState();
  return msg;
}

/** An answer's message, not yet on the page ("Hỏi lại" puts it in place of the one it replaces). */
export function createAssistantMessage(question) {
  const answer = el("div", { className: "answer" });
  const step = el("span", { className: "step-text", text: STEP_SEARCHING });
  const typing = el(
    "div",
    { className: "typing", attrs: { role: "status" } },
    el("span", { className: "dot", attrs: { "aria-hidden": "true" } }),
    el("span", { className: "dot", attrs: { "aria-hidden": "true" } }),
    el("span", { className: "dot", attrs: { "aria-hidden": "true" } }),
    step,
  );
  const bubble = el("div", { className: "bubble" }, typing, answer);
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
    node, bubble, answer, typing, step, question,
    text: "", citations: null, passages: [], refused: false, timings: null,
    answeredBy: "", asOf: "", period: null, feedback: null, renderQueued: false,
    lead: "", query: "", suggestions: [], shareToken: "", turn: null, asOfChosen: "",
  };
  node._msg = msg;
  return msg;
}

/** A kept (or shared) answer's fields onto a message, before it is drawn. */
export function fillFromRecord(msg, rec) {
  msg.text = str(rec.answer);
  msg.refused = Boolean(rec.refused);
  msg.citations = Array.isArray(rec.citations) ? rec.citations.filter((c) => c && typeof c === "object") : [];
  msg.answeredBy = str(rec.answered_by);
  msg.asOf = str(rec.as_of);
  msg.lead = str(rec.lead);
  msg.query = str(rec.query);
  msg.suggestions = Array.isArray(rec.suggestions) ? rec.suggestions.map(str).filter(Boolean) : [];
  msg.shareToken = str(rec.share_token);
  msg.asOfChosen = str(rec.as_of_chosen);
  msg.feedback = rec.feedback || null;
  return msg;
}

/** Draw `msg` again from its kept turn (another version chosen, or a new one added), in place. */
export function redrawMessage(msg) {
  const fresh = createAssistantMessage(msg.question);
  fillFromRecord(fresh, msg.turn);
  fresh.turn = msg.turn;
  msg.node.replaceWith(fresh.node);
  completeMessage(fresh, { restoring: true });
  return fresh;
}

export function setStep(msg, text) {
  if (msg.step.isConnected) msg.step.textContent = text;
}

export function scheduleRender(msg) {
  if (msg.renderQueued) return;
  msg.renderQueued = true;
  requestAnimationFrame(() => {
    msg.renderQueued = false;
    if (msg.node.dataset.state !== "streaming") return;
    // hide a marker that is still arriving ("… [1") until it is complete
    renderAnswer(msg.answer, msg.text.replace(/\[\d*$/, ""), msg.citations, "");
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
}

export function showMessageError(msg, message) {
  renderAnswer(msg.answer, msg.text, msg.citations);
  msg.answer.append(el("p", { className: "error-text", attrs: { role: "alert" }, text: message }));
  msg.bubble.append(el("div", { className: "actions" }, retryButton()));
  finishMessage(msg, "error");
  msg.node.classList.add("is-error");
}

export function completeMessage(msg, { restoring = false } = {}) {
  if (msg.refused) renderRefusal(msg);
  else renderAnswer(msg.answer, msg.text, msg.citations, msg.lead);
  msg.node.dataset.lead = msg.refused ? "" : msg.lead;
  const understood = understoodLine(msg);
  if (understood) msg.answer.before(understood);
  if (msg.refused) {
    msg.node.classList.add("refused");
    msg.bubble.prepend(el("p", { className: "refused-label", text: REFUSAL_LABELS[msg.answeredBy] || REFUSAL_LABELS.refusal }));
  }
  if (msg.asOf) msg.bubble.append(asOfLine(msg));
  if (!msg.refused && msg.citations && msg.citations.length) msg.bubble.append(renderSourceList(msg));
  const versions = versionSwitcher(msg);
  if (versions) msg.bubble.append(versions);
  msg.bubble.append(renderActions(msg));
  finishMessage(msg, "done");
  if (msg.feedback) markFeedback(msg, msg.feedback.rating, "");
  if (!restoring) keepStartInView(msg);
}

/**
 * A refusal is short: its first sentence says why, the rest (what is covered, how to ask) opens on demand,
 * and the in-field questions the server offers are buttons that ask them.
 */
function renderRefusal(msg) {
  const text = plainAnswer(msg.text).replace(msg.suggestions.length ? SUGGESTIONS_RE : /$^/, "");
  const m = /^([\s\S]+?[.!?])(\s+|$)([\s\S]*)$/.exec(text);
  const first = m ? m[1] : text;
  const rest = m ? m[3].trim() : "";
  const lead = el("p", { className: "refusal-lead" });
  appendWithMarkers(lead, first, null);
  const parts = [lead];
  if (rest) {
    const more = el("p", { className: "refusal-more-text" });
    appendWithMarkers(more, rest, null);
    parts.push(el("details", { className: "refusal-more" }, el("summary", { text: "Vì sao, và nên hỏi thế nào" }), more));
  }
  if (msg.suggestions.length) {
    parts.push(
      el("p", { className: "suggestions-title", text: "Bạn có thể hỏi:" }),
      el(
        "ul",
        { className: "suggestions" },
        msg.suggestions.map((q) => el("li", {}, el("button", { type: "button", className: "suggestion", text: q }))),
      ),
    );
  }
  msg.answer.replaceChildren(...parts);
}

function squashQuestion(text) {
  return str(text).toLowerCase().replace(/[\s?.!,;:]+/g, " ").trim();
}

/** How a follow-up was understood, when the server read it with the conversation, and a way to ask it alone. */
function understoodLine(msg) {
  if (!msg.query || squashQuestion(msg.query) === squashQuestion(msg.question)) return null;
  return el(
    "p",
    { className: "understood" },
    el("span", { className: "understood-label", text: "Hiểu là: " }),
    el("q", { className: "understood-query", text: msg.query }),
    " ",
    el("button", {
      type: "button",
      className: "btn-link ask-alone",
      text: "Hỏi riêng câu này",
      attrs: { "aria-label": `Hỏi riêng câu “${msg.question}”, không kèm các câu trước` },
    }),
  );
}

/** "Phiên bản 2/2" with previous / next, when "Hỏi lại" has given this question more than one answer. */
function versionSwitcher(msg) {
  const turn = msg.turn;
  const count = turn && Array.isArray(turn.versions) ? turn.versions.length : 0;
  if (count < 2) return null;
  const at = Number(turn.version) || 0;
  return el(
    "div",
    { className: "versions", attrs: { role: "group", "aria-label": "Các phiên bản câu trả lời" } },
    el("button", {
      type: "button", className: "btn-ghost btn-small version-prev", text: "‹", disabled: at === 0,
      attrs: { "aria-label": "Phiên bản trước" },
    }),
    el("span", { className: "version-label", text: `Phiên bản ${at + 1}/${count}` }),
    el("button", {
      type: "button", className: "btn-ghost btn-small version-next", text: "›", disabled: at === count - 1,
      attrs: { "aria-label": "Phiên bản sau" },
    }),
  );
}

function asOfLine(msg) {
  return el(
    "p",
    { className: "asof-line" },
    el("span", { className: "asof-text", text: `Áp dụng tại ngày ${formatDate(msg.asOf)}` }),
    " ",
    el("button", {
      type: "button",
      className: "btn-link asof-edit",
      text: "Đổi ngày",
      attrs: { "aria-label": "Đổi ngày áp dụng rồi hỏi lại" },
    }),
  );
}

/** Citations grouped by passage: the same passage cited as [1], [2] and [3] is listed once. */
export function groupCitations(citations) {
  const groups = new Map();
  for (const c of [...citations].sort((a, b) => Number(a.n) - Number(b.n))) {
    const key = str(c.passage_id) || str(c.label) || `n${c.n}`;
    if (!groups.has(key)) groups.set(key, { first: c, ns: [] });
    const g = groups.get(key);
    if (!g.ns.includes(Number(c.n))) g.ns.push(Number(c.n));
  }
  return [...groups.values()];
}

export function citationLabel(c) {
  return str(c.label) || [str(c.section), str(c.title)].filter(Boolean).join(", ") || `Nguồn ${c.n}`;
}

export function renderSourceList(msg) {
  const items = groupCitations(msg.citations).map(({ first: c, ns }) => {
    const label = citationLabel(c);
    const url = citationUrl(c);
    return el(
      "li",
      {},
      el(
        "button",
        {
          type: "button",
          className: "source-link",
          dataset: { n: String(ns[0]), ns: ns.join(",") },
          attrs: { "aria-label": `Nguồn ${ns.join(", ")}: ${label}` },
        },
        el("span", { className: "source-num", text: ns.join(", ") }),
        el("span", { className: "source-label", text: label }),
        statusBadge(c.status, c.amended_by, c.status_label),
        textFormBadge(c.text_form),
        periodBadge(c),
      ),
      // printed only: the number, the official link and the quoted sentence a reader of paper needs
      el("span", { className: "print-only source-print", text: [str(c.number), url].filter(Boolean).join(" — ") }),
      str(c.quote) ? el("span", { className: "print-only source-quote", text: `“${str(c.quote)}”` }) : null,
    );
  });
  return el(
    "section",
    { className: "sources", attrs: { "aria-label": "Nguồn trích dẫn" } },
    el("h4", { className: "sources-title", text: "Nguồn" }),
    el("ol", { className: "sources-items" }, items),
  );
}

function retryButton() {
  return el("button", {
    type: "button",
    className: "btn-ghost retry",
    text: "Hỏi lại",
    attrs: { "aria-label": "Hỏi lại câu này, với các câu trước như lúc hỏi" },
  });
}

export function renderActions(msg) {
  const status = el("span", { className: "action-status", attrs: { role: "status", "aria-live": "polite" } });
  const copy = el(
    "button",
    { type: "button", className: "btn-ghost copy", attrs: { "aria-label": "Sao chép câu trả lời kèm nguồn" } },
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
      attrs: { "aria-label": "Câu trả lời hữu ích", "aria-pressed": "false", title: "Hữu ích" },
    },
    icon("up"),
  );
  const down = el(
    "button",
    {
      type: "button",
      className: "btn-ghost btn-round feedback-down",
      attrs: { "aria-label": "Câu trả lời chưa tốt", "aria-pressed": "false", "aria-expanded": "false", title: "Chưa tốt" },
    },
    icon("down"),
  );
  const share = el("button", { type: "button", className: "btn-ghost share", text: "Chia sẻ", attrs: { "aria-label": "Chia sẻ câu trả lời này (câu hỏi, câu trả lời và nguồn)" } });
  const print = el("button", { type: "button", className: "btn-ghost print-one", text: "In", attrs: { "aria-label": "In câu trả lời này" } });
  const children = [retryButton(), copy, up, down, share, print, status];
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
  if (msg.asOf) text += `\n\nÁp dụng tại ngày ${formatDate(msg.asOf)}`;
  if (!msg.refused && msg.citations && msg.citations.length) {
    const lines = groupCitations(msg.citations).map(({ first: c, ns }) => {
      const url = citationUrl(c);
      const status = str(c.status_label);
      const quote = str(c.quote) ? `\n    “${str(c.quote)}”` : "";
      return `[${ns.join(", ")}] ${citationLabel(c)}${status ? ` (${status})` : ""}${url ? ` — ${url}` : ""}${quote}`;
    });
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
  const ta = el("textarea", { className: "clipboard-helper", value: text, readOnly: true, attrs: { "aria-hidden": "true" } });
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

function flashStatus(msg, text) {
  const status = $(".action-status", msg.node);
  status.textContent = text;
  clearTimeout(status._timer);
  status._timer = setTimeout(() => {
    if (status.textContent === text) status.textContent = "";
  }, 4000);
}

export async function onCopy(msg, button) {
  const ok = await writeClipboard(copyTextFor(msg));
  const label = $(".copy-text", button);
  if (ok) {
    label.textContent = "Đã sao chép";
    button.classList.add("done");
    flashStatus(msg, "Đã sao chép câu trả lời và nguồn vào bộ nhớ tạm.");
  } else {
    flashStatus(msg, "Không sao chép được. Hãy chọn văn bản và sao chép thủ công.");
  }
  clearTimeout(button._timer);
  button._timer = setTimeout(() => {
    label.textContent = "Sao chép";
    button.classList.remove("done");
  }, 2500);
}

/** What a shared link shows: this exchange only, as answered, with the token that proves it. */
export function shareBody(msg) {
  return {
    question: msg.question,
    query: msg.query || "",
    answer: msg.text,
    refused: Boolean(msg.refused),
    lead: msg.lead || "",
    answered_by: msg.answeredBy || "",
    as_of: msg.asOf || "",
    citations: (msg.citations || []).map((c) => Object.fromEntries(Object.entries(c).filter(([k, v]) => SHARED_FIELDS.has(k) && v !== undefined))),
    suggestions: msg.suggestions || [],
    token: msg.shareToken || "",
  };
}

const SHARED_FIELDS = new Set(["n", "doc_id", "passage_id", "label", "quote", "title", "number", "section", "source_url",
  "status", "status_label", "kind_label", "text_form", "issuer", "issued", "amended_by", "quote_start", "quote_end",
  "valid_from", "valid_to", "period_label"]);

/** "Chia sẻ": a link to a snapshot of this answer (the system share sheet on phones, else the clipboard). */
export async function onShare(msg) {
  let link = msg.shareUrl || "";
  if (!link) {
    if (!msg.shareToken) {
      flashStatus(msg, "Câu trả lời này không chia sẻ được; hãy dùng “Sao chép”.");
      return;
    }
    flashStatus(msg, "Đang tạo liên kết chia sẻ…");
    try {
      const res = await postJSON("/share", shareBody(msg));
      const data = await res.json();
      link = new URL(str(data.url), window.location.href).href;
      msg.shareUrl = link;
    } catch (err) {
      flashStatus(msg, err instanceof ApiError && !err.network
        ? `Không tạo được liên kết chia sẻ: ${err.message}`
        : "Không tạo được liên kết chia sẻ. Vui lòng thử lại.");
      return;
    }
  }
  msg.node.dataset.shareUrl = link;
  if (isPhone() && typeof navigator.share === "function") {
    try {
      await navigator.share({ title: "Trợ lý Kiêm nhiệm", text: msg.question, url: link });
      flashStatus(msg, "Đã chia sẻ câu trả lời.");
      return;
    } catch (err) {
      if (err && err.name === "AbortError") {
        flashStatus(msg, "");
        return;
      }
      /* no share sheet: copy instead */
    }
  }
  const ok = await writeClipboard(link);
  flashStatus(msg, ok ? "Đã sao chép liên kết: người nhận sẽ thấy đúng câu trả lời này." : `Liên kết: ${link}`);
}

/** Print only this answer (and its question): the print stylesheet hides every other message. */
export function printOne(msg) {
  const userNode = msg.node.previousElementSibling;
  document.body.classList.add("print-one");
  msg.node.classList.add("print-target");
  if (userNode) userNode.classList.add("print-target");
  const done = () => {
    document.body.classList.remove("print-one");
    document.querySelectorAll(".print-target").forEach((n) => n.classList.remove("print-target"));
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}

// ---------------------------------------------------------------- feedback

function markFeedback(msg, rating, statusText) {
  const up = $(".feedback-up", msg.node);
  const down = $(".feedback-down", msg.node);
  if (!up || !down) return;
  up.setAttribute("aria-pressed", String(rating === "up"));
  down.setAttribute("aria-pressed", String(rating === "down"));
  up.classList.toggle("chosen", rating === "up");
  down.classList.toggle("chosen", rating === "down");
  msg.node.dataset.feedback = rating;
  if (statusText) flashStatus(msg, statusText);
}

export function onFeedback(msg, rating) {
  if (rating === "down") {
    toggleReasons(msg);
    return;
  }
  closeReasons(msg);
  sendFeedback(msg, "up", {});
}

function closeReasons(msg) {
  const form = $(".feedback-form", msg.node);
  if (form) form.remove();
  const down = $(".feedback-down", msg.node);
  if (down) down.setAttribute("aria-expanded", "false");
}

function toggleReasons(msg) {
  if ($(".feedback-form", msg.node)) {
    closeReasons(msg);
    return;
  }
  const uid = `fb-${Math.random().toString(36).slice(2, 8)}`;
  const chosen = msg.feedback && msg.feedback.reason;
  const options = FEEDBACK_REASONS.map(([value, label], i) => el(
    "label",
    { className: "reason" },
    el("input", { type: "radio", name: `${uid}-reason`, value, checked: chosen ? chosen === value : i === 0 }),
    el("span", { text: label }),
  ));
  const comment = el("textarea", {
    className: "feedback-comment",
    id: `${uid}-comment`,
    rows: 2,
    maxLength: 2000,
    value: (msg.feedback && msg.feedback.comment) || "",
  });
  const form = el(
    "form",
    { className: "feedback-form", attrs: { "aria-label": "Vì sao câu trả lời chưa tốt" } },
    el("fieldset", {}, el("legend", { text: "Câu trả lời chưa tốt vì:" }), options),
    el("label", { className: "feedback-comment-label", attrs: { for: `${uid}-comment` }, text: "Góp ý thêm (không bắt buộc)" }),
    comment,
    el(
      "div",
      { className: "feedback-form-actions" },
      el("button", { type: "submit", className: "btn btn-primary btn-small feedback-send", text: "Gửi phản hồi" }),
      el("button", { type: "button", className: "btn btn-secondary btn-small feedback-cancel", text: "Bỏ qua", on: { click: () => closeReasons(msg) } }),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const picked = form.querySelector("input[type=radio]:checked");
    sendFeedback(msg, "down", { reason: picked ? picked.value : "khac", comment: comment.value.trim() }).then((ok) => {
      if (ok) closeReasons(msg);
    });
  });
  $(".actions", msg.node).after(form);
  $(".feedback-down", msg.node).setAttribute("aria-expanded", "true");
  form.querySelector("input[type=radio]:checked").focus();
}

function conversationTurns(msg) {
  const turns = [];
  for (const t of (state.conv && state.conv.turns) || []) {
    if (t.question === msg.question && t.answer === msg.text) break;
    turns.push({ role: "user", content: t.question }, { role: "assistant", content: plainAnswer(t.answer).slice(0, 8000) });
  }
  return turns.slice(-20);
}

async function sendFeedback(msg, rating, { reason, comment }) {
  const up = $(".feedback-up", msg.node);
  const down = $(".feedback-down", msg.node);
  up.disabled = true;
  down.disabled = true;
  flashStatus(msg, "Đang gửi phản hồi…");
  const body = {
    question: msg.question,
    answer: msg.text,
    rating,
    citations: (msg.citations || []).slice(0, 20).map((c) => ({
      n: Number(c.n), doc_id: str(c.doc_id), passage_id: str(c.passage_id), label: str(c.label), quote: str(c.quote).slice(0, 1000),
    })),
    conversation: conversationTurns(msg),
  };
  if (reason) body.reason = reason;
  if (comment) body.comment = comment;
  if (msg.answeredBy) body.answered_by = msg.answeredBy;
  if (msg.asOf) body.as_of = msg.asOf;
  if (state.conv) body.conversation_id = state.conv.id;
  if (msg.feedback && msg.feedback.id) body.replaces = msg.feedback.id;
  let ok = false;
  try {
    const res = await postJSON("/feedback", body);
    const data = await res.json().catch(() => ({}));
    msg.feedback = { id: Number(data.id) || (msg.feedback && msg.feedback.id) || null, rating, reason: reason || "", comment: comment || "" };
    markFeedback(msg, rating, rating === "down" ? "Cảm ơn, góp ý của bạn đã được ghi lại" : "Cảm ơn phản hồi của bạn");
    persistFeedback(msg);
    ok = true;
  } catch (err) {
    flashStatus(msg, err instanceof ApiError && !err.network
      ? `Không gửi được phản hồi: ${err.message}`
      : "Không gửi được phản hồi. Vui lòng thử lại.");
  } finally {
    // a rating can always be changed (👍 → 👎 updates the same record)
    up.disabled = false;
    down.disabled = false;
  }
  return ok;
}

function persistFeedback(msg) {
  if (!state.conv || !msg.turn) return;
  msg.turn.feedback = msg.feedback;
  state.conv.updated = new Date().toISOString();
  saveConversation(state.conv);
}
