// Signing in with an API token, choosing the store when the token reaches several,
// and signing out. The top bar shows the store while someone is signed in.
import { HttpError, NetworkError, api, describeError, whenTokenRefused } from './api.js';
import { forgetCatalog } from './catalog.js';
import { dropAllQueues, pendingCount, updatePendingBadge } from './queue.js';
import { go, markRoute, route, showView } from './router.js';
import { forgetSession, saveSession, session } from './session.js';
import { applyRole, signOutTablet } from './tablet.js';
import { $, busy, clearNotice, confirmDialog, focusHeading, h, notify } from './ui.js';

export function showSignIn(message) {
  $('#topbar').hidden = true;
  document.body.dataset.role = 'none';
  markRoute('');
  showView('signin');
  $('#store-choice').hidden = true;
  $('#signin-form').hidden = false;
  $('#signin-error').textContent = message || '';
  if (message) $('#signin-token').setAttribute('aria-invalid', 'true');
  else $('#signin-token').removeAttribute('aria-invalid');
  $('#signin-token').focus();
}

function signedOut(message) {
  forgetSession();
  showSignIn(message);
}

async function signIn(event) {
  event.preventDefault();
  const input = $('#signin-token');
  const token = input.value.trim();
  const error = $('#signin-error');
  error.textContent = '';
  input.removeAttribute('aria-invalid');
  if (!token) {
    error.textContent = 'Paste the API token first.';
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  let stores;
  try {
    stores = await busy($('#signin-submit'), 'Checking…', () => api('GET', '/accounts', { token }));
  } catch (e) {
    error.textContent = e instanceof HttpError && e.status === 401
      ? 'That token was not accepted. Check it and try again.'
      : `Could not sign in: ${describeError(e)}`;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  input.value = '';
  chooseStore(token, stores);
}

function chooseStore(token, stores) {
  if (!stores.length) {
    $('#signin-form').hidden = false;
    $('#signin-error').textContent = 'This token does not reach any store.';
    return;
  }
  if (stores.length === 1) {
    startSession(token, stores[0], false);
    return;
  }
  const list = $('#store-list');
  list.replaceChildren(...stores.map((s) => h('li', null,
    h('button', {
      type: 'button',
      class: 'secondary',
      dataset: { storeId: s.id },
      onclick: () => startSession(token, s, true),
    }, s.display_store_name))));
  $('#signin-form').hidden = true;
  $('#store-choice').hidden = false;
  $('#store-cancel').hidden = !session;
  $('#topbar').hidden = true;
  showView('signin');
  focusHeading('store-choice-title');
}

function startSession(token, store, several) {
  saveSession({ token, storeId: store.id, storeName: store.display_store_name, several });
  forgetCatalog();
  $('#store-choice').hidden = true;
  $('#signin-form').hidden = false;
  showApp();
  if (!location.hash.startsWith('#/') || location.hash === '#/find') go('#/find');
  else route(true);
}

export function showApp() {
  $('#topbar').hidden = false;
  $('#store-name').textContent = session.storeName;
  $('#change-store').hidden = !session.several;
  applyRole();
  updatePendingBadge();
}

async function changeStore() {
  try {
    const stores = await api('GET', '/accounts');
    chooseStore(session.token, stores);
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 401)) notify(`Could not load the stores: ${describeError(e)}`, true);
  }
}

async function signOut() {
  if (session && session.device) {
    signOutTablet();
    return;
  }
  if (pendingCount() > 0) {
    const ok = await confirmDialog({
      title: 'Sign out with requests pending?',
      text: 'Some stamps or redemptions have not reached stampd yet. Signing out drops them.',
      ok: 'Sign out anyway',
      danger: true,
    });
    if (!ok) return;
    dropAllQueues();
  }
  clearNotice();
  signedOut('');
  history.replaceState(null, '', location.pathname);
}

// Checks a remembered token in the background and refreshes the store's name.
export async function checkSession() {
  try {
    const stores = await api('GET', '/accounts');
    const store = stores.find((s) => s.id === session.storeId);
    if (!store) {
      chooseStore(session.token, stores);
      $('#store-cancel').hidden = true;
      return;
    }
    saveSession({ ...session, storeName: store.display_store_name, several: stores.length > 1 });
    showApp();
  } catch (e) {
    if (e instanceof NetworkError) notify('stampd cannot be reached right now; the page keeps trying when you act.', true);
  }
}

export function wireSignIn() {
  whenTokenRefused(signedOut);
  $('#signin-form').addEventListener('submit', signIn);
  $('#sign-out').addEventListener('click', signOut);
  $('#change-store').addEventListener('click', changeStore);
  $('#store-cancel').addEventListener('click', () => {
      $('#store-choice').hidden = true;
    $('#signin-form').hidden = false;
    showApp();
    route(true);
  });
}
