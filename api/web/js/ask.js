// Asking: the streamed request, stop, retry, edit-and-resend, the as-of date and the composer.

import { keepAsOf, restoreAsOf } from "./asof.js";
import { startEditing, stopEditing } from "./editing.js";
import { renderHistoryList, showToast } from "./history.js";
import { ApiError, apiFetch, errorFromResponse, readSSE } from "./http.js";
import {
  addAssistantMessage, addUserMessage, completeMessage, createAssistantMessage, fillFromRecord,
  keepStartInView, redrawMessage, scheduleRender, scrollToBottom, showMessageError, updateEditButtons,
  updateEmptyState,
} from "./messages.js";
import { showConversation } from "./nav.js";
import { closePanel } from "./panel.js";
import { plainAnswer } from "./render.js";
import { selectTab } from "./sources.js";
import { els, hideBanner, showBanner, state } from "./state.js";
import {
  answerRecord, currentId, getConversation, newConversation, saveConversation, selectVersion, setCurrentId, turnRecord,
} from "./store.js";
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

/** Follow-up history comes from the kept conversation (so it survives a reload); `before` = the turns that
 * came before the question (all of them for a new question, fewer when an earlier one is asked again). */
export function historyPayload(before = (state.conv && state.conv.turns) || []) {
  const turns = [];
  for (const t of before) {
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

/** Ask a new question; `standalone` sends it without the conversation ("Hỏi riêng câu này"). */
export async function ask(rawQuestion, { standalone = false } = {}) {
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

  const history = standalone ? [] : historyPayload();
  els.question.value = "";
  updateComposer();

  addUserMessage(question);
  const msg = addAssistantMessage(question);
  msg.asOfChosen = state.asOf;
  scrollToBottom(true);

  const payload = { question, history };
  if (state.asOf) payload.as_of = state.asOf;
  const outcome = await request(msg, payload);

  if (outcome === "done") keepTurn(msg);
  // after Stop or an error the question goes back into the composer, ready to resend or edit
  else restoreQuestion(question);
  scrollToBottom();
  if (!isPhone() && document.activeElement === document.body) els.question.focus();
}

/** Run one request into `msg`: "done", or "error" with the error shown in the message. */
async function request(msg, payload) {
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  msg.waiting = watchWaiting(msg); // what the waiting line says follows the request, not a clock
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
  return outcome;
}

/**
 * "Hỏi lại": the same question, with the conversation as it was when it was asked (not the turns after it),
 * answered again in place; the answers are kept as versions ("Phiên bản 2/2").
 */
export async function regenerate(old) {
  if (state.busy) return;
  const turn = old.turn;
  const index = state.conv && turn ? state.conv.turns.indexOf(turn) : -1;
  if (index < 0) {
    ask(old.question);
    return;
  }
  if (!Array.isArray(turn.versions) || !turn.versions.length) turn.versions = [answerRecord(old)];
  const msg = createAssistantMessage(old.question);
  msg.asOfChosen = str(turn.as_of_chosen);
  old.node.replaceWith(msg.node);
  const payload = { question: old.question, history: historyPayload(state.conv.turns.slice(0, index)) };
  if (msg.asOfChosen) payload.as_of = msg.asOfChosen;
  const outcome = await request(msg, payload);
  if (outcome !== "done") {
    msg.node.replaceWith(old.node); // the kept answer stays; say why nothing changed
    const status = old.node.querySelector(".action-status");
    if (status) status.textContent = "Chưa hỏi lại được. Vui lòng thử lại.";
    return;
  }
  turn.versions.push(answerRecord(msg));
  selectVersion(turn, turn.versions.length - 1);
  state.conv.updated = new Date().toISOString();
  saveConversation(state.conv);
  msg.turn = turn;
  keepStartInView(redrawMessage(msg));
}

/** Show another version of a re-asked answer (‹ ›), kept as the one shown. */
export function showVersion(msg, delta) {
  if (!msg.turn || state.busy) return;
  selectVersion(msg.turn, (Number(msg.turn.version) || 0) + delta);
  if (state.conv) saveConversation(state.conv);
  const fresh = redrawMessage(msg);
  const label = fresh.node.querySelector(".version-label");
  if (label) label.setAttribute("tabindex", "-1");
  (fresh.node.querySelector(delta < 0 ? ".version-prev" : ".version-next") || label || fresh.node).focus();
}

function keepTurn(msg) {
  if (!state.conv) {
    state.conv = newConversation(msg.question);
    keepAsOf(state.conv);
    setCurrentId(state.conv.id);
    showConversation(state.conv.id, { replace: window.location.pathname === "/" });
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
          applyAnswerMeta(msg, obj || {});
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
  applyAnswerMeta(msg, data);
}

/** How the answer reads (lead), how the question was understood, what to ask instead, the share token. */
function applyAnswerMeta(msg, data) {
  msg.lead = str(data.lead);
  msg.query = str(data.query);
  msg.suggestions = Array.isArray(data.suggestions) ? data.suggestions.map(str).filter(Boolean).slice(0, 6) : [];
  msg.shareToken = str(data.share_token);
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

/**
 * Draw a kept conversation (no request is made: answers come from the browser's store), landing at the start
 * of its last answer, as when it arrived. `push` gives it a history entry (/?c=ID); Back/Forward pass false.
 */
export function openConversation(id, { focus = true, push = true } = {}) {
  const conv = getConversation(id);
  if (!conv || state.busy) return false;
  state.conv = conv;
  restoreAsOf(conv);
  stopEditing();
  setCurrentId(conv.id);
  clearView();
  let last = null;
  for (const turn of conv.turns) {
    addUserMessage(str(turn.question));
    last = fillFromRecord(addAssistantMessage(str(turn.question)), turn);
    last.turn = turn;
    last.asOfChosen = last.asOfChosen || state.asOf; // the conversation's day (restoreAsOf above)
    completeMessage(last, { restoring: true });
  }
  selectTab("chat");
  renderHistoryList();
  if (push) showConversation(conv.id);
  if (last) keepStartInView(last, { force: true });
  else scrollToBottom(true);
  if (focus) els.question.focus({ preventScroll: true });
  return true;
}

/** An empty chat (the address becomes /): `push` = false when Back/Forward brought the reader here. */
export function newChat({ push = true, undo = true } = {}) {
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
  if (push) showConversation("");
  els.question.focus({ preventScroll: true });
  if (undo && previous && previous.turns.length) {
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

/** On load: the conversation the address names (/?c=ID), else the one this browser had open. */
export function reopenCurrent(id = currentId()) {
  const opened = Boolean(id) && openConversation(id, { focus: false, push: false });
  showConversation(opened ? id : "", { replace: true }); // an unknown id (another browser's chat) is a new chat
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
