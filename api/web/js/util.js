// Constants and safe DOM helpers: every server string goes in via textContent.


// ---------------------------------------------------------------- constants

export const HISTORY_LIMIT = 10; // messages (user + assistant) sent with a follow-up
export const HISTORY_CHARS = 8000; // the server's max_history_chars: more is a 422 for this and every later question
export const NETWORK_ERROR_MSG = "Không kết nối được máy chủ. Vui lòng kiểm tra kết nối và thử lại.";
export const GENERIC_ERROR_MSG = "Đã có lỗi xảy ra khi tạo câu trả lời. Vui lòng thử lại.";
export const INTERRUPTED_MSG = "Câu trả lời bị gián đoạn. Vui lòng thử lại.";
export const STOPPED_MSG = "Đã dừng trả lời.";

export const MAX_QUESTION_CHARS = 2000; // the server's max_question_chars
export const COUNTER_FROM = 1600; // the character counter shows from here on

// status slugs the stylesheet colours; the label itself always comes from the server (status_label)
const STATUS_CLASSES = new Set(["con-hieu-luc", "da-sua-doi", "het-hieu-luc", "thi-diem", "tham-khao"]);
// official publishers: their links are listed (and opened) before any other copy of a document
const OFFICIAL_HOSTS = ["vbpl.vn", "chinhphu.vn", "quochoi.vn", "thuvienphapluat.vn", "congbao.chinhphu.vn",
  "moj.gov.vn", "dangcongsan.vn", "tulieuvankien.dangcongsan.vn", "gov.vn"];

export const MARKER_RE = /\[(\d+)\]/;
// ---------------------------------------------------------------- DOM helpers

export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * Create an element. `props`: className, text (→ textContent), dataset {…},
 * attrs {…} (setAttribute; "style" and on* are refused), on {event: fn},
 * plus any other safe DOM property (type, disabled, hidden, href, …).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "attrs") {
      for (const [name, v] of Object.entries(value)) {
        if (v === undefined || v === null || v === false) continue;
        const lower = name.toLowerCase();
        if (lower === "style" || lower.startsWith("on")) continue;
        node.setAttribute(name, v === true ? "" : String(v));
      }
    } else if (key === "on") {
      for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    } else if (key.startsWith("on") || key === "innerHTML" || key === "outerHTML") {
      continue; // never
    } else node[key] = value;
  }
  appendAll(node, children);
  return node;
}

export function appendAll(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Accept only absolute http(s) URLs; return the normalised href or "". */
export function safeHttpUrl(raw) {
  if (typeof raw !== "string" || !raw.trim()) return "";
  try {
    const url = new URL(raw.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
  } catch {
    return "";
  }
}

export function externalLink(url, text) {
  const href = safeHttpUrl(url);
  if (!href) return null;
  return el("a", {
    className: "ext-link",
    href,
    target: "_blank",
    rel: "noopener noreferrer",
    text: text || href,
  });
}

export const SVG_NS = "http://www.w3.org/2000/svg";
export const ICONS = {
  copy: "M16 1H4a2 2 0 0 0-2 2v14h2V3h12V1zm3 4H8a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h11a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm0 16H8V7h11v14z",
  check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  up: "M1 21h4V9H1v12zm22-11a2 2 0 0 0-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59A1.98 1.98 0 0 0 7 9v10a2 2 0 0 0 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
  down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2a2 2 0 0 0 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5a2 2 0 0 0-2-2zm4 0v12h4V3h-4z",
};

/** A small inline SVG icon built with createElementNS (static path data only). */
export function icon(name, cls = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", cls);
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export function statusBadge(status, amendedBy, label) {
  const key = typeof status === "string" ? status : "";
  let text = str(label) || key || "Không rõ";
  // "how current": a law in force as amended says so on its badge
  const amended = Array.isArray(amendedBy) ? amendedBy.map(str).filter(Boolean).join(", ") : str(amendedBy);
  if (amended) text += ` · sửa đổi bởi ${amended}`;
  const cls = STATUS_CLASSES.has(key) ? `status-${key}` : "status-unknown";
  return el("span", { className: `badge ${cls}`, dataset: { status: key }, text });
}

/** "Tóm lược" (a note in its own words) vs "Nguyên văn" (the official text), from text_form. */
export function textFormBadge(textForm) {
  const form = str(textForm);
  if (form === "tom-luoc") {
    return el("span", { className: "badge form-badge form-tom-luoc", attrs: { title: "Tài liệu tóm lược, diễn đạt lại — không phải văn bản chính thức" }, text: "Tóm lược" });
  }
  if (form === "nguyen-van") {
    return el("span", { className: "badge form-badge form-nguyen-van", attrs: { title: "Trích nguyên văn văn bản" }, text: "Nguyên văn" });
  }
  return null;
}

/** "Quy định cũ · 2016–2021" from a citation's period fields; null when it has none. */
export function periodBadge(c) {
  const year = (v) => (/^(\d{4})/.exec(str(v)) || [])[1] || "";
  const from = year(c.valid_from);
  const to = year(c.valid_to);
  const span = from && to ? (from === to ? from : `${from}–${to}`) : from ? `từ ${from}` : to ? `đến ${to}` : "";
  const text = [str(c.period_label), span].filter(Boolean).join(" · ");
  return text ? el("span", { className: "badge period-badge", text }) : null;
}

// Links that open the official text of a document itself: a page of one document in a state legal database
// (not a publisher's news, Q&A, introduction or home page). Only these are labelled "văn bản chính thức".
const OFFICIAL_TEXT = [
  [/(^|\.)vbpl\.vn$/, (u) => /toanvan|vbpq|itemid=/i.test(u.pathname + u.search)],
  [/^vanban\.chinhphu\.vn$/, (u) => /docid=\d+/i.test(u.search)],
  [/^(congbao|datafiles)\.chinhphu\.vn$/, (u) => u.pathname.length > 1],
  [/^phapdien\.moj\.gov\.vn$/, (u) => /tracuu|demuc|de-muc/i.test(u.pathname + u.search)],
];
// copies of a document in a code or data repository: listed, never the link a citation is printed with
const MIRROR_HOSTS = ["github.com", "raw.githubusercontent.com", "gitlab.com", "huggingface.co"];

function parsedUrl(url) {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function onHost(host, list) {
  return list.findIndex((h) => host === h || host.endsWith(`.${h}`));
}

/** 0 the official text, 10+ an official publisher's other pages, 50 any other site, 90 a mirror. */
function linkRank(url) {
  const u = parsedUrl(url);
  if (!u) return 99;
  const host = u.hostname.toLowerCase();
  if (isOfficialText(url)) return 0;
  const i = onHost(host, OFFICIAL_HOSTS);
  if (i !== -1) return 10 + i;
  return onHost(host, MIRROR_HOSTS) === -1 ? 50 : 90;
}

/** Whether the link opens the official text itself (see OFFICIAL_TEXT). */
export function isOfficialText(url) {
  const u = parsedUrl(url);
  if (!u) return false;
  const host = u.hostname.toLowerCase().replace(/^www\./, "");
  return OFFICIAL_TEXT.some(([re, isText]) => re.test(host) && isText(u));
}

/** What a link to a source says it opens: the official text, or the site it is on. */
export function sourceLinkLabel(url) {
  if (isOfficialText(url)) return "Mở văn bản chính thức";
  const u = parsedUrl(url);
  return u ? `Mở trang nguồn (${u.hostname.replace(/^www\./, "")})` : "Mở nguồn";
}

/** Safe http(s) URLs, the official text first, then official publishers, other sites, mirrors last. */
export function officialFirst(urls) {
  const safe = (Array.isArray(urls) ? urls : [urls]).map(safeHttpUrl).filter(Boolean);
  return [...new Set(safe)].map((u, i) => [linkRank(u), i, u]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

/** The one link a citation is copied and printed with: the best of its document's links. */
export function citationUrl(c) {
  return officialFirst([...(Array.isArray(c.source_urls) ? c.source_urls : []), c.source_url])[0] || "";
}

export function formatDate(value) {
  if (typeof value !== "string" || !value) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : value;
}

/**
 * A date typed as people in Vietnam write it (dd/mm/yyyy; "/", "-" or "." between; one-digit day or month)
 * to ISO "YYYY-MM-DD". Returns "" for an empty field and null for a date that does not exist (31/02/2024).
 * formatDate is its inverse: the one date format users read and type.
 */
export function parseDate(text) {
  const raw = str(text).trim();
  if (!raw) return "";
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(raw);
  if (!m) return null;
  const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${m[3]}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** A duration for readers, in seconds ("0,8 giây"): never milliseconds. */
export function formatMs(ms) {
  if (typeof ms !== "number" || !isFinite(ms)) return "";
  const seconds = ms / 1000;
  if (seconds < 0.1) return "dưới 0,1 giây";
  return `${seconds.toLocaleString("vi-VN", { minimumFractionDigits: seconds < 10 ? 1 : 0, maximumFractionDigits: seconds < 10 ? 1 : 0 })} giây`;
}

/** Lower case without diacritics (đ → d), after NFC: a search matches with or without accents. */
export function fold(text) {
  return str(text).normalize("NFC").toLowerCase().replace(/đ/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "");
}

/**
 * Keep a fixed, bottom-anchored message (the undo toast) above the composer when the chat is shown, so it
 * never covers the question box on a phone; elsewhere the stylesheet's place applies.
 */
export function placeAboveComposer(node) {
  const composer = document.getElementById("composer");
  const box = composer && composer.offsetParent !== null ? composer.getBoundingClientRect() : null;
  node.style.bottom = box && box.height ? `${Math.max(12, window.innerHeight - box.top + 8)}px` : "";
}

export function str(v) {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

/**
 * Scroll `container` (and only it) so that `target` sits at its top ("start") or middle ("center").
 * Element.scrollIntoView also scrolls every scrollable ancestor, the page included: with a long passage
 * the header and the panel's close button slid out of sight (issue 25, item 4).
 */
export function scrollWithin(container, target, block = "start") {
  if (!container || !target || !container.contains(target)) return;
  const box = container.getBoundingClientRect();
  const r = target.getBoundingClientRect();
  const offset = r.top - box.top + container.scrollTop;
  const top = block === "center" ? offset - (container.clientHeight - r.height) / 2 : offset - 8;
  container.scrollTo({ top: Math.max(0, top), behavior: prefersReducedMotion() ? "auto" : "smooth" });
}

export function prefersReducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

export function isPhone() {
  return window.matchMedia && window.matchMedia("(max-width: 640px)").matches;
}
