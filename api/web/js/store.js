// Conversations kept in this browser (localStorage): survive a reload, listed in "Lịch sử".

const KEY = "kiemnhiem.conversations.v1";
const CURRENT = "kiemnhiem.current.v1";
const MAX_CONVERSATIONS = 50;
const MAX_TURNS = 40;
// only what re-drawing an answer and its sources needs (passages are fetched again when a source opens)
const CITATION_FIELDS = ["n", "doc_id", "title", "number", "section", "label", "quote", "source_url", "status",
  "status_label", "kind_label", "passage_id", "issuer", "issued", "amended_by", "text_form", "quote_start",
  "quote_end", "valid_from", "valid_to", "period_label"];

function read(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback; // storage off (private mode) or a damaged value: start empty
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, typeof value === "string" ? value : JSON.stringify(value));
    return true;
  } catch {
    return false; // quota exceeded or storage off: the chat still works, it just is not kept
  }
}

export function listConversations() {
  const list = read(KEY, []);
  return Array.isArray(list) ? list.filter((c) => c && typeof c === "object" && Array.isArray(c.turns)) : [];
}

export function getConversation(id) {
  return listConversations().find((c) => c.id === id) || null;
}

export function saveConversation(conv) {
  const rest = listConversations().filter((c) => c.id !== conv.id);
  conv.turns = conv.turns.slice(-MAX_TURNS);
  write(KEY, [conv, ...rest].slice(0, MAX_CONVERSATIONS));
}

export function deleteConversation(id) {
  write(KEY, listConversations().filter((c) => c.id !== id));
  if (currentId() === id) setCurrentId("");
}

export function replaceAll(list) {
  write(KEY, list);
}

export function currentId() {
  return read(CURRENT, "") || "";
}

export function setCurrentId(id) {
  write(CURRENT, JSON.stringify(id || ""));
}

export function newConversation(question) {
  const now = new Date().toISOString();
  const id = `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  return { id, title: question.slice(0, 80), created: now, updated: now, turns: [] };
}

/** One answer as kept: what re-drawing it, sharing it and re-asking with its history need. */
export function answerRecord(msg) {
  return {
    answer: msg.text,
    refused: msg.refused,
    citations: (msg.citations || []).map((c) => Object.fromEntries(CITATION_FIELDS.filter((k) => k in c).map((k) => [k, c[k]]))),
    answered_by: msg.answeredBy || "",
    as_of: msg.asOf || "",
    lead: msg.lead || "",
    query: msg.query || "",
    suggestions: msg.suggestions || [],
    share_token: msg.shareToken || "",
  };
}

/** The record kept for one answered question; "Hỏi lại" adds versions, the shown one is mirrored on top. */
export function turnRecord(msg) {
  const version = answerRecord(msg);
  return {
    question: msg.question,
    as_of_chosen: msg.asOfChosen || "",
    ...version,
    versions: [version],
    version: 0,
    feedback: msg.feedback || null,
  };
}

/** Show version `index` of a kept turn: its fields become the turn's own (history, copy, share read them). */
export function selectVersion(turn, index) {
  const versions = Array.isArray(turn.versions) && turn.versions.length ? turn.versions : [answerRecord({})];
  turn.version = Math.max(0, Math.min(index, versions.length - 1));
  Object.assign(turn, versions[turn.version]);
  return turn;
}
