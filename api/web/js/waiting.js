// What the waiting line under a new question says, from the request's real state: sent and not yet
// accepted, accepted by the server (the answer is being written), or taking long — then a /health probe
// tells a busy server (it answers) from one that cannot be reached (it does not).

import { STEP_SEARCHING, STEP_WRITING, setStep } from "./messages.js";

const SLOW_AFTER_MS = 8000; // no answer yet after this: say why, from a probe
const PROBE_EVERY_MS = 6000; // then probe again while still waiting
const PROBE_TIMEOUT_MS = 4000;

export const WAIT_QUEUED = "Máy chủ đang bận, câu hỏi đang chờ được xử lý…";
export const WAIT_SLOW = "Máy chủ đang soạn câu trả lời chậm hơn thường lệ, vui lòng chờ thêm…";
export const WAIT_DOWN = "Không liên lạc được máy chủ. Đang thử lại — bạn có thể bấm “Dừng” và hỏi lại sau.";

async function serverAnswers() {
  try {
    const res = await fetch("/health", { cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Watch one question's request. `accepted()` when the server's response has started (it works on the
 * answer), `stop()` when the request has ended either way. `msg.node.dataset.wait` says "", "slow" or
 * "down" for the stylesheet and tests.
 */
export function watchWaiting(msg) {
  let accepted = false;
  let stopped = false;
  let timer = 0;
  const check = async () => {
    const alive = await serverAnswers();
    if (stopped) return;
    msg.node.dataset.wait = alive ? "slow" : "down";
    setStep(msg, alive ? (accepted ? WAIT_SLOW : WAIT_QUEUED) : WAIT_DOWN);
    timer = setTimeout(check, PROBE_EVERY_MS);
  };
  setStep(msg, STEP_SEARCHING);
  timer = setTimeout(check, SLOW_AFTER_MS);
  return {
    accepted() {
      accepted = true;
      if (!msg.node.dataset.wait) setStep(msg, STEP_WRITING);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      delete msg.node.dataset.wait;
    },
  };
}
