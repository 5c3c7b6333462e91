// The signed-in session: the API token (an owner's) or a paired tablet's device token,
// the store this counter works in, and on a tablet the staff member signed in on it,
// kept on the device until "Sign out".
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

// The role the page works with: an API token is an owner's; a tablet has the role of the
// staff member signed in on it, and none while nobody is.
export function role() {
  if (!session) return null;
  if (!session.device) return 'owner';
  return session.staff ? session.staff.role : null;
}

export const storePath = (rest = '') => `/accounts/${session.storeId}${rest}`;
