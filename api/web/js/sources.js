// Tabs and the source browser (list and full documents).

import { ApiError, getJSON } from "./http.js";
import { closePanel, loadDoc } from "./panel.js";
import { els, showBanner, state } from "./state.js";
import {
  $, NETWORK_ERROR_MSG, el, externalLink, fold, formatDate, isOfficialText, officialFirst, scrollWithin, statusBadge, str,
  textFormBadge,
} from "./util.js";

// ---------------------------------------------------------------- tabs

export function selectTab(name, focus = false) {
  const isChat = name === "chat";
  els.tabChat.setAttribute("aria-selected", String(isChat));
  els.tabSources.setAttribute("aria-selected", String(!isChat));
  els.tabChat.tabIndex = isChat ? 0 : -1;
  els.tabSources.tabIndex = isChat ? -1 : 0;
  els.viewChat.hidden = !isChat;
  els.viewSources.hidden = isChat;
  document.body.dataset.view = isChat ? "chat" : "sources";
  if (focus) (isChat ? els.tabChat : els.tabSources).focus();
  if (!isChat) {
    closePanel(false);
    loadSourceList();
  }
}

export function onTabKeydown(e) {
  if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) return;
  e.preventDefault();
  const toSources = e.key === "End" || ((e.key === "ArrowRight" || e.key === "ArrowLeft") && e.currentTarget === els.tabChat);
  selectTab(toSources ? "sources" : "chat", true);
}
// ---------------------------------------------------------------- source browser

let sourceCount = 0; // documents in the list, matching or not

export async function loadSourceList(force = false) {
  if (state.sourcesLoaded && !force) return;
  state.sourcesLoaded = true;
  const status = els.sourceListStatus;
  status.replaceChildren(el("span", { className: "loading", text: "Đang tải danh sách tài liệu…" }));
  try {
    const docs = await getJSON("/sources");
    const list = Array.isArray(docs) ? docs.filter((d) => d && typeof d === "object") : [];
    sourceCount = list.length;
    ensureSearch();
    els.sourceList.replaceChildren(
      ...list.map((d) => {
        const id = str(d.id);
        const metaBits = [str(d.kind_label), str(d.number), formatDate(str(d.issued)), d.uploaded ? "tải lên từ trình duyệt" : ""].filter(Boolean);
        const haystack = [d.title, d.short_title, d.number, d.kind_label, d.issuer, d.status_label, id, formatDate(str(d.issued))];
        return el(
          "li",
          { dataset: { search: fold(haystack.map(str).join(" ")) } },
          el(
            "button",
            {
              type: "button",
              className: "doc-item",
              dataset: { id },
              attrs: { "aria-current": id === state.currentDocId ? "true" : null },
              on: { click: () => openDocument(id) },
            },
            el("span", { className: "doc-item-title", text: str(d.title) || id }),
            el(
              "span",
              { className: "doc-item-meta" },
              statusBadge(d.status, null, d.status_label),
              metaBits.length ? el("span", { className: "doc-item-sub", text: metaBits.join(" · ") }) : null,
              typeof d.passages === "number" ? el("span", { className: "doc-item-sub", text: `${d.passages} đoạn` }) : null,
            ),
          ),
        );
      }),
    );
    filterSources();
  } catch (err) {
    state.sourcesLoaded = false;
    status.replaceChildren(
      el("span", { className: "error-text", text: (err && err.message) || "Không tải được danh sách tài liệu." }),
      " ",
      el("button", { type: "button", className: "btn btn-small", text: "Thử lại", on: { click: () => loadSourceList(true) } }),
    );
    if (err instanceof ApiError && err.network) showBanner(NETWORK_ERROR_MSG);
  }
}

/** The search box above the document list (created once, with the list). */
function ensureSearch() {
  if (document.getElementById("source-search")) return;
  const input = el("input", {
    type: "search",
    id: "source-search",
    className: "source-search",
    placeholder: "Tìm theo tên, số hiệu, cơ quan…",
    attrs: { "aria-controls": "source-list", "aria-describedby": "source-list-status", autocomplete: "off", enterkeyhint: "search", spellcheck: "false" },
    on: { input: () => filterSources() },
  });
  els.sourceListStatus.before(
    el("div", { className: "source-search-wrap", attrs: { role: "search" } },
      el("label", { className: "visually-hidden", attrs: { for: "source-search" }, text: "Tìm tài liệu" }), input),
  );
}

/** Show the documents whose title, number, type, issuer, status or date hold every word typed (with or
 * without diacritics), and say how many match. */
export function filterSources() {
  const input = document.getElementById("source-search");
  const words = fold(input ? input.value : "").split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const li of els.sourceList.children) {
    const hit = words.every((w) => (li.dataset.search || "").includes(w));
    li.hidden = !hit;
    if (hit) shown += 1;
  }
  const total = sourceCount;
  els.sourceListStatus.textContent = !total
    ? "Chưa có tài liệu nào."
    : !words.length
      ? `${total} tài liệu`
      : shown
        ? `${shown}/${total} tài liệu khớp “${input.value.trim()}”`
        : `Không có tài liệu nào khớp “${input.value.trim()}”.`;
}

export function sectionDomId(section, index) {
  const anchor = str(section.anchor).trim();
  if (anchor && !/\s/.test(anchor)) return anchor;
  const pid = str(section.passage_id).trim();
  return pid ? `sec-${pid.replace(/[^\w-]+/g, "-")}` : `sec-${index + 1}`;
}

export async function openDocument(docId, anchor = "") {
  if (document.body.dataset.view !== "sources") selectTab("sources");
  state.currentDocId = docId;
  if (document.body.classList.contains("admin-open")) {
    // the admin pane (uploads.js) gives its place back to the document
    document.body.classList.remove("admin-open");
    els.uploadBox.hidden = true;
    document.getElementById("admin-open")?.setAttribute("aria-expanded", "false");
  }
  document.body.classList.add("doc-open");
  els.sourceList.querySelectorAll(".doc-item").forEach((b) => {
    if (b.dataset.id === docId) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
  const box = els.sourceDoc;
  box.replaceChildren(el("p", { className: "loading", text: "Đang tải tài liệu…" }));
  let doc;
  try {
    doc = await loadDoc(docId);
  } catch (err) {
    if (state.currentDocId !== docId) return;
    box.replaceChildren(
      backButton(),
      el("p", { className: "error-text", attrs: { role: "alert" }, text: (err && err.message) || "Không tải được tài liệu." }),
    );
    return;
  }
  if (state.currentDocId !== docId) return;
  renderDocument(doc || {});
  if (anchor) {
    const target = box.querySelector(`[data-anchor="${CSS.escape(anchor)}"]`);
    if (target) {
      scrollWithin(box, target, "start");
      const h = target.querySelector(".section-heading");
      if (h) h.focus({ preventScroll: true });
      target.classList.add("flash");
      return;
    }
  }
  box.scrollTop = 0;
  const h = $(".doc-title", box);
  if (h) h.focus({ preventScroll: true });
}

export function backButton() {
  return el("button", {
    type: "button",
    className: "btn-link back-to-list",
    text: "← Danh sách tài liệu",
    on: {
      click: () => {
        document.body.classList.remove("doc-open");
        const current = els.sourceList.querySelector(`.doc-item[data-id="${CSS.escape(state.currentDocId)}"]`);
        if (current) current.focus();
      },
    },
  });
}

export function renderDocument(doc) {
  const box = els.sourceDoc;
  const header = el("header", { className: "doc-header" });
  header.append(backButton());
  header.append(el("h2", { className: "doc-title", attrs: { tabindex: "-1" }, text: str(doc.title) || str(doc.id) }));
  const meta = el("dl", { className: "doc-meta" });
  const add = (t, v) => v && meta.append(el("div", {}, el("dt", { text: t }), el("dd", {}, v)));
  add("Loại", str(doc.kind_label) || str(doc.kind));
  add("Số hiệu", str(doc.number));
  add("Cơ quan ban hành", str(doc.issuer));
  add("Ngày ban hành", formatDate(str(doc.issued)));
  add("Ngày hiệu lực", formatDate(str(doc.effective)));
  add("Tình trạng", statusBadge(doc.status, doc.amended_by, doc.status_label));
  add("Dạng văn bản", textFormBadge(doc.text_form));
  const amended = Array.isArray(doc.amended_by) ? doc.amended_by.map(str).filter(Boolean) : [];
  if (amended.length) add("Được sửa đổi bởi", amended.join(", "));
  header.append(meta);
  const urls = officialFirst(Array.isArray(doc.source_urls) ? doc.source_urls : []);
  if (urls.length) {
    const details = el("details", { className: "doc-urls" }, el("summary", { text: `Nguồn gốc (${urls.length})` }));
    details.append(el("ul", {}, urls.map((u) => el("li", {}, externalLink(u),
      isOfficialText(u) ? el("span", { className: "badge official-badge", text: "Văn bản chính thức" }) : null))));
    header.append(details);
  }

  const sections = Array.isArray(doc.sections) ? doc.sections.filter((s) => s && typeof s === "object") : [];
  const content = el("div", { className: "doc-content" });
  let toc = null;
  if (sections.length) {
    const ids = new Set();
    const tocList = el("ol", { className: "toc-list" });
    sections.forEach((s, i) => {
      let id = sectionDomId(s, i);
      while (ids.has(id) || (document.getElementById(id) && !els.sourceDoc.contains(document.getElementById(id)))) id = `${id}-${i + 1}`;
      ids.add(id);
      const heading = str(s.heading) || str(s.section) || `Mục ${i + 1}`;
      const text = str(s.text);
      // section text starts with its heading line: don't show it twice
      const firstBreak = text.indexOf("\n");
      const firstLine = (firstBreak === -1 ? text : text.slice(0, firstBreak)).replace(/^#+\s*/, "").trim();
      const bodyText = firstLine && firstLine === heading.replace(/^#+\s*/, "").trim() ? text.slice(firstBreak === -1 ? text.length : firstBreak + 1) : text;
      const headingEl = el("h3", { className: "section-heading", attrs: { tabindex: "-1" }, text: heading });
      content.append(
        el(
          "section",
          { className: "doc-section", id, dataset: { anchor: str(s.anchor), passageId: str(s.passage_id) }, attrs: { "aria-label": heading } },
          headingEl,
          el("div", { className: "section-text", text: bodyText.replace(/^\n+/, "") }),
        ),
      );
      tocList.append(
        el(
          "li",
          {},
          el("a", {
            href: `#${id}`,
            text: heading,
            on: {
              click: (e) => {
                e.preventDefault();
                const target = document.getElementById(id);
                if (!target) return;
                scrollWithin(els.sourceDoc, target, "start");
                headingEl.focus({ preventScroll: true });
                if (history.replaceState) history.replaceState(null, "", `#${id}`);
              },
            },
          }),
        ),
      );
    });
    toc = el("nav", { className: "toc", attrs: { "aria-label": "Mục lục tài liệu" } }, el("h3", { className: "toc-title", text: "Mục lục" }), tocList);
  } else {
    content.append(el("div", { className: "section-text", text: str(doc.text) || "Tài liệu không có nội dung." }));
  }
  box.replaceChildren(header, toc || "", content);
}
