// A shared answer's page (/s/ID): the snapshot exactly as it was shared, read from GET /share/ID; nothing is
// asked again and nothing of the reader's own conversations is touched. A new question starts a new chat.

import { setAsOf } from "./asof.js";
import { ApiError, getJSON } from "./http.js";
import { addAssistantMessage, addUserMessage, completeMessage, fillFromRecord, updateEditButtons } from "./messages.js";
import { els } from "./state.js";
import { NETWORK_ERROR_MSG, el, formatDate, str } from "./util.js";

const SHARE_PATH = /^\/s\/([A-Za-z0-9_-]{22})\/?$/;

/** The id of the shared answer this address shows, or "". */
export function sharedId() {
  const m = SHARE_PATH.exec(window.location.pathname);
  return m ? m[1] : "";
}

function banner(text, extra = []) {
  return el("p", { className: "shared-banner", attrs: { role: "note" } }, el("span", { text }), ...extra);
}

export async function openSharedAnswer(id) {
  let data;
  try {
    data = await getJSON(`/share/${encodeURIComponent(id)}`);
  } catch (err) {
    const text = err instanceof ApiError && err.network ? NETWORK_ERROR_MSG
      : (err && err.message) || "Liên kết chia sẻ không tồn tại hoặc đã hết hạn.";
    els.messages.replaceChildren(banner(text));
    document.body.classList.add("has-messages");
    els.emptyState.hidden = true;
    return false;
  }
  setAsOf(str(data.as_of), { keep: false }); // the day the answer speaks for, shown on the chip as it was
  const created = str(data.created).slice(0, 10);
  els.messages.replaceChildren(
    banner(`Câu trả lời được chia sẻ, trả lời ngày ${formatDate(created)}. Câu hỏi mới của bạn sẽ mở một cuộc trò chuyện mới.`),
  );
  const userNode = addUserMessage(str(data.question));
  userNode.dataset.shared = "true";
  const msg = fillFromRecord(addAssistantMessage(str(data.question)), data);
  msg.shareUrl = window.location.href;
  msg.node.dataset.shared = "true";
  completeMessage(msg, { restoring: true });
  updateEditButtons();
  document.title = `${str(data.question).slice(0, 60)} — Trợ lý Kiêm nhiệm`;
  return true;
}
