// Constants and safe DOM helpers: every server string goes in via textContent.


// ---------------------------------------------------------------- constants

export const HISTORY_LIMIT = 10; // messages (user + assistant) sent with a follow-up
export const HISTORY_CHARS = 8000; // the server's max_history_chars: more is a 422 for this and every later question
export const NETWORK_ERROR_MSG = "Không kết nối được máy chủ. Vui lòng kiểm tra kết nối và thử lại.";
export const GENERIC_ERROR_MSG = "Đã có lỗi xảy ra khi tạo câu trả lời. Vui lòng thử lại.";
export const INTERRUPTED_MSG = "Câu trả lời bị gián đoạn. Vui lòng thử lại.";
export const STOPPED_MSG = "Đã dừng trả lời.";

export const STATUS_LABELS = {
  "con-hieu-luc": "Còn hiệu lực",
  "da-sua-doi": "Đã sửa đổi",
  "het-hieu-luc": "Hết hiệu lực",
  "thi-diem": "Thí điểm",
  "tham-khao": "Tham khảo",
};

export const KIND_LABELS = {
  "luat": "Luật",
  "nghi-dinh": "Nghị định",
  "thong-tu": "Thông tư",
  "nghi-quyet": "Nghị quyết",
  "ket-luan": "Kết luận",
  "quy-dinh": "Quy định",
  "chi-thi": "Chỉ thị",
  "huong-dan": "Hướng dẫn",
  "hoi-dap": "Hỏi đáp",
  "tin-tuc": "Tin tức",
  "khac": "Tài liệu",
};

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

export function statusBadge(status, amendedBy) {
  const key = typeof status === "string" ? status : "";
  let label = STATUS_LABELS[key] || (key ? key : "Không rõ");
  // "how current": a law in force as amended says so on its badge
  const amended = Array.isArray(amendedBy) ? amendedBy.map(str).filter(Boolean).join(", ") : str(amendedBy);
  if (amended) label += ` · sửa đổi bởi ${amended}`;
  const cls = STATUS_LABELS[key] ? `status-${key}` : "status-unknown";
  return el("span", { className: `badge ${cls}`, dataset: { status: key }, text: label });
}

export function formatDate(value) {
  if (typeof value !== "string" || !value) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : value;
}

export function formatMs(ms) {
  if (typeof ms !== "number" || !isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toLocaleString("vi-VN", { maximumFractionDigits: 1 })} giây`;
}

export function str(v) {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

export function prefersReducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

export function isPhone() {
  return window.matchMedia && window.matchMedia("(max-width: 640px)").matches;
}
