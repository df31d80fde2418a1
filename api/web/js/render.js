// Answer text to DOM: paragraphs and [n] buttons.

import { el } from "./util.js";

// ---------------------------------------------------------------- answer rendering

// the opening line when the first line is not itself the answer (AskResponse.lead)
export const LEAD_TEXT = {
  context: "Các nguồn liên quan đến câu hỏi của bạn nêu:",
  groups: "Các nguồn nêu các mức khác nhau cho từng đối tượng; mỗi dòng dưới đây ghi mức cho đối tượng mà nguồn nêu:",
};

/**
 * Render answer text into `container`. The server's contract: the first paragraph holds the answer's lines
 * (each with its [n] markers), paragraphs after a blank line are notes ("Lưu ý: …"). `lead` says how the
 * first line stands to the question: only "answer" makes it the bold verdict; "context" and "groups" open
 * with a neutral line and list every line; "" (a refusal, or while streaming) shows the lines plainly.
 */
export function renderAnswer(container, text, citations, lead = "") {
  const known = citations ? new Set(citations.map((c) => Number(c.n))) : null;
  const frag = document.createDocumentFragment();
  const paragraphs = text.replace(/\r\n?/g, "\n").split(/\n{2,}/).filter((para) => para.trim());
  paragraphs.forEach((para, index) => {
    const lines = para.split("\n").filter((line) => line.trim());
    const isNote = /^\s*(Lưu ý|Ghi chú|Chú ý)(?=[\s:,.])/i.test(para);
    if (index === 0 && !isNote && (lead === "answer" || LEAD_TEXT[lead])) {
      let rest = lines;
      if (lead === "answer") {
        const verdict = el("p", { className: "verdict" });
        appendWithMarkers(verdict, lines[0], known);
        frag.append(verdict);
        rest = lines.slice(1);
      } else {
        frag.append(el("p", { className: "lead-neutral", text: LEAD_TEXT[lead] }));
      }
      if (rest.length) {
        const list = el("ul", { className: "support" });
        for (const line of rest) {
          const li = el("li");
          appendWithMarkers(li, line.replace(/^\s*[-•*]\s+/, ""), known);
          list.append(li);
        }
        frag.append(list);
      }
      return;
    }
    const p = el("p", { className: isNote ? "note" : "" });
    lines.forEach((line, i) => {
      if (i > 0) p.append(el("br"));
      appendWithMarkers(p, line, known);
    });
    frag.append(p);
  });
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
