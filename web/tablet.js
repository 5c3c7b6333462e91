// A paired tablet at the counter: pairing it with an owner's code, the staff picker and
// PIN pad, the lock back to the picker after `idle_lock_seconds` without a tap or key,
// "Switch staff", and signing the tablet out, which takes an owner's PIN.
import { HttpError, api, describeError, whenStaffSignedOut } from './api.js';
import { forgetCatalog } from './catalog.js';
import { dropAllQueues } from './queue.js';
import { go, markRoute, route, showView } from './router.js';
import { forgetSession, role, saveSession, session, storePath } from './session.js';
import { showApp, showSignIn } from './signin.js';
import { $, busy, clearNotice, h, notify } from './ui.js';

// What `GET /counter` last said: the picker and the idle time.
let counter = { staff_picker: [], idle_lock_seconds: 0 };
let lastActivity = Date.now();
let chosen = null;

// ---------------------------------------------------------------- pairing

// "abcd efgh" or "ABCD-EFGH" as the server shows it.
const normaliseCode = (code) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');

export async function pairTablet(code, button) {
  const error = $('#pair-error');
  error.textContent = '';
  const typed = normaliseCode(code || '');
  if (typed.length !== 8) {
    error.textContent = 'Type the 8 letters and digits of the code the owner’s screen shows.';
    $('#pair-code').setAttribute('aria-invalid', 'true');
    $('#pair-code').focus();
    return;
  }
  $('#pair-code').removeAttribute('aria-invalid');
  const work = async () => {
    const paired = await api('POST', '/devices/pair', { body: { code: typed } });
    const stores = await api('GET', '/accounts', { token: paired.token });
    const store = stores.find((s) => s.id === paired.device.account_id) || stores[0];
    return { paired, store };
  };
  let done;
  try {
    done = button ? await busy(button, 'Pairing…', work) : await work();
  } catch (e) {
    error.textContent = e instanceof HttpError && e.status === 422
      ? 'That code is not valid: codes work once, for 10 minutes. Ask the owner for a new one.'
      : `Could not pair this tablet: ${describeError(e)}`;
    $('#pair-code').setAttribute('aria-invalid', 'true');
    $('#pair-code').focus();
    return;
  }
  const { paired, store } = done;
  $('#pair-code').value = '';
  saveSession({
    token: paired.token,
    storeId: store.id,
    storeName: store.display_store_name,
    several: false,
    device: { id: paired.device.id, name: paired.device.name },
    staff: null,
  });
  forgetCatalog();
  history.replaceState(null, '', `${location.pathname}#/find`);
  notify(`This tablet is paired as “${paired.device.name}”.`);
  showPicker();
}

// A `#pair=CODE` address (the QR code of the owner's screen) pairs at once.
export function pairFromAddress() {
  const m = location.hash.match(/^#pair=([A-Za-z0-9-]+)$/);
  if (!m) return false;
  if (session) {
    history.replaceState(null, '', location.pathname);
    notify('This browser is signed in already: sign out first to pair it as a tablet.', true);
    return false;
  }
  showSignIn();
  $('#pair-code').value = m[1];
  pairTablet(m[1], $('#pair-submit'));
  return true;
}

function pairForm() {
  return h('form', { id: 'pair-form', class: 'panel', novalidate: true, 'aria-labelledby': 'pair-title', onsubmit: (e) => { e.preventDefault(); pairTablet($('#pair-code').value, $('#pair-submit')); } },
    h('h2', { id: 'pair-title', text: 'Pair this tablet' }),
    h('p', { class: 'hint', text: 'For the shop’s tablet: an owner opens Staff → “Pair a tablet” on their device and shows a code. Type it here, or scan its QR code with this tablet.' }),
    h('div', { class: 'field' },
      h('label', { for: 'pair-code', text: 'Pairing code' }),
      h('input', { id: 'pair-code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', placeholder: 'XXXX-XXXX', 'aria-describedby': 'pair-error' }),
      h('p', { class: 'error', id: 'pair-error', role: 'alert' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'pair-submit', text: 'Pair this tablet' })));
}

// ---------------------------------------------------------------- staff picker & PIN

export function applyRole() {
  const r = role();
  document.body.dataset.role = r || 'none';
  const tablet = Boolean(session && session.device);
  $('#switch-staff').hidden = !(tablet && session.staff);
  $('#sign-out').textContent = tablet ? 'Sign out tablet' : 'Sign out';
  $('#staff-name').hidden = !(tablet && session.staff);
  $('#staff-name').textContent = tablet && session.staff ? session.staff.name : '';
}

export async function showPicker(message) {
  $('#topbar').hidden = true;
  markRoute('');
  applyRole();
  showView('picker');
  chosen = null;
  const view = $('#view-picker');
  view.replaceChildren(
    h('h1', { id: 'picker-title', tabindex: '-1', text: 'Who is at the counter?' }),
    h('p', { class: 'hint', id: 'picker-hint', text: `${session.storeName} · ${session.device.name}. Tap your name and type your PIN.` }),
    h('p', { class: 'error', id: 'picker-message', role: 'alert', text: message || '' }),
    h('ul', { class: 'choices picker', id: 'picker-list', 'aria-labelledby': 'picker-title' }),
    h('div', { id: 'pin-slot' }),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'quiet', id: 'picker-sign-out', text: 'Sign out this tablet', onclick: signOutTablet })));
  $('#picker-title').focus();
  try {
    counter = await api('GET', storePath('/counter'));
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 401)) $('#picker-message').textContent = `Could not load the staff: ${describeError(e)}`;
    return;
  }
  const list = $('#picker-list');
  if (!counter.staff_picker.length) {
    list.replaceWith(h('p', { class: 'hint', id: 'picker-list', text: 'No staff members yet: an owner adds them under Staff on their own device.' }));
    return;
  }
  list.replaceChildren(...counter.staff_picker.map((s) => h('li', null,
    h('button', { type: 'button', class: 'secondary staff-pick', dataset: { staffId: s.id }, onclick: () => askPin(s) },
      s.name, s.role === 'owner' ? h('span', { class: 'badge', text: 'Owner' }) : null,
      s.locked_until ? h('span', { class: 'badge locked', text: 'Locked' }) : null))));
}

function pinPad(onSubmit, id, label) {
  const input = h('input', { id, type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: '8', pattern: '[0-9]*', 'aria-describedby': `${id}-error` });
  const press = (d) => { if (input.value.length < 8) input.value += d; input.focus(); };
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => h('button', { type: 'button', class: 'secondary key', text: d, onclick: () => press(d) }));
  return h('form', { class: 'pin-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); onSubmit(input.value); } },
    h('div', { class: 'field' }, h('label', { for: id, text: label }), input, h('p', { class: 'error', id: `${id}-error`, role: 'alert' })),
    h('div', { class: 'keypad', role: 'group', 'aria-label': 'Digits' }, ...keys,
      h('button', { type: 'button', class: 'secondary key', 'aria-label': 'Delete a digit', text: '⌫', onclick: () => { input.value = input.value.slice(0, -1); input.focus(); } }),
      h('button', { type: 'button', class: 'secondary key', text: '0', onclick: () => press('0') }),
      h('button', { type: 'submit', class: 'primary key', id: `${id}-ok`, text: 'OK' })));
}

function askPin(member) {
  chosen = member;
  $$staffPicks().forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.staffId) === member.id)));
  const pad = pinPad((pin) => signInStaff(member, pin), 'pin', `PIN for ${member.name}`);
  pad.id = 'pin-panel';
  pad.classList.add('panel');
  $('#pin-slot').replaceChildren(pad);
  $('#pin').focus();
}

const $$staffPicks = () => Array.from(document.querySelectorAll('.staff-pick'));

function pinMessage(e) {
  if (e instanceof HttpError && e.status === 422) {
    const why = (e.fieldErrors.pin || [])[0] || 'is wrong';
    return `Wrong PIN${why.replace(/^is wrong/, '')}.`.replace('; further', '. Further');
  }
  if (e instanceof HttpError && e.status === 429) return `${e.message}.`;
  if (e instanceof HttpError && e.status === 404) return 'This staff member is no longer active.';
  return `Could not sign in: ${describeError(e)}`;
}

async function signInStaff(member, pin) {
  const error = $('#pin-error');
  error.textContent = '';
  if (!/^[0-9]{4,8}$/.test(pin)) {
    error.textContent = 'A PIN is 4 to 8 digits.';
    $('#pin').focus();
    return;
  }
  let signed;
  try {
    signed = await busy($('#pin-ok'), '…', () => api('POST', storePath(`/staff/${member.id}/sessions`), { body: { pin } }));
  } catch (e) {
    error.textContent = pinMessage(e);
    $('#pin').value = '';
    $('#pin').setAttribute('aria-invalid', 'true');
    $('#pin').focus();
    return;
  }
  saveSession({ ...session, staff: { id: signed.staff.id, name: signed.staff.name, role: signed.staff.role, token: signed.token } });
  lastActivity = Date.now();
  clearNotice();
  showApp();
  go('#/find');
}

// Back to the picker: the session ends on the server too, so the next person at the
// counter needs their own PIN.
export async function lockCounter(message) {
  if (!session || !session.device) return;
  const ending = session.staff;
  saveSession({ ...session, staff: null });
  if (ending) api('DELETE', storePath('/counter/session'), { staffToken: ending.token }).catch(() => {});
  showPicker(message);
}

function watchIdle() {
  const touched = () => { lastActivity = Date.now(); };
  ['pointerdown', 'keydown', 'touchstart'].forEach((t) => document.addEventListener(t, touched, { capture: true, passive: true }));
  setInterval(() => {
    const secs = counter.idle_lock_seconds;
    if (!session || !session.device || !session.staff || !secs) return;
    if (Date.now() - lastActivity >= secs * 1000) lockCounter('Locked after a while without use: tap your name to go on.');
  }, 1000);
}

// A tablet that was signed in before a reload: learn its idle time and whether the
// session still holds.
export async function resumeTablet() {
  try {
    counter = await api('GET', storePath('/counter'));
  } catch (_) {
    return;
  }
  if (!counter.staff && session && session.staff) lockCounter('Your sign-in has ended: tap your name again.');
}

// ---------------------------------------------------------------- signing the tablet out

export async function signOutTablet() {
  const owners = (counter.staff_picker || []).filter((s) => s.role === 'owner');
  const dlg = $('#owner-pin') || document.body.appendChild(h('dialog', { id: 'owner-pin', 'aria-labelledby': 'owner-pin-title' }));
  const close = () => dlg.close();
  if (!owners.length) {
    dlg.replaceChildren(h('h2', { id: 'owner-pin-title', text: 'Sign out this tablet?' }),
      h('p', { text: 'Signing a tablet out takes an owner’s PIN, and this store has no owner among its staff members. An owner adds themselves under Staff, or revokes the tablet there.' }),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', text: 'Close', onclick: close })));
    dlg.showModal();
    return;
  }
  const select = h('select', { id: 'owner-pin-who' }, owners.map((o) => h('option', { value: o.id, text: o.name })));
  const pad = pinPad((pin) => unpair(Number(select.value), pin), 'owner-pin-pin', 'Owner’s PIN');
  dlg.replaceChildren(h('h2', { id: 'owner-pin-title', text: 'Sign out this tablet' }),
    h('p', { class: 'hint', text: 'An owner’s PIN unpairs the tablet: its token stops working and staff can no longer sign in on it until it is paired again.' }),
    h('div', { class: 'field' }, h('label', { for: 'owner-pin-who', text: 'Owner' }), select),
    pad,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'owner-pin-cancel', text: 'Cancel', onclick: close })));
  dlg.showModal();
  $('#owner-pin-pin').focus();
}

async function unpair(ownerId, pin) {
  const error = $('#owner-pin-pin-error');
  error.textContent = '';
  try {
    const signed = await busy($('#owner-pin-pin-ok'), '…', () => api('POST', storePath(`/staff/${ownerId}/sessions`), { body: { pin } }));
    await api('DELETE', storePath(`/devices/${session.device.id}`), { staffToken: signed.token });
  } catch (e) {
    error.textContent = pinMessage(e);
    $('#owner-pin-pin').value = '';
    $('#owner-pin-pin').focus();
    return;
  }
  $('#owner-pin').close();
  dropAllQueues();
  forgetSession();
  history.replaceState(null, '', location.pathname);
  showSignIn('');
  notify('This tablet is signed out and unpaired.');
}

export function wireTablet() {
  $('#view-signin').append(pairForm());
  $('#switch-staff').addEventListener('click', () => lockCounter(''));
  whenStaffSignedOut(() => lockCounter('Your sign-in has ended: tap your name again.'));
  watchIdle();
}

// Opens a screen after a start or a reload: the picker while nobody is signed in.
export function startTablet() {
  if (!session.staff) {
    showPicker();
    return;
  }
  showApp();
  route(true);
  resumeTablet();
}
