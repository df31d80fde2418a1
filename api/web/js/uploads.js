// Documents from the browser, for administrators (X-Admin-Key): upload, list, replace, delete.
// Without a valid key only the key field is shown; the endpoints themselves answer 401 without one.

import { errorFromResponse } from "./http.js";
import { loadSourceList } from "./sources.js";
import { els, state } from "./state.js";
import { el, str } from "./util.js";

const KEY_STORE = "kiemnhiem.adminKey"; // sessionStorage: forgotten when the tab closes
const ACCEPT = ".md,.txt,.pdf,.docx,.html,.htm";

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

export async function initUploads() {
  const box = els.uploadBox;
  if (!box) return;
  box.hidden = false;
  if (!adminKey()) {
    renderLogin();
    return;
  }
  try {
    const list = await (await adminFetch("/admin/uploads")).json();
    renderForm(Array.isArray(list) ? list : []);
  } catch (err) {
    setAdminKey("");
    renderLogin(err && err.status === 401 ? "Khóa quản trị không đúng." : str(err && err.message));
  }
}

function renderLogin(problem = "") {
  const input = el("input", { type: "password", id: "admin-key", autocomplete: "off", attrs: { "aria-describedby": "admin-key-note" } });
  const form = el(
    "form",
    { className: "admin-login upload-form" },
    el("label", { attrs: { for: "admin-key" }, text: "Khóa quản trị (X-Admin-Key)" }),
    input,
    el("p", { id: "admin-key-note", className: "pane-note", text: "Chỉ quản trị viên mới thêm được tài liệu từ trình duyệt." }),
    problem ? el("p", { className: "upload-errors", attrs: { role: "alert" }, text: problem }) : null,
    el("button", { type: "submit", className: "btn btn-secondary btn-small", text: "Mở chức năng quản trị" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setAdminKey(input.value.trim());
    initUploads();
  });
  els.uploadBox.replaceChildren(
    el("details", { className: "admin-details" }, el("summary", { id: "upload-title", text: "Quản trị: thêm tài liệu" }), form),
  );
}

function field(name, label, props = {}) {
  const id = `up-${name}`;
  return el("label", { attrs: { for: id } }, label, el(props.tag || "input", { id, name, type: props.tag ? undefined : (props.type || "text"), ...props.extra }));
}

function renderForm(uploads) {
  const status = el("p", { className: "upload-status", attrs: { role: "status", "aria-live": "polite" } });
  const errors = el("pre", { className: "upload-errors", attrs: { role: "alert" }, hidden: true });
  const progress = el("progress", { className: "upload-progress", max: 100, value: 0, hidden: true, attrs: { "aria-label": "Tiến độ tải lên" } });
  const form = el(
    "form",
    { className: "upload-form", attrs: { "aria-labelledby": "upload-title", enctype: "multipart/form-data" } },
    field("file", "Tệp (md, txt, pdf, docx, html)", { type: "file", extra: { accept: ACCEPT, required: true } }),
    field("title", "Tiêu đề"),
    field("id", "Mã (a-z0-9-, để trống: theo tên tệp)", { extra: { pattern: "[a-z0-9][a-z0-9\\-]*" } }),
    field("short_title", "Tên ngắn khi trích dẫn"),
    field("number", "Số hiệu"),
    field("kind", "Loại (luat, nghi-dinh, quy-dinh, hoi-dap, …)"),
    field("issuer", "Cơ quan ban hành"),
    field("issued", "Ngày ban hành", { type: "date" }),
    field("effective", "Ngày hiệu lực", { type: "date" }),
    field("status", "Tình trạng (con-hieu-luc, het-hieu-luc, …)"),
    field("text_form", "Dạng văn bản (tom-luoc / nguyen-van)"),
    field("source_urls", "Địa chỉ nguồn (mỗi dòng một địa chỉ)", { tag: "textarea", extra: { rows: 2 } }),
    el("label", { className: "upload-replace" }, el("input", { type: "checkbox", name: "replace", id: "up-replace", value: "true" }), " Thay thế tài liệu cùng mã"),
    el("button", { type: "submit", className: "btn btn-primary btn-small upload-send", text: "Tải lên và nạp" }),
    progress,
    status,
    errors,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitUpload(form, { status, errors, progress });
  });
  const list = el("ul", { className: "upload-list", attrs: { "aria-label": "Tài liệu đã tải lên" } },
    uploads.map((u) => el(
      "li",
      { dataset: { id: str(u.id) } },
      el("span", { className: "upload-name", text: `${str(u.id)} — ${str(u.filename)}` }),
      el("button", {
        type: "button",
        className: "btn-ghost upload-replace-btn",
        text: "Thay thế",
        attrs: { "aria-label": `Thay thế ${str(u.id)}` },
        on: {
          click: () => {
            form.elements.id.value = str(u.id);
            form.elements.replace.checked = true;
            form.elements.file.focus();
          },
        },
      }),
      el("button", {
        type: "button",
        className: "btn-ghost upload-delete",
        text: "Xóa",
        attrs: { "aria-label": `Xóa ${str(u.id)}` },
        on: { click: () => deleteUpload(str(u.id), status) },
      }),
    )));
  els.uploadBox.replaceChildren(
    el("h3", { id: "upload-title", className: "pane-title", text: "Thêm tài liệu (quản trị)" }),
    form,
    uploads.length ? el("h4", { className: "pane-note", text: "Đã tải lên" }) : null,
    list,
    el("button", { type: "button", className: "btn-link", text: "Thoát quản trị", on: { click: () => { setAdminKey(""); initUploads(); } } }),
  );
}

async function afterChange(message) {
  state.docCache.clear();
  await loadSourceList(true);
  await initUploads();
  const status = els.uploadBox.querySelector(".upload-status");
  if (status) status.textContent = message;
}

function submitUpload(form, { status, errors, progress }) {
  const data = new FormData();
  for (const [name, value] of new FormData(form).entries()) {
    if (value instanceof File ? value.size : str(value).trim()) data.append(name, value);
  }
  errors.hidden = true;
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
      afterChange(`Đã thêm “${str(body.title) || str(body.id)}” (${str(body.id)}) vào nguồn tài liệu.`);
      return;
    }
    progress.hidden = true;
    const err = body.error || {};
    status.textContent = "";
    errors.hidden = false;
    const details = Array.isArray(err.details) ? err.details.map(str) : [];
    errors.textContent = details.length ? `${str(err.message).split(":")[0]}:\n${details.join("\n")}` : str(err.message) || `Lỗi ${xhr.status}`;
    if (xhr.status === 401) {
      setAdminKey("");
      initUploads();
    }
  });
  xhr.addEventListener("error", () => {
    form.querySelector(".upload-send").disabled = false;
    progress.hidden = true;
    errors.hidden = false;
    errors.textContent = "Không kết nối được máy chủ.";
  });
  xhr.send(data);
}

async function deleteUpload(id, status) {
  status.textContent = `Đang xóa ${id}…`;
  try {
    await adminFetch(`/admin/uploads/${encodeURIComponent(id)}`, { method: "DELETE" });
    await afterChange(`Đã xóa ${id} khỏi nguồn tài liệu.`);
  } catch (err) {
    status.textContent = `Không xóa được: ${str(err && err.message)}`;
  }
}
