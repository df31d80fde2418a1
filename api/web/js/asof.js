// The date an answer speaks for ("as of"): a chip on the conversation, a dd/mm/yyyy field, kept with each
// conversation and carried by the page's URL (and so by a reload and a shared link).
//
// Why a module of its own: the date is part of what a conversation *means* (an answer for 23/05/2021 is not
// an answer for today), so it is stored on the conversation record, shown as a coloured chip while it
// differs from today, and cleared with one tap. A native <input type="date"> shows the browser's locale
// (05/23/2021 in an en-US browser), so the field is a text field that reads and writes dd/mm/yyyy.

import { els, state } from "./state.js";
import { saveConversation } from "./store.js";
import { el, formatDate, str } from "./util.js";

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// 23/05/2021, 23/5/2021, 23-05-2021, 23.05.2021
const DMY_RE = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/;
const FIELD_HINT = "Nhập ngày dạng dd/mm/yyyy, ví dụ 23/05/2021.";
const MIN_YEAR = 1945;
const MAX_YEAR = 2100;

let ready = false;

export function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function validIso(y, m, d) {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return "";
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > last) return "";
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** "23/05/2021", "23/5/2021" or "2021-05-23" -> "2021-05-23"; "" for an empty field; null when not a date. */
export function parseDay(text) {
  const t = str(text).trim();
  if (!t) return "";
  let m = ISO_RE.exec(t);
  if (m) return validIso(m[1], m[2], m[3]) || null;
  m = DMY_RE.exec(t);
  if (m) return validIso(m[3], m[2], m[1]) || null;
  return null;
}

/** The page URL with ``as_of`` set (or removed for today); other parameters kept except those in ``drop``. */
export function asOfUrl(iso = state.asOf, { drop = [] } = {}) {
  const url = new URL(window.location.href);
  for (const name of drop) url.searchParams.delete(name);
  if (iso) url.searchParams.set("as_of", iso);
  else url.searchParams.delete("as_of");
  return `${url.pathname}${url.search}${url.hash}`;
}

function build() {
  if (ready) return;
  ready = true;
  const label = els.asofLabel;
  // the chip: "Áp dụng tại ngày 23/05/2021 ✕" (the ✕ only while a day other than today is chosen)
  const chip = el("span", { className: "asof-chip", attrs: { id: "asof-chip", role: "status" } });
  label.replaceWith(chip);
  chip.append(label);
  const clear = el("button", {
    type: "button",
    className: "asof-clear",
    text: "✕",
    attrs: { id: "asof-clear", "aria-label": "Bỏ ngày đã chọn, trả lời theo hôm nay", title: "Về hôm nay" },
  });
  clear.addEventListener("click", () => {
    setAsOf("");
    els.question.focus();
  });
  chip.append(" ", clear);
  // the field reads and shows dd/mm/yyyy whatever the browser's locale
  const input = els.asofInput;
  input.type = "text";
  input.inputMode = "numeric";
  input.placeholder = "dd/mm/yyyy";
  input.maxLength = 10;
  input.setAttribute("pattern", "\\d{1,2}/\\d{1,2}/\\d{4}");
  input.setAttribute("aria-describedby", "asof-error");
  const error = el("span", { className: "asof-error", text: "", attrs: { id: "asof-error", role: "alert" } });
  error.hidden = true;
  input.after(error);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault(); // the field sits in the composer form: Enter sets the date, it does not send
      setAsOf(input.value);
    } else if (e.key === "Escape") {
      e.preventDefault();
      hidePicker();
    }
  });
  els.asofReset.remove(); // the chip's ✕ is the one-tap way back to today
}

function hidePicker() {
  els.asofInput.hidden = true;
  els.asofChange.setAttribute("aria-expanded", "false");
}

function showError(message) {
  const error = document.getElementById("asof-error");
  els.asofInput.setAttribute("aria-invalid", message ? "true" : "false");
  if (!error) return;
  error.textContent = message;
  error.hidden = !message;
}

function render() {
  const other = Boolean(state.asOf);
  const chip = document.getElementById("asof-chip");
  els.asofLabel.textContent = `Áp dụng tại ngày ${formatDate(state.asOf || todayIso())}`;
  if (chip) {
    chip.classList.toggle("other-day", other);
    chip.dataset.asOf = state.asOf;
  }
  const clear = document.getElementById("asof-clear");
  if (clear) clear.hidden = !other;
  els.asofInput.value = formatDate(state.asOf || todayIso());
  document.body.dataset.asOf = state.asOf;
}

/**
 * Choose the day answers speak for ("" = today). Accepts dd/mm/yyyy or YYYY-MM-DD; anything else leaves
 * the date as it was and says how to write it. The day is kept on the shown conversation and in the URL.
 */
export function setAsOf(value, { keep = true } = {}) {
  build();
  const iso = parseDay(value);
  if (iso === null) {
    showError(`Ngày «${str(value).trim()}» không hợp lệ. ${FIELD_HINT}`);
    return false;
  }
  showError("");
  state.asOf = iso && iso !== todayIso() ? iso : "";
  render();
  if (keep) keepAsOf(state.conv);
  history.replaceState(history.state, "", asOfUrl());
  if (!els.asofInput.hidden && value !== undefined && str(value).trim()) hidePicker();
  return true;
}

export function showAsOfPicker() {
  build();
  els.asofInput.hidden = false;
  els.asofChange.setAttribute("aria-expanded", "true");
  els.asofInput.focus();
  els.asofInput.select();
}

/** Store the chosen day on a conversation record (a new conversation gets the day it was started with). */
export function keepAsOf(conv) {
  if (!conv || str(conv.as_of) === state.asOf) return;
  conv.as_of = state.asOf;
  if (conv.turns && conv.turns.length) saveConversation(conv);
}

/** A conversation shown again speaks for the day it was kept with; a new one starts at today. */
export function restoreAsOf(conv) {
  const iso = conv ? parseDay(str(conv.as_of)) : "";
  setAsOf(iso || "", { keep: false });
}
