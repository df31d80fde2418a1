// Answer text to DOM: paragraphs and [n] buttons.

import { el } from "./util.js";

// ---------------------------------------------------------------- answer rendering

/** Render answer text into `container`: paragraphs, line breaks and [n] buttons. */
export function renderAnswer(container, text, citations) {
  const known = citations ? new Set(citations.map((c) => Number(c.n))) : null;
  const frag = document.createDocumentFragment();
  const paragraphs = text.replace(/\r\n?/g, "\n").split(/\n{2,}/);
  for (const para of paragraphs) {
    if (!para.trim()) continue;
    const p = el("p");
    if (/^\s*(Lưu ý|Ghi chú|Chú ý)(?=[\s:,.])/i.test(para)) p.className = "note";
    const lines = para.split("\n");
    lines.forEach((line, i) => {
      if (i > 0) p.append(el("br"));
      appendWithMarkers(p, line, known);
    });
    frag.append(p);
  }
  container.replaceChildren(frag);
}

export function appendWithMarkers(parent, line, known) {
  // split with a capture group: even indexes are text, odd ones are numbers
  const parts = line.split(/\[(\d+)\]/g);
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) parent.append(document.createTextNode(part));
      return;
    }
    const n = Number(part);
    if (known && !known.has(n)) {
      parent.append(document.createTextNode(`[${part}]`));
      return;
    }
    // brackets stay in textContent (so the text reads "[n]") but are hidden visually
    parent.append(
      el(
        "button",
        {
          type: "button",
          className: "cite",
          dataset: { n: String(n) },
          attrs: { "aria-label": `Nguồn ${n}` },
        },
        el("span", { className: "cite-br", attrs: { "aria-hidden": "true" }, text: "[" }),
        String(n),
        el("span", { className: "cite-br", attrs: { "aria-hidden": "true" }, text: "]" }),
      ),
    );
  });
}

export function plainAnswer(text) {
  return text.replace(/\r\n?/g, "\n").trim();
}
