// Documents from the browser, for administrators (X-Admin-Key): upload, list, replace, delete — in their own
// pane of "Nguồn tài liệu" (the document list stays a list). Without a valid key only the key field is
// shown; the endpoints themselves answer 401 without one.
// Metadata is chosen, not typed: type, status and text form are Vietnamese choices from GET /vocabulary,
// dates are typed dd/mm/yyyy; every error names the file and line or the field, in words.

import { errorFromResponse, getJSON } from "./http.js";
import { loadSourceList } from "./sources.js";
import { els, state } from "./state.js";
import { NETWORK_ERROR_MSG, el, formatDate, parseDate, str } from "./util.js";

const KEY_STORE = "kiemnhiem.adminKey"; // sessionStorage: forgotten when the tab closes
const ACCEPT = ".md,.txt,.pdf,.docx,.html,.htm";
const ID_RE = /^[a-z0-9][a-z0-9-]*$/;
const DATE_FIELDS = [["issued", "Ngày ban hành"], ["effective", "Ngày hiệu lực"]];

let vocabulary = null; // Promise of GET /vocabulary: {kinds, statuses, text_forms: [{value, label}]}

function adminKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return "";
  }
}

function setAdminKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* storage off: the key lives only in this page */
  }
}

async function adminFetch(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { ...(options.headers || {}), "X-Admin-Key": adminKey() } });
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

function loadVocabulary() {
  if (!vocabulary) {
    vocabulary = getJSON("/vocabulary").catch((err) => {
      vocabulary = null;
      throw err;
    });
  }
  return vocabulary;
}

// ---------------------------------------------------------------- the pane

/** "Quản trị tài liệu" under the document list opens the pane; opening a document closes it. */
function ensureOpener() {
  if (document.getElementById("admin-open")) return;
  const opener = el("button", {
    type: "button",
    id: "admin-open",
    className: "btn btn-secondary btn-small admin-open",
    text: "Quản trị tài liệu",
    attrs: { "aria-controls": "upload-box", "aria-expanded": "false" },
    on: { click: () => (document.body.classList.contains("admin-open") ? closeAdmin() : openAdmin()) },
  });
  els.sourceList.after(el("div", { className: "admin-entry" }, opener));
}

export function openAdmin() {
  document.body.classList.remove("doc-open");
  document.body.classList.add("admin-open");
  els.uploadBox.hidden = false;
  const opener = document.getElementById("admin-open");
  if (opener) opener.setAttribute("aria-expanded", "true");
  const heading = document.getElementById("upload-title");
  if (heading) heading.focus({ preventScroll: true });
  els.uploadBox.scrollTop = 0;
}

export function closeAdmin(focusOpener = true) {
  document.body.classList.remove("admin-open");
  els.uploadBox.hidden = true;
  const opener = document.getElementById("admin-open");
  if (opener) {
    opener.setAttribute("aria-expanded", "false");
    if (focusOpener) opener.focus();
  }
}

function paneHeader() {
  return el(
    "header",
    { className: "admin-head" },
    el("button", { type: "button", className: "btn-link back-to-list admin-back", text: "← Danh sách tài liệu", on: { click: () => closeAdmin() } }),
    el("h2", { id: "upload-title", className: "pane-title", attrs: { tabindex: "-1" }, text: "Quản trị tài liệu" }),
  );
}

export async function initUploads() {
  const box = els.uploadBox;
  if (!box) return;
  ensureOpener();
  if (!adminKey()) {
    renderLogin();
    return;
  }
  try {
    const [list, vocab] = await Promise.all([adminFetch("/admin/uploads").then((r) => r.json()), loadVocabulary()]);
    renderForm(Array.isArray(list) ? list : [], vocab || {});
  } catch (err) {
    if (err && err.status === 401) setAdminKey("");
    renderLogin(err && err.status === 401 ? "Khóa quản trị không đúng." : str(err && err.message));
  }
}

function renderLogin(problem = "") {
  const input = el("input", { type: "password", id: "admin-key", autocomplete: "off", attrs: { "aria-describedby": "admin-key-note" } });
  const form = el(
    "form",
    { className: "admin-login upload-form" },
    el("label", { attrs: { for: "admin-key" }, text: "Khóa quản trị" }),
    input,
    el("p", { id: "admin-key-note", className: "pane-note", text: "Chỉ quản trị viên mới thêm hoặc xóa được tài liệu từ trình duyệt." }),
    problem ? el("p", { className: "upload-errors", attrs: { role: "alert" }, text: problem }) : null,
    el("button", { type: "submit", className: "btn btn-primary btn-small", text: "Mở chức năng quản trị" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setAdminKey(input.value.trim());
    initUploads().then(() => {
      const heading = document.getElementById("upload-title");
      if (heading && !els.uploadBox.hidden) heading.focus({ preventScroll: true });
    });
  });
  els.uploadBox.replaceChildren(paneHeader(), form);
}

// ---------------------------------------------------------------- the form

/** A labelled control with its hint and its own error line (aria-describedby both). */
function field(name, label, control, hint = "") {
  const id = `up-${name}`;
  control.id = id;
  control.name = name;
  const described = [hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  return el(
    "div",
    { className: "upload-field", dataset: { field: name } },
    el("label", { attrs: { for: id }, text: label }),
    control,
    hint ? el("p", { id: `${id}-hint`, className: "field-hint", text: hint }) : null,
    el("p", { id: `${id}-error`, className: "field-error", hidden: true }),
  );
}

function choice(options, emptyText) {
  const select = el("select", {}, el("option", { value: "", text: emptyText }));
  for (const o of Array.isArray(options) ? options : []) {
    if (o && o.value) select.append(el("option", { value: str(o.value), text: str(o.label) || str(o.value) }));
  }
  return select;
}

function dateInput() {
  return el("input", { type: "text", attrs: { inputmode: "numeric", placeholder: "dd/mm/yyyy", autocomplete: "off", maxlength: "10" } });
}

function renderForm(uploads, vocab) {
  const status = el("p", { className: "upload-status", attrs: { role: "status", "aria-live": "polite" } });
  const errors = el("div", { className: "upload-errors", attrs: { role: "alert" }, hidden: true });
  const progress = el("progress", { className: "upload-progress", max: 100, value: 0, hidden: true, attrs: { "aria-label": "Tiến độ tải lên" } });
  const fromFile = "Không chọn (theo tệp, nếu có)";
  const advanced = el(
    "details",
    { className: "upload-advanced" },
    el("summary", { text: "Tùy chọn nâng cao" }),
    field("id", "Mã tài liệu", el("input", { type: "text", attrs: { autocomplete: "off", spellcheck: "false" } }),
      "Để trống để tạo từ tên tệp. Chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang, ví dụ luat-bau-cu-2015."),
    el("label", { className: "upload-replace" }, el("input", { type: "checkbox", name: "replace", id: "up-replace", value: "true" }),
      " Thay thế tài liệu đã tải lên có cùng mã"),
  );
  const form = el(
    "form",
    { className: "upload-form", attrs: { "aria-labelledby": "upload-form-title", enctype: "multipart/form-data", novalidate: true } },
    field("file", "Tệp tài liệu", el("input", { type: "file", accept: ACCEPT, required: true }), "Nhận tệp .md, .txt, .pdf, .docx, .html."),
    field("title", "Tiêu đề", el("input", { type: "text" }), "Để trống: lấy từ dòng tiêu đề trong tệp."),
    field("short_title", "Tên ngắn khi trích dẫn", el("input", { type: "text" })),
    field("number", "Số hiệu", el("input", { type: "text" }), "Ví dụ: 85/2015/QH13."),
    field("kind", "Loại văn bản", choice(vocab.kinds, fromFile)),
    field("issuer", "Cơ quan ban hành", el("input", { type: "text" })),
    field("issued", "Ngày ban hành", dateInput(), "Ngày/tháng/năm, ví dụ 25/06/2015."),
    field("effective", "Ngày hiệu lực", dateInput(), "Ngày/tháng/năm, ví dụ 01/09/2015."),
    field("status", "Tình trạng hiệu lực", choice(vocab.statuses, fromFile)),
    field("text_form", "Dạng văn bản", choice(vocab.text_forms, fromFile),
      "Nguyên văn: đúng lời văn bản chính thức. Tóm lược: diễn đạt lại, không phải văn bản chính thức."),
    field("source_urls", "Địa chỉ nguồn", el("textarea", { rows: 2 }), "Mỗi dòng một địa chỉ; đặt trang văn bản chính thức lên đầu."),
    advanced,
    el("button", { type: "submit", className: "btn btn-primary btn-small upload-send", text: "Tải lên và nạp" }),
    progress,
    status,
    errors,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitUpload(form, { status, errors, progress });
  });
  form.addEventListener("input", (e) => {
    const wrap = e.target instanceof Element ? e.target.closest(".upload-field") : null;
    if (wrap) setFieldError(form, wrap.dataset.field, "");
  });

  const list = el("ul", { className: "upload-list", attrs: { "aria-labelledby": "uploaded-title" } },
    uploads.map((u) => uploadItem(u, form, status)));
  els.uploadBox.replaceChildren(
    paneHeader(),
    el("section", { className: "admin-section", attrs: { "aria-labelledby": "upload-form-title" } },
      el("h3", { id: "upload-form-title", className: "admin-section-title", text: "Thêm tài liệu" }), form),
    el("section", { className: "admin-section", attrs: { "aria-labelledby": "uploaded-title" } },
      el("h3", { id: "uploaded-title", className: "admin-section-title", text: `Tài liệu đã tải lên (${uploads.length})` }),
      uploads.length ? list : el("p", { className: "pane-note", text: "Chưa có tài liệu nào được tải lên." })),
    el("button", { type: "button", className: "btn-link admin-logout", text: "Thoát quản trị", on: { click: () => { setAdminKey(""); initUploads(); } } }),
  );
}

function uploadItem(u, form, status) {
  const id = str(u.id);
  const when = formatDate(str(u.uploaded_at));
  const name = el("span", { className: "upload-name" },
    el("span", { className: "upload-file", text: str(u.filename) || id }),
    el("span", { className: "upload-meta", text: [`mã ${id}`, when ? `tải lên ${when}` : ""].filter(Boolean).join(" · ") }));
  const actions = el("span", { className: "upload-actions" });
  const item = el("li", { dataset: { id } }, name, actions);
  const showButtons = () => {
    actions.replaceChildren(
      el("button", {
        type: "button",
        className: "btn-ghost upload-replace-btn",
        text: "Thay thế",
        attrs: { "aria-label": `Thay thế ${str(u.filename) || id}` },
        on: {
          click: () => {
            form.elements.id.value = id;
            form.elements.replace.checked = true;
            form.querySelector(".upload-advanced").open = true;
            form.elements.file.focus();
          },
        },
      }),
      el("button", {
        type: "button",
        className: "btn-ghost upload-delete",
        text: "Xóa",
        attrs: { "aria-label": `Xóa ${str(u.filename) || id}` },
        on: { click: () => confirmDelete() },
      }),
    );
  };
  // "Xóa" asks first: the document leaves the index at once and the assistant stops citing it
  const confirmDelete = () => {
    const cancel = el("button", { type: "button", className: "btn btn-secondary btn-small upload-delete-cancel", text: "Hủy", on: { click: () => { showButtons(); actions.querySelector(".upload-delete").focus(); } } });
    actions.replaceChildren(
      el("span", { className: "upload-confirm", attrs: { role: "alert" } },
        el("span", { text: `Xóa “${str(u.filename) || id}” khỏi nguồn tài liệu? Trợ lý sẽ không trích dẫn tài liệu này nữa.` }),
        el("button", { type: "button", className: "btn btn-danger btn-small upload-delete-confirm", text: "Xóa hẳn", on: { click: () => deleteUpload(id, str(u.filename) || id, status) } }),
        cancel),
    );
    cancel.focus();
  };
  showButtons();
  return item;
}

function setFieldError(form, name, message) {
  const control = form.querySelector(`#up-${name}`);
  const line = form.querySelector(`#up-${name}-error`);
  if (!control || !line) return;
  line.textContent = message;
  line.hidden = !message;
  if (message) control.setAttribute("aria-invalid", "true");
  else control.removeAttribute("aria-invalid");
}

function showErrors(errors, lines) {
  errors.replaceChildren(
    el("p", { className: "upload-errors-title", text: "Chưa tải lên được:" }),
    el("ul", {}, lines.map((t) => el("li", { text: t }))),
  );
  errors.hidden = false;
}

/** The form's values as the server takes them (ISO dates), or the problems to fix first. */
function collect(form) {
  const data = new FormData();
  const problems = [];
  for (const [name, value] of new FormData(form).entries()) {
    if (value instanceof File ? value.size : str(value).trim()) data.append(name, value instanceof File ? value : str(value).trim());
  }
  const file = form.elements.file.files[0];
  if (!file) problems.push(["file", "Chọn một tệp để tải lên."]);
  for (const [name, label] of DATE_FIELDS) {
    const raw = str(form.elements[name].value).trim();
    const iso = parseDate(raw);
    if (iso === null) problems.push([name, `${label} “${raw}” không đúng: nhập ngày/tháng/năm có thật, ví dụ 25/06/2015.`]);
    else if (iso) data.set(name, iso);
  }
  const id = str(form.elements.id.value).trim();
  if (id && !ID_RE.test(id)) {
    problems.push(["id", "Mã tài liệu chỉ gồm chữ thường không dấu (a–z), chữ số và dấu gạch ngang, ví dụ luat-bau-cu-2015."]);
  }
  return { data, problems };
}

function submitUpload(form, { status, errors, progress }) {
  form.querySelectorAll(".upload-field").forEach((f) => setFieldError(form, f.dataset.field, ""));
  errors.hidden = true;
  const { data, problems } = collect(form);
  if (problems.length) {
    for (const [name, message] of problems) setFieldError(form, name, message);
    if (problems.some(([name]) => name === "id")) form.querySelector(".upload-advanced").open = true;
    showErrors(errors, problems.map(([, m]) => m));
    form.querySelector(`#up-${problems[0][0]}`).focus();
    return;
  }
  progress.hidden = false;
  progress.value = 0;
  status.textContent = "Đang tải lên…";
  form.querySelector(".upload-send").disabled = true;
  // XMLHttpRequest, not fetch: it reports upload progress
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/admin/uploads");
  xhr.setRequestHeader("X-Admin-Key", adminKey());
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 90);
  });
  xhr.upload.addEventListener("load", () => { status.textContent = "Đang kiểm tra và nạp vào chỉ mục…"; });
  xhr.addEventListener("load", () => {
    progress.value = 100;
    form.querySelector(".upload-send").disabled = false;
    let body = {};
    try {
      body = JSON.parse(xhr.responseText || "{}");
    } catch {
      body = {};
    }
    if (xhr.status === 201) {
      afterChange(`Đã thêm “${str(body.title) || str(body.id)}” vào nguồn tài liệu.`);
      return;
    }
    progress.hidden = true;
    status.textContent = "";
    const err = (body && body.error) || {};
    const details = Array.isArray(err.details) ? err.details.filter((d) => d && typeof d === "object") : [];
    for (const d of details) if (d.field) setFieldError(form, str(d.field), str(d.message));
    const lines = details.map((d) => str(d.message)).filter(Boolean);
    showErrors(errors, lines.length ? lines : [str(err.message) || `Máy chủ trả về lỗi (mã ${xhr.status}). Vui lòng thử lại.`]);
    if (xhr.status === 401) {
      setAdminKey("");
      initUploads();
    }
  });
  xhr.addEventListener("error", () => {
    form.querySelector(".upload-send").disabled = false;
    progress.hidden = true;
    status.textContent = "";
    showErrors(errors, [NETWORK_ERROR_MSG]);
  });
  xhr.send(data);
}

async function afterChange(message) {
  state.docCache.clear();
  await loadSourceList(true);
  await initUploads();
  const status = els.uploadBox.querySelector(".upload-status");
  if (status) status.textContent = message;
}

async function deleteUpload(id, name, status) {
  status.textContent = `Đang xóa “${name}”…`;
  try {
    await adminFetch(`/admin/uploads/${encodeURIComponent(id)}`, { method: "DELETE" });
    await afterChange(`Đã xóa “${name}” khỏi nguồn tài liệu.`);
  } catch (err) {
    status.textContent = `Không xóa được: ${str(err && err.message)}`;
  }
}
