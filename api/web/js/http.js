// fetch wrappers with the one Vietnamese error shape, and a streaming SSE reader.

import { NETWORK_ERROR_MSG, str } from "./util.js";

// ---------------------------------------------------------------- HTTP helpers

export class ApiError extends Error {
  constructor(message, { code = "", status = 0, network = false } = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.network = network;
  }
}

/** Turn a non-OK response into an ApiError carrying the Vietnamese message. */
export async function errorFromResponse(res) {
  let message = "";
  let code = "";
  try {
    const body = await res.json();
    const err = body && body.error;
    if (err && typeof err === "object") {
      message = str(err.message) || str(err.message_en);
      code = str(err.code);
    } else if (body && typeof body.detail === "string") {
      message = body.detail;
    }
  } catch {
    /* not JSON */
  }
  if (!message) message = `Máy chủ trả về lỗi (mã ${res.status}). Vui lòng thử lại sau.`;
  return new ApiError(message, { code, status: res.status });
}

export async function apiFetch(path, options = {}) {
  let res;
  try {
    res = await fetch(path, options);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(NETWORK_ERROR_MSG, { network: true });
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

export async function getJSON(path, options = {}) {
  const res = await apiFetch(path, { headers: { Accept: "application/json" }, ...options });
  try {
    return await res.json();
  } catch {
    throw new ApiError("Dữ liệu máy chủ trả về không hợp lệ.");
  }
}

export async function postJSON(path, body, options = {}) {
  return apiFetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    ...options,
  });
}

/**
 * Read a text/event-stream body and call onEvent(name, dataString) per event.
 * Handles \r\n / \r line endings, multi-line data, comments and a final event
 * without a trailing blank line.
 */
export async function readSSE(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let eventName = "";
  let dataLines = [];

  const dispatch = () => {
    if (dataLines.length || eventName) {
      onEvent(eventName || "message", dataLines.join("\n"));
    }
    eventName = "";
    dataLines = [];
  };

  const processLine = (line) => {
    if (line === "") {
      dispatch();
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    if (field === "event") eventName = value;
    else if (field === "data") dataLines.push(value);
    // "id" and "retry" are irrelevant here
  };

  const drain = (final) => {
    // A lone trailing "\r" may be the first half of "\r\n": keep it unless final.
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (!match) break;
      if (!final && match[0] === "\r" && match.index === buffer.length - 1) break;
      processLine(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  };

  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    drain(false);
  }
  buffer += decoder.decode();
  drain(true);
  if (buffer) processLine(buffer);
  buffer = "";
  dispatch();
}
