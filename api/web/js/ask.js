// Asking: the streamed request, stop, retry, edit-and-resend, the as-of date and the composer.

import { keepAsOf, restoreAsOf } from "./asof.js";
import { startEditing, stopEditing } from "./editing.js";
import { renderHistoryList, showToast } from "./history.js";
import { ApiError, apiFetch, errorFromResponse, readSSE } from "./http.js";
import {
  addAssistantMessage, addUserMessage, completeMessage, scheduleRender, scrollToBottom, showMessageError,
  updateEditButtons, updateEmptyState,
} from "./messages.js";
import { closePanel } from "./panel.js";
import { plainAnswer } from "./render.js";
import { selectTab } from "./sources.js";
import { els, hideBanner, showBanner, state } from "./state.js";
import { currentId, getConversation, newConversation, saveConversation, setCurrentId, turnRecord } from "./store.js";
import {
  COUNTER_FROM, GENERIC_ERROR_MSG, HISTORY_CHARS, HISTORY_LIMIT, INTERRUPTED_MSG, MAX_QUESTION_CHARS,
  NETWORK_ERROR_MSG, STOPPED_MSG, isPhone, str,
} from "./util.js";
import { watchWaiting } from "./waiting.js";

// ---------------------------------------------------------------- asking

export function setBusy(busy) {
  state.busy = busy;
  els.send.disabled = busy;
  els.stop.hidden = !busy;
  els.composer.classList.toggle("busy", busy);
  for (const chip of document.querySelectorAll(".example")) chip.disabled = busy;
  updateEditButtons();
}

/** Follow-up history comes from the kept conversation (so it survives a reload). */
export function historyPayload() {
  const turns = [];
  for (const t of (state.conv && state.conv.turns) || []) {
    turns.push({ role: "user", content: str(t.question) }, { role: "assistant", content: plainAnswer(str(t.answer)) });
  }
  const recent = turns.slice(-HISTORY_LIMIT).filter((t) => t.content);
  // long answers add up: drop the oldest turns until the rest fits the server's limit
  let total = recent.reduce((n, t) => n + t.content.length, 0);
  while (recent.length && total > HISTORY_CHARS) total -= recent.shift().content.length;
  return recent;
}

function restoreQuestion(question) {
  if (!els.question.value.trim()) {
    els.question.value = question;
    updateComposer();
  }
}

export async function ask(rawQuestion) {
  const question = str(rawQuestion).trim();
  if (!question || state.busy) return;
  if (question.length > MAX_QUESTION_CHARS) {
    updateComposer(true);
    els.question.focus();
    return;
  }
  if (state.editing) {
    dropLastExchange();
    stopEditing();
  }

  const history = historyPayload();
  els.question.value = "";
  updateComposer();

  addUserMessage(question);
  const msg = addAssistantMessage(question);
  msg.asOfChosen = state.asOf;
  scrollToBottom(true);

  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  msg.waiting = watchWaiting(msg); // what the waiting line says follows the request, not a clock

  const payload = { question, history };
  if (state.asOf) payload.as_of = state.asOf;
  let outcome = "error";
  try {
    outcome = await streamAnswer(msg, payload, controller.signal);
  } catch (err) {
    if (err && err.name === "AbortError") {
      showMessageError(msg, STOPPED_MSG);
      msg.node.classList.add("stopped");
    } else if (err instanceof ApiError && err.network) {
      showMessageError(msg, NETWORK_ERROR_MSG);
      showBanner(NETWORK_ERROR_MSG);
    } else {
      showMessageError(msg, (err && err.message) || GENERIC_ERROR_MSG);
    }
  } finally {
    msg.waiting.stop();
    if (state.controller === controller) state.controller = null;
    setBusy(false);
  }

  if (outcome === "done") keepTurn(msg);
  // after Stop or an error the question goes back into the composer, ready to resend or edit
  else restoreQuestion(question);
  scrollToBottom();
  if (!isPhone() && document.activeElement === document.body) els.question.focus();
}

function keepTurn(msg) {
  if (!state.conv) {
    state.conv = newConversation(msg.question);
    keepAsOf(state.conv);
    setCurrentId(state.conv.id);
  }
  msg.turn = turnRecord(msg);
  state.conv.turns.push(msg.turn);
  state.conv.updated = new Date().toISOString();
  saveConversation(state.conv);
  renderHistoryList();
}

/** Remove the last question and its answer (view and kept conversation) before resending an edit. */
function dropLastExchange() {
  const users = els.messages.querySelectorAll(".msg.user");
  const last = users[users.length - 1];
  if (!last) return;
  let node = last;
  while (node) {
    const next = node.nextElementSibling;
    node.remove();
    node = next;
  }
  if (state.conv && state.conv.turns.length && state.conv.turns[state.conv.turns.length - 1].question === last._question) {
    state.conv.turns.pop();
    saveConversation(state.conv);
  }
  updateEmptyState();
}

/** "Sửa": the last question goes back into the composer; sending replaces that exchange. */
export function editLastQuestion(userNode) {
  if (state.busy) return;
  startEditing(userNode);
  els.question.value = userNode._question || "";
  updateComposer();
  els.question.focus();
  els.question.setSelectionRange(els.question.value.length, els.question.value.length);
}

export function retry(question) {
  if (state.busy) return;
  ask(question);
}

/** Returns "done" or "error"; throws ApiError / AbortError for transport problems. */
async function streamAnswer(msg, payload, signal) {
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
  msg.waiting.accepted();

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
        case "reset": {
          // the server took back the text sent so far (a streamed model reply replaced as a whole)
          msg.text = "";
          scheduleRender(msg);
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
          msg.answeredBy = str(obj && obj.answered_by);
          msg.asOf = str(obj && obj.as_of);
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

async function askPlain(msg, payload, signal) {
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

function applyFullAnswer(msg, data) {
  data = data && typeof data === "object" ? data : {};
  msg.text = str(data.answer);
  msg.refused = Boolean(data.refused);
  msg.citations = Array.isArray(data.citations) ? data.citations.filter((c) => c && typeof c === "object") : [];
  msg.passages = Array.isArray(data.passages) ? data.passages : [];
  msg.timings = data.timings_ms && typeof data.timings_ms === "object" ? data.timings_ms : null;
  msg.answeredBy = str(data.answered_by);
  msg.asOf = str(data.as_of);
}

export function stopAnswer() {
  if (state.controller) state.controller.abort();
}

// ---------------------------------------------------------------- conversations

function clearView() {
  closePanel(false);
  els.messages.replaceChildren();
  updateEmptyState();
}

/** Draw a kept conversation (no request is made: answers come from the browser's store). */
export function openConversation(id, { focus = true } = {}) {
  const conv = getConversation(id);
  if (!conv || state.busy) return false;
  state.conv = conv;
  restoreAsOf(conv);
  stopEditing();
  setCurrentId(conv.id);
  clearView();
  for (const turn of conv.turns) {
    addUserMessage(str(turn.question));
    const msg = addAssistantMessage(str(turn.question));
    msg.text = str(turn.answer);
    msg.refused = Boolean(turn.refused);
    msg.citations = Array.isArray(turn.citations) ? turn.citations : [];
    msg.answeredBy = str(turn.answered_by);
    msg.asOf = str(turn.as_of);
    msg.asOfChosen = state.asOf; // the conversation's day (restoreAsOf above): its share links carry it
    msg.feedback = turn.feedback || null;
    msg.turn = turn;
    completeMessage(msg, { restoring: true });
  }
  selectTab("chat");
  renderHistoryList();
  scrollToBottom(true);
  if (focus) els.question.focus();
  return true;
}

export function newChat() {
  stopAnswer();
  const previous = state.conv;
  state.conv = null;
  restoreAsOf(null);
  stopEditing();
  setCurrentId("");
  clearView();
  els.question.value = "";
  updateComposer();
  selectTab("chat");
  renderHistoryList();
  els.question.focus();
  if (previous && previous.turns.length) {
    showToast("Đã bắt đầu cuộc trò chuyện mới.", () => openConversation(previous.id));
  }
}

/** Called when a kept conversation is deleted: if it is on screen, the screen empties too. */
export function forgetConversation(id) {
  if (state.conv && state.conv.id === id) {
    state.conv = null;
    clearView();
  }
}

export function reopenCurrent() {
  const id = currentId();
  if (id) openConversation(id, { focus: false });
}

// ---------------------------------------------------------------- as-of date (./asof.js)

export { setAsOf, showAsOfPicker } from "./asof.js";

// ---------------------------------------------------------------- composer

export function autosize() {
  const ta = els.question;
  ta.style.height = "auto";
  const max = Math.round(window.innerHeight * 0.35);
  ta.style.height = `${Math.min(ta.scrollHeight + 2, Math.max(max, 120))}px`;
}

/** Resize, and show the character counter near the limit (and say so when a send was refused). */
export function updateComposer(refused = false) {
  autosize();
  const n = els.question.value.trim().length;
  const counter = els.charCount;
  const over = n > MAX_QUESTION_CHARS;
  counter.hidden = n < COUNTER_FROM;
  counter.classList.toggle("over", over);
  const count = `${n.toLocaleString("vi-VN")}/${MAX_QUESTION_CHARS.toLocaleString("vi-VN")}`;
  counter.textContent = over
    ? `${count} — câu hỏi dài quá ${MAX_QUESTION_CHARS.toLocaleString("vi-VN")} ký tự, hãy rút gọn${refused ? " rồi gửi lại" : ""}.`
    : count;
  els.question.setAttribute("aria-invalid", String(over));
}
