// Trợ lý Kiêm nhiệm — web chat front end.
// Plain ES module, no dependencies. Every piece of server data is inserted with
// textContent / createElement (never innerHTML), so source text such as
// "<script>…" or "<img onerror=…>" is shown as text.

// Entry point: the modules live in ./js/ (native ES modules, no build step).

import {
  ask, autosize, editLastQuestion, forgetConversation, newChat, openConversation, regenerate, reopenCurrent, setAsOf,
  showAsOfPicker, showVersion, stopAnswer, updateComposer,
} from "./js/ask.js";
import { asOfUrl } from "./js/asof.js";
import { clearAllHistory, renderHistoryList, setHistoryActions, showToast, toggleHistory } from "./js/history.js";
import { onCopy, onFeedback, onShare, printOne, updateEmptyState, watchScroll } from "./js/messages.js";
import { closeTop, currentEntry, onNavigate, pushPanel, pushSources, replaceChat } from "./js/nav.js";
import { closePanel, openCitation, setOpenDocument, trapPanelFocus } from "./js/panel.js";
import { openSharedAnswer, sharedId } from "./js/share.js";
import { onTabKeydown, openDocument, selectTab } from "./js/sources.js";
import { cacheElements, checkHealth, els, showBanner, state } from "./js/state.js";
import { setAsideDamaged } from "./js/store.js";
import { initUploads } from "./js/uploads.js";
import { $, NETWORK_ERROR_MSG, isPhone } from "./js/util.js";

// ---------------------------------------------------------------- wiring

function findMsg(node) {
  const article = node.closest(".msg.assistant");
  return article ? article._msg : null;
}

/** Which answer on the page (0-based), so Back/Forward can find a citation again. */
function msgIndex(msg) {
  return [...els.messages.querySelectorAll(".msg.assistant")].indexOf(msg.node);
}

function msgAt(index) {
  const node = els.messages.querySelectorAll(".msg.assistant")[index];
  return node ? node._msg : null;
}

/** A question asked from a shared answer's page starts the reader's own new chat (the snapshot is not history). */
function askFresh(question, options) {
  if (document.body.dataset.shared === "true") {
    delete document.body.dataset.shared;
    newChat({ push: false, undo: false });
  }
  ask(question, options);
}

function openCitationHere(msg, n, trigger) {
  openCitation(msg, n, trigger);
  if (!els.sourcePanel.hidden) pushPanel({ msg: msgIndex(msg), n });
}

function closePanelHere(restoreFocus) {
  closePanel(restoreFocus);
  if (currentEntry().panel) closeTop();
}

function onMessagesClick(e) {
  const target = e.target instanceof Element ? e.target : null;
  if (!target) return;
  const edit = target.closest(".edit-question");
  if (edit) return void editLastQuestion(edit.closest(".msg.user"));
  const suggestion = target.closest(".suggestion");
  if (suggestion) return void askFresh(suggestion.textContent);
  const msg = findMsg(target);
  if (!msg) return;
  const cite = target.closest(".cite, .source-link");
  if (cite) {
    openCitationHere(msg, Number(cite.dataset.n), cite);
    return;
  }
  if (target.closest(".ask-alone")) return void askFresh(msg.question, { standalone: true });
  if (target.closest(".version-prev")) return void showVersion(msg, -1);
  if (target.closest(".version-next")) return void showVersion(msg, 1);
  if (target.closest(".retry")) return void (msg.turn ? regenerate(msg) : askFresh(msg.question));
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
    askFresh(els.question.value);
  });
  els.question.addEventListener("keydown", (e) => {
    // Enter sends; Shift+Enter = newline; never during IME composition (Telex/VNI)
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      askFresh(els.question.value);
    }
  });
  els.question.addEventListener("input", () => updateComposer());
  els.stop.addEventListener("click", stopAnswer);
  els.newChat.addEventListener("click", () => {
    delete document.body.dataset.shared;
    newChat();
  });

  document.querySelectorAll(".example").forEach((chip) => {
    chip.addEventListener("click", () => askFresh(chip.textContent));
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

  els.panelClose.addEventListener("click", () => closePanelHere(true));
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (!els.sourcePanel.hidden) {
      e.preventDefault();
      closePanelHere(true);
    } else if (!els.historyPanel.hidden) {
      e.preventDefault();
      toggleHistory(false);
      els.historyToggle.focus();
    }
  });
  els.sourcePanel.addEventListener("keydown", trapPanelFocus);

  els.tabChat.addEventListener("click", () => {
    selectTab("chat");
    if (currentEntry().view === "sources") replaceChat();
  });
  els.tabSources.addEventListener("click", () => {
    selectTab("sources");
    pushSources("");
  });
  setOpenDocument((docId, anchor) => {
    closePanel(false);
    pushSources(docId);
    openDocument(docId, anchor);
  });
  setHistoryActions({ open: openConversation, forget: forgetConversation });
  onNavigate(applyEntry);
  els.tabChat.addEventListener("keydown", onTabKeydown);
  els.tabSources.addEventListener("keydown", onTabKeydown);

  $(".status-banner-retry", els.statusBanner).addEventListener("click", checkHealth);
  window.addEventListener("offline", () => showBanner(NETWORK_ERROR_MSG));
  window.addEventListener("online", checkHealth);
  window.addEventListener("resize", autosize);
}

/**
 * Back / Forward landed on `entry`: bring the page to it without writing history. The conversation the address
 * names, the view (chat or sources, and the document), and the source panel opened from a citation.
 */
function applyEntry(entry) {
  if (state.busy) return;
  if (!sharedId() && entry.c !== ((state.conv && state.conv.id) || "")) {
    if (entry.c) openConversation(entry.c, { push: false, focus: false });
    else newChat({ push: false, undo: false });
  }
  if (entry.view === "sources") {
    if (document.body.dataset.view !== "sources") selectTab("sources");
    if (entry.doc && (entry.doc !== state.currentDocId || !document.body.classList.contains("doc-open"))) {
      openDocument(entry.doc);
    } else if (!entry.doc) {
      document.body.classList.remove("doc-open");
    }
  } else if (document.body.dataset.view !== "chat") {
    selectTab("chat");
  }
  if (!entry.panel && !els.sourcePanel.hidden) closePanel(false);
  if (entry.panel && els.sourcePanel.hidden && entry.view === "chat") {
    const msg = msgAt(Number(entry.panel.msg));
    if (msg) openCitation(msg, Number(entry.panel.n));
  }
}

/** An old share link (/?q=…&as_of=…) asks its question again: links made before answers were snapshots. */
function openSharedQuestion() {
  const params = new URLSearchParams(window.location.search);
  const q = params.get("q");
  if (params.has("as_of")) setAsOf(params.get("as_of"));
  if (!q) return false;
  history.replaceState(null, "", asOfUrl(undefined, { drop: ["q"] })); // the date stays in the URL
  ask(q.slice(0, 4000));
  return true;
}

/** Damaged conversations in this browser's store are set aside before anything draws them, and the reader told. */
function setAsideDamagedConversations() {
  const n = setAsideDamaged();
  if (n) {
    showToast(`${n} cuộc trò chuyện đã lưu trong trình duyệt bị hỏng nên không mở được; đã cất riêng để trang `
      + "hoạt động bình thường. Các cuộc trò chuyện khác vẫn còn.");
  }
}

function init() {
  cacheElements();
  bind();
  watchScroll();
  setAsideDamagedConversations();
  setAsOf(new URLSearchParams(window.location.search).get("as_of") || "", { keep: false });
  const shareId = sharedId();
  const legacy = new URLSearchParams(window.location.search).has("q");
  if (shareId) {
    document.body.dataset.shared = "true";
    openSharedAnswer(shareId);
  } else if (!legacy) {
    reopenCurrent(currentEntry().c || undefined);
  }
  updateEmptyState();
  selectTab("chat");
  renderHistoryList();
  updateComposer();
  document.querySelector(".print-date").textContent = `In ngày ${new Date().toLocaleDateString("vi-VN")}`;
  if (!isPhone()) els.question.focus({ preventScroll: true });
  checkHealth().then(() => {
    initUploads();
    if (!state.busy && !shareId) openSharedQuestion();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
