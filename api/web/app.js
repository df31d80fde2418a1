// Trợ lý Kiêm nhiệm — web chat front end.
// Plain ES module, no dependencies. Every piece of server data is inserted with
// textContent / createElement (never innerHTML), so source text such as
// "<script>…" or "<img onerror=…>" is shown as text.

// Entry point: the modules live in ./js/ (native ES modules, no build step).

import { ask, autosize, newChat, stopAnswer } from "./js/ask.js";
import { onCopy, onFeedback, updateEmptyState, watchScroll } from "./js/messages.js";
import { closePanel, openCitation, trapPanelFocus } from "./js/panel.js";
import { onTabKeydown, selectTab } from "./js/sources.js";
import { cacheElements, checkHealth, els, showBanner } from "./js/state.js";
import { $, NETWORK_ERROR_MSG, isPhone } from "./js/util.js";

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
