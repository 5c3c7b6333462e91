// The signed-in session: the API token and the store this counter works in, kept on the
// device until "Sign out".
import { notify } from './ui.js';

const SESSION_KEY = 'stampd.counter.session';

// Importers see each new session: module bindings are live.
export let session = loadSession();

function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.token === 'string' && Number.isInteger(s.storeId)) return s;
  } catch (_) { /* unreadable storage: sign in again */ }
  return null;
}

export function saveSession(s) {
  session = s;
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  } catch (_) {
    notify('This browser does not let the page remember the token; you will have to sign in again after a reload.', true);
  }
}

export function forgetSession() {
  session = null;
  try { localStorage.removeItem(SESSION_KEY); } catch (_) { /* nothing kept */ }
}

export const storePath = (rest = '') => `/accounts/${session.storeId}${rest}`;
