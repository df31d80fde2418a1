// Addresses and the Back button: each kept conversation has its URL (/?c=ID), and what a reader opens on top
// of it (a cited source, the document list, a document) is a history entry, so the phone's Back button
// closes it instead of leaving the app. Pure History API; app.js applies an entry when Back/Forward lands.

const PARAM = "c";

/** The entry the address bar and history.state describe: {c, view, doc, panel}. */
export function currentEntry() {
  const url = new URL(window.location.href);
  const st = history.state && typeof history.state === "object" ? history.state : {};
  return {
    c: url.searchParams.get(PARAM) || "",
    view: st.view === "sources" ? "sources" : "chat",
    doc: typeof st.doc === "string" ? st.doc : "",
    panel: st.panel && typeof st.panel === "object" ? st.panel : null,
  };
}

function urlFor(entry) {
  const url = new URL("/", window.location.href);
  if (entry.c) url.searchParams.set(PARAM, entry.c);
  return url.pathname + url.search;
}

function write(entry, replace) {
  const state = { view: entry.view || "chat", doc: entry.doc || "", panel: entry.panel || null };
  const url = urlFor(entry);
  if (replace) history.replaceState(state, "", url);
  else history.pushState(state, "", url);
}

/** Go to a conversation (or to a new chat with ""): a new history entry unless it is already shown. */
export function showConversation(id, { replace = false } = {}) {
  const now = currentEntry();
  if (now.c === (id || "") && now.view === "chat" && !now.panel && window.location.pathname === "/") return;
  write({ c: id || "" }, replace);
}

/** A source opened from a citation: Back closes it. `where` = {turn, n} locates the citation. */
export function pushPanel(where) {
  const now = currentEntry();
  write({ ...now, panel: where }, Boolean(now.panel));
}

/** The document list or one document: Back returns to where the reader was. */
export function pushSources(doc = "") {
  const now = currentEntry();
  if (now.view === "sources" && now.doc === doc) return;
  write({ c: now.c, view: "sources", doc, panel: null }, false);
}

/** The chat tab chosen again (not via Back): the address says so without a new entry. */
export function replaceChat() {
  const now = currentEntry();
  write({ c: now.c }, true);
}

/** Leave an entry opened on top (a panel, the sources): Back when it was pushed, else just rewrite it. */
export function closeTop() {
  const now = currentEntry();
  if (now.panel || now.view === "sources") history.back();
}

/** Back / Forward: `apply(entry)` brings the page to the entry, without writing history. */
export function onNavigate(apply) {
  window.addEventListener("popstate", () => apply(currentEntry()));
}
