// Trợ lý Kiêm nhiệm — web chat front end.
// Plain ES module, no dependencies. Every piece of server data is inserted with
// textContent / createElement (never innerHTML), so source text such as
// "<script>…" or "<img onerror=…>" is shown as text.

// Entry point: the modules live in ./js/ (native ES modules, no build step).

import {
  ask, autosize, editLastQuestion, newChat, reopenCurrent, retry, setAsOf, showAsOfPicker, stopAnswer, updateComposer,
} from "./js/ask.js";
import { asOfUrl } from "./js/asof.js";
import { clearAllHistory, renderHistoryList, toggleHistory } from "./js/history.js";
import { onCopy, onFeedback, onShare, printOne, updateEmptyState, watchScroll } from "./js/messages.js";
import { closePanel, openCitation, trapPanelFocus } from "./js/panel.js";
import { onTabKeydown, selectTab } from "./js/sources.js";
import { cacheElements, checkHealth, els, showBanner, state } from "./js/state.js";
import { initUploads } from "./js/uploads.js";
import { $, NETWORK_ERROR_MSG, isPhone } from "./js/util.js";

// ---------------------------------------------------------------- wiring

function findMsg(node) {
  const article = node.closest(".msg.assistant");
  return article ? article._msg : null;
}

function onMessagesClick(e) {
  const target = e.target instanceof Element ? e.target : null;
  if (!target) return;
  const edit = target.closest(".edit-question");
  if (edit) return void editLastQuestion(edit.closest(".msg.user"));
  const msg = findMsg(target);
  if (!msg) return;
  const cite = target.closest(".cite, .source-link");
  if (cite) {
    openCitation(msg, Number(cite.dataset.n), cite);
    return;
  }
  if (target.closest(".retry")) return void retry(msg.question);
  const copy = target.closest(".copy");
  if (copy) return void onCopy(msg, copy);
  if (target.closest(".feedback-up")) return void onFeedback(msg, "up");
  if (target.closest(".feedback-down")) return void onFeedback(msg, "down");
  if (target.closest(".share")) return void onShare(msg);
  if (target.closest(".print-one")) return void printOne(msg);
  if (target.closest(".asof-edit")) return void showAsOfPicker();
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
  els.question.addEventListener("input", () => updateComposer());
  els.stop.addEventListener("click", stopAnswer);
  els.newChat.addEventListener("click", newChat);

  document.querySelectorAll(".example").forEach((chip) => {
    chip.addEventListener("click", () => ask(chip.textContent));
  });

  els.messages.addEventListener("click", onMessagesClick);

  els.historyToggle.addEventListener("click", () => toggleHistory());
  els.historyClose.addEventListener("click", () => {
    toggleHistory(false);
    els.historyToggle.focus();
  });
  els.clearHistory.addEventListener("click", clearAllHistory);
  els.asofChange.addEventListener("click", showAsOfPicker);
  els.asofInput.addEventListener("change", () => setAsOf(els.asofInput.value));
  els.asofReset.addEventListener("click", () => setAsOf(""));

  els.panelClose.addEventListener("click", () => closePanel(true));
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (!els.sourcePanel.hidden) {
      e.preventDefault();
      closePanel(true);
    } else if (!els.historyPanel.hidden) {
      e.preventDefault();
      toggleHistory(false);
      els.historyToggle.focus();
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

/** A share link (/?q=…&as_of=…) reopens its question: the date is set and the question asked. */
function openSharedQuestion() {
  const params = new URLSearchParams(window.location.search);
  const q = params.get("q");
  if (params.has("as_of")) setAsOf(params.get("as_of"));
  if (!q) return false;
  history.replaceState(null, "", asOfUrl(undefined, { drop: ["q"] })); // the date stays in the URL
  ask(q.slice(0, 4000));
  return true;
}

function init() {
  cacheElements();
  bind();
  watchScroll();
  setAsOf(new URLSearchParams(window.location.search).get("as_of") || "", { keep: false });
  const shared = new URLSearchParams(window.location.search).has("q");
  if (!shared) reopenCurrent();
  updateEmptyState();
  selectTab("chat");
  renderHistoryList();
  updateComposer();
  document.querySelector(".print-date").textContent = `In ngày ${new Date().toLocaleDateString("vi-VN")}`;
  if (!isPhone()) els.question.focus({ preventScroll: true });
  checkHealth().then(() => {
    initUploads();
    if (!state.busy) openSharedQuestion();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
