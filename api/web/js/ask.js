// Asking: the streamed request, stop, new chat and the composer.

import { ApiError, apiFetch, errorFromResponse, readSSE } from "./http.js";
import { addAssistantMessage, addUserMessage, completeMessage, scheduleRender, scrollToBottom, showMessageError, updateEmptyState } from "./messages.js";
import { closePanel } from "./panel.js";
import { plainAnswer } from "./render.js";
import { selectTab } from "./sources.js";
import { els, hideBanner, showBanner, state } from "./state.js";
import { GENERIC_ERROR_MSG, HISTORY_CHARS, HISTORY_LIMIT, INTERRUPTED_MSG, NETWORK_ERROR_MSG, STOPPED_MSG, isPhone, str } from "./util.js";

// ---------------------------------------------------------------- asking

export function setBusy(busy) {
  state.busy = busy;
  els.send.disabled = busy;
  els.stop.hidden = !busy;
  els.composer.classList.toggle("busy", busy);
  for (const chip of document.querySelectorAll(".example")) chip.disabled = busy;
}

export function historyPayload() {
  const turns = state.history.slice(-HISTORY_LIMIT).map((t) => ({ role: t.role, content: t.content }));
  // long answers add up: drop the oldest turns until the rest fits the server's limit
  let total = turns.reduce((n, t) => n + t.content.length, 0);
  while (turns.length && total > HISTORY_CHARS) total -= turns.shift().content.length;
  return turns;
}

export async function ask(rawQuestion) {
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
export async function streamAnswer(msg, payload, signal) {
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

export async function askPlain(msg, payload, signal) {
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

export function applyFullAnswer(msg, data) {
  data = data && typeof data === "object" ? data : {};
  msg.text = str(data.answer);
  msg.refused = Boolean(data.refused);
  msg.citations = Array.isArray(data.citations) ? data.citations.filter((c) => c && typeof c === "object") : [];
  msg.passages = Array.isArray(data.passages) ? data.passages : [];
  msg.timings = data.timings_ms && typeof data.timings_ms === "object" ? data.timings_ms : null;
}

export function stopAnswer() {
  if (state.controller) state.controller.abort();
}

export function newChat() {
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

export function autosize() {
  const ta = els.question;
  ta.style.height = "auto";
  const max = Math.round(window.innerHeight * 0.35);
  ta.style.height = `${Math.min(ta.scrollHeight + 2, Math.max(max, 120))}px`;
}
