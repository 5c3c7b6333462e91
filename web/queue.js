// Stamps and redemptions on their way to stampd. One queue per customer card: its
// writes go out one after another, each with its own Idempotency-Key, and survive
// leaving the customer's screen and reloading the page (kept by `queue-store.js`).
// A write that does not get through is tried again by itself, quickly at first, then
// every few seconds until stampd answers; staff may try it at once or cancel it. The
// top bar counts what is pending.
import {
  HttpError, NetworkError, api, describeError, newKey,
} from './api.js';
import { keepOps, loadKeptOps } from './queue-store.js';
import { session } from './session.js';
import { $, plural, sleep } from './ui.js';

// Waits between the first attempts of a write; after them it shows as "failed" and
// is tried again every BACKGROUND_RETRY_MS by itself.
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
const BACKGROUND_RETRY_MS = 5000;
// stampd keeps a key's answer for 24 hours; a write that may have reached it longer
// ago than this is not sent again by itself (staff check the card and decide).
const KEY_SAFE_MS = 20 * 3600 * 1000;

const queues = new Map();

// How the customer screen shows a queue's requests, reloads its card, and applies
// what a finished request returned (`done[op.kind](q, op, result)`); it sets them.
const screen = { draw: () => {}, reload: async () => {}, done: {} };

export function showQueuesWith({ draw, reload, done }) {
  screen.draw = draw;
  screen.reload = reload;
  screen.done = done;
}

function queueById(id, storeId, customerId, ccId) {
  if (!queues.has(id)) {
    queues.set(id, {
      id, storeId, customerId, ccId, ops: [], messages: [], running: false, lastStamp: null,
    });
  }
  return queues.get(id);
}

export function queueFor(customerId, ccId) {
  const storeId = session.storeId;
  return queueById(`${storeId}:${customerId}:${ccId}`, storeId, customerId, ccId);
}

const allOps = () => [...queues.values()].flatMap((q) => q.ops);

export function pendingCount() {
  return allOps().length;
}

export function dropAllQueues() {
  queues.clear();
  keepOps([]);
}

let unkeptWarned = false;

function keep() {
  if (!keepOps(allOps()) && !unkeptWarned) {
    unkeptWarned = true;
    for (const q of queues.values()) {
      if (q.ops.length) addMessage(q, 'refused', 'This browser does not keep pending requests: do not reload the page until they are through.');
    }
  }
}

const mine = (q) => session && q.storeId === session.storeId;

export function updatePendingBadge() {
  const link = $('#pending-link');
  let pending = 0;
  let failed = null;
  for (const q of queues.values()) {
    if (!mine(q)) continue;
    pending += q.ops.length;
    if (!failed && q.ops.some((op) => op.state === 'failed')) failed = q;
  }
  link.hidden = pending === 0;
  link.classList.toggle('failed', Boolean(failed));
  if (pending) {
    const first = failed || [...queues.values()].find((q) => mine(q) && q.ops.length);
    link.href = `#/customer/${first.customerId}`;
    link.textContent = failed
      ? `${plural(pending, 'request')} waiting for stampd – open`
      : `${plural(pending, 'request')} pending`;
  }
}

// Redraws what shows a queue: the pending count, and its card's list of requests.
export function drawQueue(q) {
  updatePendingBadge();
  screen.draw(q);
}

export function enqueue(q, op) {
  Object.assign(op, {
    id: newKey(),
    key: newKey(),
    state: 'queued',
    attempt: 0,
    storeId: q.storeId,
    customerId: q.customerId,
    ccId: q.ccId,
    createdAt: Date.now(),
  });
  if (typeof op.body !== 'string') op.body = JSON.stringify(op.body);
  q.ops.push(op);
  keep();
  drawQueue(q);
  runQueue(q);
}

const retryable = (e) => e instanceof NetworkError
  || (e instanceof HttpError && (e.status >= 500 || e.status === 429 || e.status === 408));

// Sends the queue's first write until it gets an answer: `true` when it is through
// (or refused), `false` when it is left waiting for the next background try.
async function sendFirst(q, quickTries) {
  const op = q.ops[0];
  for (let i = 0; ; i += 1) {
    op.attempt += 1;
    op.state = op.attempt === 1 ? 'sending' : 'retrying';
    drawQueue(q);
    let result;
    try {
      result = await api(op.method, op.path, { body: op.body, key: op.key });
    } catch (e) {
      op.errorText = describeError(e);
      if (!retryable(e)) {
        q.ops.shift();
        keep();
        if (e instanceof HttpError && e.status === 401) {
          q.ops.length = 0;
          keep();
          return true;
        }
        addMessage(q, 'refused', `${op.label} was refused: ${op.errorText}`);
        return true;
      }
      if (i >= quickTries) {
        op.state = 'failed';
        keep();
        return false;
      }
      let wait = RETRY_DELAYS_MS[i];
      if (e instanceof HttpError && e.status === 429) wait = Math.max(wait, e.retryAfter * 1000);
      op.state = 'retrying';
      keep();
      drawQueue(q);
      await sleep(wait);
      if (q.ops[0] !== op) return true;
      continue;
    }
    q.ops.shift();
    keep();
    const done = screen.done[op.kind];
    try {
      if (done) await done(q, op, result);
    } catch (e) {
      addMessage(q, 'refused', `${op.label} was done, but the screen could not be updated: ${describeError(e)}`);
    }
    return true;
  }
}

async function runQueue(q, quickTries = RETRY_DELAYS_MS.length) {
  if (q.running || !mine(q)) return;
  q.running = true;
  try {
    while (q.ops.length) {
      const op = q.ops[0];
      if (op.state === 'held') break;
      if (op.attempt > 0 && Date.now() - op.createdAt > KEY_SAFE_MS) {
        op.state = 'held';
        keep();
        break;
      }
      // Restored after a reload: it may have reached stampd; its key says so.
      const tries = op.state === 'failed' ? 0 : quickTries;
      if (!(await sendFirst(q, tries))) break;
      drawQueue(q);
    }
  } finally {
    q.running = false;
    drawQueue(q);
  }
}

// Sends what is waiting now, without waiting for the next background try.
export function retryOp(q) {
  const op = q.ops[0];
  if (!op || (op.state !== 'failed' && op.state !== 'held')) return;
  if (op.state === 'held') op.createdAt = Date.now();
  op.state = 'failed';
  runQueue(q, 0);
}

// Cancelling a request that may have reached stampd: the screen then shows the card
// as stampd has it, so staff see whether it was done.
export async function cancelOp(q) {
  const op = q.ops[0];
  if (!op || (op.state !== 'failed' && op.state !== 'held')) return;
  q.ops.shift();
  keep();
  addMessage(q, 'refused', `${op.label} was cancelled. If stampd got it before the connection dropped, it shows below.`);
  drawQueue(q);
  runQueue(q);
  await screen.reload(q);
}

// Takes up the requests kept from before a reload (or another sign-in), and tries
// again whatever waits when the browser says it is online again.
export function resumeQueues() {
  for (const op of loadKeptOps()) {
    const id = `${op.storeId}:${op.customerId}:${op.ccId}`;
    const q = queueById(id, op.storeId, op.customerId, op.ccId);
    if (q.ops.some((o) => o.key === op.key)) continue;
    if (op.state !== 'held') op.state = op.attempt > 0 ? 'failed' : 'queued';
    q.ops.push(op);
  }
  for (const q of queues.values()) if (q.ops.length) runQueue(q, 0);
  updatePendingBadge();
}

// What waits is tried again by itself: every few seconds, and at once when the
// browser says it is online again. (It also picks up a store's queues after sign-in.)
function sweep() {
  for (const q of queues.values()) if (q.ops.length && q.ops[0].state !== 'held') runQueue(q, 0);
}
setInterval(sweep, BACKGROUND_RETRY_MS);
window.addEventListener('online', sweep);

export function addMessage(q, kind, text) {
  const message = { id: newKey(), kind, text };
  const kept = kind === 'done' ? q.messages.filter((m) => m.kind !== 'done') : q.messages;
  q.messages = [...kept.slice(-2), message];
  if (kind === 'done' || kind === 'info') {
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
  failed: (op) => `${op.label} did not get through yet (${(op.errorText || 'no connection to stampd').replace(/\.$/, '')}). `
    + 'It is kept on this tablet and sent by itself when stampd answers again; stampd never counts it twice.',
  held: (op) => `${op.label} could not be sent for a day. Check the card below, then send it or cancel it.`,
};

export const opWaits = (op) => op.state === 'failed' || op.state === 'held';
