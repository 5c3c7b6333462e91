// Stamps and redemptions on their way to stampd. One queue per customer card: its
// writes go out one after another, each with its own Idempotency-Key, and survive
// leaving the customer's screen. The top bar counts what is pending.
import { HttpError, describeError, newKey, sendReliably } from './api.js';
import { session } from './session.js';
import { $, plural } from './ui.js';

const queues = new Map();

// How the customer screen shows a queue's requests and reloads its card; it sets them.
const screen = { draw: () => {}, reload: async () => {} };

export function showQueuesWith({ draw, reload }) {
  screen.draw = draw;
  screen.reload = reload;
}

export function queueFor(customerId, ccId) {
  const id = `${session.storeId}:${customerId}:${ccId}`;
  if (!queues.has(id)) {
    queues.set(id, {
      id, customerId, ccId, ops: [], messages: [], running: false, lastStamp: null,
    });
  }
  return queues.get(id);
}

export function pendingCount() {
  let n = 0;
  for (const q of queues.values()) n += q.ops.length;
  return n;
}

export function dropAllQueues() {
  queues.clear();
}

export function updatePendingBadge() {
  const link = $('#pending-link');
  let pending = 0;
  let failed = null;
  for (const q of queues.values()) {
    pending += q.ops.length;
    if (!failed && q.ops.some((op) => op.state === 'failed')) failed = q;
  }
  link.hidden = pending === 0;
  link.classList.toggle('failed', Boolean(failed));
  if (pending) {
    const first = failed || [...queues.values()].find((q) => q.ops.length);
    link.href = `#/customer/${first.customerId}`;
    link.textContent = failed ? 'A request failed – open' : `${plural(pending, 'request')} pending`;
  }
}

// Redraws what shows a queue: the pending count, and its card's list of requests.
export function drawQueue(q) {
  updatePendingBadge();
  screen.draw(q);
}

export function enqueue(q, op) {
  op.id = newKey();
  op.state = 'queued';
  q.ops.push(op);
  drawQueue(q);
  runQueue(q);
}

async function runQueue(q) {
  if (q.running) return;
  q.running = true;
  try {
    while (q.ops.length && q.ops[0].state !== 'failed') {
      const op = q.ops[0];
      let result;
      try {
        result = await sendReliably(op, () => drawQueue(q));
      } catch (e) {
        if (op.state === 'failed') break;
        q.ops.shift();
        if (e instanceof HttpError && e.status === 401) {
          q.ops.length = 0;
          break;
        }
        addMessage(q, 'refused', `${op.label} was refused: ${describeError(e)}`);
        drawQueue(q);
        continue;
      }
      q.ops.shift();
      try {
        await op.done(result);
      } catch (e) {
        addMessage(q, 'refused', `${op.label} was done, but the screen could not be updated: ${describeError(e)}`);
      }
      drawQueue(q);
    }
  } finally {
    q.running = false;
    drawQueue(q);
  }
}

export function retryOp(q) {
  const op = q.ops[0];
  if (!op || op.state !== 'failed') return;
  op.state = 'queued';
  drawQueue(q);
  runQueue(q);
}

// Cancelling a request that may have reached stampd: the screen then shows the card
// as stampd has it, so staff see whether it was done.
export async function cancelOp(q) {
  const op = q.ops[0];
  if (!op || op.state !== 'failed') return;
  q.ops.shift();
  addMessage(q, 'refused', `${op.label} was cancelled. If stampd got it before the connection dropped, it shows below.`);
  drawQueue(q);
  runQueue(q);
  await screen.reload(q);
}

export function addMessage(q, kind, text) {
  const message = { id: newKey(), kind, text };
  const kept = kind === 'done' ? q.messages.filter((m) => m.kind !== 'done') : q.messages;
  q.messages = [...kept.slice(-2), message];
  if (kind === 'done') {
    setTimeout(() => {
      q.messages = q.messages.filter((m) => m !== message);
      drawQueue(q);
    }, 8000);
  }
}

export const OP_TEXT = {
  queued: (op) => `${op.label}: waiting for the request before it…`,
  sending: (op) => `${op.label}: sending…`,
  retrying: (op) => `${op.label}: no answer yet, trying again (attempt ${op.attempt + 1})…`,
  failed: (op) => `${op.label} did not get through: ${describeError(op.error)} Retrying is safe: stampd never counts it twice.`,
};
