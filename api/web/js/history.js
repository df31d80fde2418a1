// "Lịch sử": the list of kept conversations (open, rename, delete, clear all) and the undo toast.

import { $, el, placeAboveComposer, str } from "./util.js";
import { els, state } from "./state.js";
import { deleteConversation, listConversations, replaceAll, saveConversation, setCurrentId } from "./store.js";

const TOAST_MS = 8000;

// what the list does to the chat, wired by app.js (history.js never imports ask.js: no import cycle)
const actions = { open: (_id) => false, forget: (_id) => {} };

export function setHistoryActions({ open, forget }) {
  actions.open = open;
  actions.forget = forget;
}

function shortDate(iso) {
  const d = new Date(str(iso));
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleDateString("vi-VN", { day: "2-digit", month: "2-digit", year: "numeric" });
}

export function toggleHistory(open) {
  const panel = els.historyPanel;
  const show = open === undefined ? panel.hidden : open;
  panel.hidden = !show;
  els.historyToggle.setAttribute("aria-expanded", String(show));
  document.body.classList.toggle("history-open", show);
  if (show) {
    renderHistoryList();
    const first = $(".conv-open", panel) || els.historyClose;
    first.focus();
  }
}

export function renderHistoryList() {
  const list = listConversations();
  els.convList.replaceChildren(
    ...list.map((c) => {
      const current = state.conv && state.conv.id === c.id;
      const title = str(c.title) || "Cuộc trò chuyện";
      return el(
        "li",
        { className: "conv-item", dataset: { id: c.id } },
        el(
          "button",
          {
            type: "button",
            className: "conv-open",
            attrs: { "aria-current": current ? "true" : null },
            on: { click: () => { if (actions.open(c.id)) toggleHistory(false); } },
          },
          el("span", { className: "conv-title", text: title }),
          el("span", { className: "conv-date", text: `${shortDate(c.updated || c.created)} · ${c.turns.length} câu hỏi` }),
        ),
        el("button", {
          type: "button",
          className: "btn-ghost conv-rename",
          text: "Đổi tên",
          attrs: { "aria-label": `Đổi tên: ${title}` },
          on: { click: (e) => startRename(e.currentTarget.closest(".conv-item"), c) },
        }),
        el("button", {
          type: "button",
          className: "btn-ghost conv-delete",
          text: "Xóa",
          attrs: { "aria-label": `Xóa: ${title}` },
          on: { click: () => removeOne(c) },
        }),
      );
    }),
  );
  if (!list.length) els.convList.append(el("li", { className: "conv-empty", text: "Chưa có cuộc trò chuyện nào được lưu." }));
  els.clearHistory.disabled = !list.length;
}

function startRename(item, conv) {
  const input = el("input", {
    type: "text",
    className: "conv-rename-input",
    value: str(conv.title),
    maxLength: 120,
    attrs: { "aria-label": "Tên mới của cuộc trò chuyện" },
  });
  const finish = (save) => {
    if (save && input.value.trim()) {
      const fresh = listConversations().find((c) => c.id === conv.id);
      if (fresh) {
        fresh.title = input.value.trim();
        saveConversation(fresh);
        if (state.conv && state.conv.id === conv.id) state.conv.title = fresh.title;
      }
    }
    renderHistoryList();
    const again = els.convList.querySelector(`.conv-item[data-id="${CSS.escape(conv.id)}"] .conv-open`);
    if (again) again.focus();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      finish(true);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      finish(false);
    }
  });
  input.addEventListener("blur", () => { if (input.isConnected) finish(true); });
  $(".conv-open", item).replaceWith(input);
  input.focus();
  input.select();
}

function removeOne(conv) {
  const before = listConversations();
  deleteConversation(conv.id);
  actions.forget(conv.id);
  renderHistoryList();
  els.historyClose.focus();
  showToast(`Đã xóa “${str(conv.title).slice(0, 40)}”.`, () => {
    replaceAll(before);
    renderHistoryList();
  });
}

export function clearAllHistory() {
  const before = listConversations();
  if (!before.length) return;
  replaceAll([]);
  setCurrentId("");
  if (state.conv) actions.forget(state.conv.id);
  renderHistoryList();
  els.historyClose.focus();
  showToast("Đã xóa toàn bộ lịch sử trò chuyện.", () => {
    replaceAll(before);
    renderHistoryList();
  });
}

/** A short message with an optional "Hoàn tác" (undo) button. */
export function showToast(text, undo) {
  const toast = els.toast;
  clearTimeout(toast._timer);
  const undoBtn = undo
    ? el("button", {
      type: "button",
      className: "btn btn-small toast-undo",
      text: "Hoàn tác",
      on: {
        click: () => {
          toast.hidden = true;
          undo();
        },
      },
    })
    : null;
  toast.replaceChildren(el("span", { className: "toast-text", text }), undoBtn || "");
  toast.hidden = false;
  placeAboveComposer(toast);
  toast._timer = setTimeout(() => { toast.hidden = true; }, TOAST_MS);
}
