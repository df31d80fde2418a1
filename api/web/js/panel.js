// The citation panel: the cited passage with its quote highlighted.

import { ApiError, getJSON } from "./http.js";
import { els, state } from "./state.js";
import {
  NETWORK_ERROR_MSG, citationUrl, el, externalLink, formatDate, isPhone, officialFirst, periodBadge, scrollWithin, sourceLinkLabel,
  statusBadge, str, textFormBadge,
} from "./util.js";

// "Xem toàn văn": opens the document in the sources view; wired by app.js (panel.js never imports sources.js,
// which imports it: no import cycle)
let openDocumentAction = (_docId, _anchor) => {};

export function setOpenDocument(action) {
  openDocumentAction = action;
}

// ---------------------------------------------------------------- source documents

export function loadDoc(docId) {
  if (!state.docCache.has(docId)) {
    const p = getJSON(`/sources/${encodeURIComponent(docId)}`).catch((err) => {
      state.docCache.delete(docId);
      throw err;
    });
    state.docCache.set(docId, p);
  }
  return state.docCache.get(docId);
}

export function findSection(doc, citation) {
  const sections = doc && Array.isArray(doc.sections) ? doc.sections : [];
  const pid = str(citation.passage_id);
  if (pid) {
    const hit = sections.find((s) => s && str(s.passage_id) === pid);
    if (hit) return hit;
  }
  const sec = str(citation.section);
  if (sec) {
    const hit = sections.find((s) => s && str(s.section) === sec);
    if (hit) return hit;
  }
  return null;
}

/**
 * Where the quote sits in the passage text: the server sends its character offsets (it verified the quote
 * is a verbatim part of the passage), so nothing is searched here. Returns [start, end) or null.
 */
export function quoteRange(text, citation) {
  const start = citation.quote_start;
  const end = citation.quote_end;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > text.length) return null;
  return [start, end];
}

export function passageFromEvent(msg, citation) {
  const pid = str(citation.passage_id);
  if (!pid || !Array.isArray(msg.passages)) return null;
  const p = msg.passages.find((x) => x && (str(x.passage_id) === pid || str(x.id) === pid));
  return p && typeof p.text === "string" ? p : null;
}
// ---------------------------------------------------------------- source panel

export function openCitation(msg, n, trigger) {
  const citation = (msg.citations || []).find((c) => Number(c.n) === Number(n));
  if (!msg.citations) {
    // still streaming: citations not known yet
    const status = msg.node.querySelector(".pending-note");
    if (!status) {
      msg.answer.after(el("p", { className: "pending-note", attrs: { role: "status" }, text: "Nguồn sẽ hiển thị khi câu trả lời hoàn tất." }));
    }
    return;
  }
  if (!citation) return;
  openPanel(msg, citation, trigger);
}

export function openPanel(msg, citation, trigger) {
  const token = ++state.panelToken;
  const panel = els.sourcePanel;
  if (panel.hidden) state.panelReturnFocus = trigger || document.activeElement;
  else if (trigger) state.panelReturnFocus = trigger;

  document.querySelectorAll(".cite.active, .source-link.active").forEach((b) => b.classList.remove("active"));
  msg.node
    .querySelectorAll(`.cite[data-n="${Number(citation.n)}"], .source-link[data-n="${Number(citation.n)}"]`)
    .forEach((b) => b.classList.add("active"));

  els.panelTitle.textContent = `Nguồn [${citation.n}]`;
  const body = els.panelBody;
  body.replaceChildren();

  const label = str(citation.label);
  const pinned = el("div", { className: "panel-pinned" });
  if (label) pinned.append(el("p", { className: "panel-label", text: label }));
  const docLine = [str(citation.title), str(citation.number)].filter(Boolean);
  if (docLine.length) pinned.append(el("p", { className: "panel-doc", text: [...new Set(docLine)].join(" · ") }));
  const badges = el(
    "p",
    { className: "panel-badges" },
    statusBadge(citation.status, citation.amended_by, citation.status_label),
    textFormBadge(citation.text_form),
    periodBadge(citation),
  );
  pinned.append(badges);
  body.append(pinned);

  const meta = el("dl", { className: "doc-meta" });
  const addMeta = (term, value) => {
    if (!value) return;
    meta.append(el("div", {}, el("dt", { text: term }), el("dd", {}, value)));
  };
  const title = str(citation.title);
  addMeta("Văn bản", title);
  addMeta("Số hiệu", str(citation.number));
  addMeta("Cơ quan ban hành", str(citation.issuer));
  addMeta("Ngày ban hành", formatDate(str(citation.issued)));
  const linkSlot = el("span", { className: "url-slot" });
  const showLinks = (urls) => {
    const ordered = officialFirst(urls);
    if (!ordered.length) return;
    const link = externalLink(ordered[0], sourceLinkLabel(ordered[0]));
    link.append(el("span", { className: "visually-hidden", text: " (mở trong thẻ mới)" }));
    linkSlot.replaceChildren(el("span", { className: "url-wrap" }, link, el("span", { className: "url-text", text: ordered[0] })));
  };
  showLinks([citationUrl(citation)]);
  meta.append(el("div", {}, el("dt", { text: "Nguồn gốc" }), el("dd", {}, linkSlot)));
  body.append(meta);

  const passageBox = el("section", { className: "passage", attrs: { "aria-label": "Đoạn trích dẫn" } });
  passageBox.append(el("h3", { className: "passage-title", text: "Đoạn được trích dẫn" }));
  const passageContent = el("div", { className: "passage-content" }, el("p", { className: "loading", text: "Đang tải đoạn văn bản…" }));
  passageBox.append(passageContent);
  body.append(passageBox);

  panel.hidden = false;
  document.body.classList.add("panel-open");
  els.panelTitle.focus({ preventScroll: true });
  body.scrollTop = 0;

  const docId = str(citation.doc_id);
  const quote = str(citation.quote);

  const render = (section, note) => {
    if (token !== state.panelToken) return;
    passageContent.replaceChildren();
    if (note) passageContent.append(el("p", { className: "panel-note", text: note }));
    let markEl = null;
    if (section) {
      const text = str(section.text);
      const range = quoteRange(text, citation);
      if (!range && quote) {
        markEl = el("mark", { text: quote });
        passageContent.append(
          el("p", { className: "panel-note", text: "Trích dẫn (không tìm thấy nguyên văn trong đoạn bên dưới):" }),
          el("blockquote", { className: "quote-alone" }, markEl),
        );
      }
      const heading = str(section.label) || str(section.section);
      if (heading && heading !== label) passageContent.append(el("p", { className: "section-ref", text: heading }));
      const pre = el("div", { className: "section-text" });
      if (range) {
        markEl = el("mark", { text: text.slice(range[0], range[1]) });
        pre.append(text.slice(0, range[0]), markEl, text.slice(range[1]));
      } else {
        pre.textContent = text;
      }
      passageContent.append(pre);
      if (docId) {
        passageContent.append(
          el("button", {
            type: "button",
            className: "btn-link open-doc",
            text: "Xem toàn văn trong Nguồn tài liệu →",
            on: { click: () => openDocumentAction(docId, str(section.anchor)) },
          }),
        );
      }
    } else if (quote) {
      markEl = el("mark", { text: quote });
      passageContent.append(el("blockquote", { className: "quote-alone" }, markEl));
    } else {
      passageContent.append(el("p", { className: "panel-note", text: "Không có đoạn trích cho nguồn này." }));
    }
    if (markEl) {
      requestAnimationFrame(() => {
        if (token !== state.panelToken) return;
        scrollWithin(body, markEl, "center");
      });
    }
  };

  if (!docId) {
    const p = passageFromEvent(msg, citation);
    render(p ? { text: p.text, label: p.label || citation.label } : null);
    return;
  }
  loadDoc(docId)
    .then((doc) => {
      if (token === state.panelToken && doc && Array.isArray(doc.source_urls)) showLinks([...doc.source_urls, citation.source_url]);
      const section = findSection(doc, citation);
      if (section) render(section);
      else {
        const p = passageFromEvent(msg, citation);
        render(p ? { text: p.text } : null, p ? "" : "Không tìm thấy đoạn này trong văn bản nguồn; dưới đây là phần được trích.");
      }
    })
    .catch((err) => {
      const p = passageFromEvent(msg, citation);
      const why = err instanceof ApiError && err.network ? NETWORK_ERROR_MSG : `Không tải được văn bản nguồn${err && err.message ? `: ${err.message}` : "."}`;
      render(p ? { text: p.text } : null, why);
    });
}

export function closePanel(restoreFocus = true) {
  const panel = els.sourcePanel;
  if (panel.hidden) return;
  state.panelToken++;
  panel.hidden = true;
  document.body.classList.remove("panel-open");
  document.querySelectorAll(".cite.active, .source-link.active").forEach((b) => b.classList.remove("active"));
  const target = state.panelReturnFocus;
  state.panelReturnFocus = null;
  if (restoreFocus) {
    if (target && target.isConnected && !target.closest("[hidden]")) target.focus();
    else els.question.focus();
  }
}

export function trapPanelFocus(e) {
  if (e.key !== "Tab" || els.sourcePanel.hidden || !isPhone()) return;
  const focusables = [...els.sourcePanel.querySelectorAll("button, a[href], [tabindex]:not([tabindex='-1'])")].filter(
    (n) => !n.disabled && n.offsetParent !== null,
  );
  if (!focusables.length) return;
  const first = focusables[0];
  const last = focusables[focusables.length - 1];
  if (e.shiftKey && (document.activeElement === first || document.activeElement === els.panelTitle)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}
