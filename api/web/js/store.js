// Conversations kept in this browser (localStorage): survive a reload, listed in "Lịch sử".

const KEY = "kiemnhiem.conversations.v1";
const CURRENT = "kiemnhiem.current.v1";
const ASIDE = "kiemnhiem.quarantine.v1"; // damaged conversations, kept aside (not lost) for whoever looks
const ASIDE_MAX_CHARS = 200_000;
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

// ---------------------------------------------------------------- what a kept conversation must look like
// Anything else in the store (an extension, a hand edit, another version of the page, a bug wrote it) would
// break drawing it, and with it start-up and Send on every load: such entries are set aside instead.
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const absentOr = (v, type) => v === undefined || v === null || typeof v === type;
const listOf = (v, ok) => v === undefined || v === null || (Array.isArray(v) && v.every(ok));
const ANSWER_TEXT = ["answer", "answered_by", "as_of", "lead", "query", "share_token"];

function isCitation(c) {
  return isObject(c) && Number.isInteger(c.n) && c.n > 0 && CITATION_FIELDS.every((k) => k === "n"
    || absentOr(c[k], "string") || (typeof c[k] === "number" && Number.isFinite(c[k])));
}

function isAnswer(r) {
  return isObject(r) && ANSWER_TEXT.every((k) => absentOr(r[k], "string")) && absentOr(r.refused, "boolean")
    && listOf(r.citations, isCitation) && listOf(r.suggestions, (x) => typeof x === "string");
}

function isTurn(t) {
  return isAnswer(t) && typeof t.question === "string" && absentOr(t.as_of_chosen, "string")
    && listOf(t.versions, isAnswer) && (t.version == null || Number.isInteger(t.version))
    && (t.feedback == null || (isObject(t.feedback) && absentOr(t.feedback.rating, "string")));
}

export function isConversation(c) {
  return isObject(c) && typeof c.id === "string" && /^[\w-]{1,64}$/.test(c.id)
    && ["title", "created", "updated", "as_of"].every((k) => absentOr(c[k], "string"))
    && Array.isArray(c.turns) && c.turns.every(isTurn);
}

/** Keep `values` (raw text) under ASIDE, newest last, dropping the oldest beyond ASIDE_MAX_CHARS. */
function keepAside(values) {
  const kept = read(ASIDE, []);
  const all = [...(Array.isArray(kept) ? kept : []), ...values.map((value) => ({ at: new Date().toISOString(), value }))];
  while (all.length > 1 && JSON.stringify(all).length > ASIDE_MAX_CHARS) all.shift();
  if (JSON.stringify(all).length <= ASIDE_MAX_CHARS) write(ASIDE, all);
}

/**
 * On start-up: move every stored conversation the page could not draw out of the list, under ASIDE, and
 * return how many (the page tells the reader). A store that is not a JSON list at all is set aside whole.
 */
export function setAsideDamaged() {
  let raw = null;
  try {
    raw = localStorage.getItem(KEY);
  } catch {
    return 0; // storage off: nothing kept, nothing damaged
  }
  let damaged = [];
  if (raw) {
    let list;
    try {
      list = JSON.parse(raw);
    } catch {
      list = undefined;
    }
    if (Array.isArray(list)) {
      damaged = list.filter((c) => !isConversation(c)).map((c) => JSON.stringify(c) ?? String(c));
      if (damaged.length) write(KEY, list.filter(isConversation));
    } else {
      damaged = [raw];
      write(KEY, []);
    }
  }
  if (typeof read(CURRENT, "") !== "string") setCurrentId("");
  if (damaged.length) keepAside(damaged);
  return damaged.length;
}

export function listConversations() {
  const list = read(KEY, []);
  return Array.isArray(list) ? list.filter(isConversation) : [];
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
  const id = read(CURRENT, "");
  return typeof id === "string" ? id : "";
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
