// Edit mode: "Sửa" puts the last question back in the composer and sending replaces that exchange. While
// it lasts the composer says so (with "Hủy sửa", or Escape) and the question being edited is marked.

import { els, state } from "./state.js";
import { el } from "./util.js";

let bar = null;

function ensureBar() {
  if (bar) return bar;
  bar = el(
    "div",
    { className: "edit-bar", id: "edit-bar", hidden: true },
    el("span", { className: "edit-bar-text", text: "Đang sửa câu hỏi — gửi sẽ thay câu hỏi và câu trả lời cũ." }),
    el("button", { type: "button", className: "btn-link edit-cancel", text: "Hủy sửa", on: { click: () => cancelEditing() } }),
  );
  els.composer.prepend(bar);
  els.question.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.editing) {
      e.preventDefault();
      e.stopPropagation();
      cancelEditing();
    }
  });
  return bar;
}

export function startEditing(userNode) {
  state.editing = true;
  ensureBar().hidden = false;
  els.composer.classList.add("editing");
  els.messages.querySelectorAll(".msg.user.editing").forEach((n) => n.classList.remove("editing"));
  if (userNode) userNode.classList.add("editing");
  els.question.setAttribute("aria-describedby", "edit-bar composer-hint");
}

export function stopEditing() {
  state.editing = false;
  if (bar) bar.hidden = true;
  els.composer.classList.remove("editing");
  els.messages.querySelectorAll(".msg.user.editing").forEach((n) => n.classList.remove("editing"));
  els.question.setAttribute("aria-describedby", "composer-hint");
}

/** "Hủy sửa": the exchange stays as it was and the composer is emptied. */
export function cancelEditing() {
  stopEditing();
  els.question.value = "";
  els.question.dispatchEvent(new Event("input", { bubbles: true }));
  els.question.focus();
}
