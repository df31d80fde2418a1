// Shared page state, cached elements and the connection banner.

import { ApiError, getJSON } from "./http.js";
import { $, NETWORK_ERROR_MSG, str } from "./util.js";

// ---------------------------------------------------------------- state

export const state = {
  conv: null, // the kept conversation shown now (store.js): {id, title, created, updated, turns}
  asOf: "", // "YYYY-MM-DD" chosen by the user; "" = today
  editing: false, // the composer holds the last question, being edited for a resend
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

export const els = {};

export function cacheElements() {
  for (const id of [
    "question", "send", "stop", "messages", "composer", "empty-state", "chat-scroll",
    "new-chat", "tab-chat", "tab-sources", "view-chat", "view-sources", "source-list",
    "source-list-status", "source-doc", "source-panel", "panel-body", "panel-title",
    "panel-close", "status-banner", "history-toggle", "history-panel", "conv-list", "clear-history",
    "history-close", "toast", "asof-label", "asof-change", "asof-input", "asof-reset", "char-count",
    "upload-box",
  ]) {
    els[id.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = document.getElementById(id);
  }
}
// ---------------------------------------------------------------- status banner

export function showBanner(message) {
  const banner = els.statusBanner;
  $(".status-banner-text", banner).textContent = message;
  banner.hidden = false;
}

export function hideBanner() {
  els.statusBanner.hidden = true;
}

export async function checkHealth() {
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
