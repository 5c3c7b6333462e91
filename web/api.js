// The client of stampd's JSON API under /api/v1: the token as a bearer header (and on a
// paired tablet the staff session beside it), the error shapes the API answers with, and writes that carry an Idempotency-Key and are
// retried until they get through.
import { session } from './session.js';
import { sleep } from './ui.js';
import { fieldLabel, humanise } from './words.js';

// Waits between attempts of a request that did not get through; then it is "failed"
// and waits for the staff to retry it (with the same Idempotency-Key) or cancel it.
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];

export class HttpError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.error) || `stampd answered ${status}`);
    this.status = status;
    this.body = body || {};
    this.retryAfter = retryAfter;
  }

  get fieldErrors() {
    return (this.body && this.body.errors) || {};
  }
}

export class NetworkError extends Error {}

// What to do when stampd refuses the signed-in token; the sign-in screen sets it.
let refused = () => {};

export function whenTokenRefused(handler) {
  refused = handler;
}

// What to do when a tablet's staff session has ended (expired, or the member made
// inactive); the staff picker sets it.
let signInAgain = () => {};

export function whenStaffSignedOut(handler) {
  signInAgain = handler;
}

// The server's words for a tablet nobody is signed in on (src/api/roles.rs).
const SIGN_IN_FIRST = 'Forbidden – sign in with a staff PIN first';

// An Idempotency-Key: random, and made without crypto.randomUUID, which plain-http
// shop networks do not offer.
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `counter-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export async function api(method, path, { body, key, token, staffToken, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const bearer = token || (session && session.token);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const staff = staffToken || (!token && session && session.staff && session.staff.token);
  if (staff) headers['X-Staff-Session'] = staff;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  if (key) headers['Idempotency-Key'] = key;
  let res;
  let text = '';
  try {
    res = await fetch(`/api/v1${path}`, {
      method, headers, body: payload, signal, cache: 'no-store', credentials: 'omit',
    });
    if (res.status !== 204) text = await res.text();
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new NetworkError('No connection to stampd');
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (!res.ok) {
    const err = new HttpError(res.status, data, Number(res.headers.get('Retry-After')) || 0);
    if (res.status === 401 && !token) refused('stampd no longer accepts this token. Sign in again.');
    if (res.status === 403 && !token && !staffToken && err.message === SIGN_IN_FIRST) signInAgain();
    throw err;
  }
  return data;
}

const retryable = (e) => e instanceof NetworkError
  || (e instanceof HttpError && (e.status >= 500 || e.status === 429 || e.status === 408));

export function describeError(e) {
  if (e instanceof NetworkError) return 'No connection to stampd.';
  if (e instanceof HttpError) {
    if (e.status === 429) return `Too many requests; wait ${e.retryAfter || 'a few'} seconds.`;
    if (e.status >= 500) return 'stampd had a problem (server error).';
    if (e.status === 403 && /owners only/.test(e.message)) return 'Only an owner may do this: ask an owner to sign in with their PIN.';
    if (e.status === 403) return 'Sign in with your PIN first.';
    const fields = Object.entries(e.fieldErrors)
      .map(([f, msgs]) => `${fieldLabel(f)} ${msgs.map(humanise).join(', ')}`);
    return fields.length ? `${e.message}: ${fields.join('; ')}.` : `${e.message}.`;
  }
  return String(e && e.message ? e.message : e);
}

// Sends one write with an Idempotency-Key, retrying what did not get through with the
// same key and body, so that a retry is answered from stampd's record and never done
// twice. `op.state` goes sending → retrying → (resolved) or failed; `onChange` redraws.
export async function sendReliably(op, onChange = () => {}) {
  op.key = op.key || newKey();
  const body = typeof op.body === 'string' ? op.body : JSON.stringify(op.body);
  op.body = body;
  op.attempt = 0;
  for (;;) {
    op.attempt += 1;
    op.state = op.attempt === 1 ? 'sending' : 'retrying';
    onChange();
    try {
      const result = await api(op.method, op.path, { body, key: op.key });
      op.state = 'done';
      return result;
    } catch (e) {
      op.error = e;
      if (!retryable(e)) {
        op.state = 'refused';
        throw e;
      }
      if (op.attempt > RETRY_DELAYS_MS.length) {
        op.state = 'failed';
        onChange();
        throw e;
      }
      let wait = RETRY_DELAYS_MS[op.attempt - 1];
      if (e instanceof HttpError && e.status === 429) wait = Math.max(wait, e.retryAfter * 1000);
      op.state = 'retrying';
      onChange();
      await sleep(wait);
    }
  }
}
