// The owner's Staff screen: staff members (add with a name, PIN and role; change a PIN,
// deactivate, lift a lock-out) and the store's tablets (pair one with a code and its QR
// code; last use, revoke, lift a lock-out).
import { HttpError, api, describeError } from './api.js';
import { showView } from './router.js';
import { session, storePath } from './session.js';
import { $, busy, confirmDialog, focusHeading, formatWhen, h, notify } from './ui.js';

const ROLES = { staff: 'Staff', owner: 'Owner' };

export async function openStaff() {
  showView('staff');
  const view = $('#view-staff');
  view.replaceChildren(
    h('div', { class: 'heading-row' },
      h('h1', { id: 'staff-title', tabindex: '-1', text: 'Staff & tablets' }),
      h('a', { class: 'button secondary', href: '#/flags', id: 'to-flags', text: 'Suspicious activity' })),
    h('section', { 'aria-labelledby': 'members-title' },
      h('h2', { id: 'members-title', text: 'Staff members' }),
      h('p', { class: 'hint', text: 'Each person at the counter taps their name on the tablet and types their PIN; the ledger then names who gave each stamp. Staff find, enrol, stamp and redeem; owners manage everything else.' }),
      h('p', { id: 'members-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
      h('ul', { id: 'members-list', class: 'poster-list', 'aria-labelledby': 'members-title' }),
      addStaffForm()),
    h('section', { 'aria-labelledby': 'devices-title' },
      h('div', { class: 'heading-row' },
        h('h2', { id: 'devices-title', text: 'Tablets' }),
        h('button', { type: 'button', class: 'primary', id: 'pair-tablet', text: 'Pair a tablet', onclick: showPairingCode })),
      h('div', { id: 'pairing-slot' }),
      h('p', { id: 'devices-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
      h('ul', { id: 'devices-list', class: 'poster-list', 'aria-labelledby': 'devices-title' })));
  focusHeading('staff-title');
  await Promise.all([loadMembers(), loadDevices()]);
}

// ---------------------------------------------------------------- staff members

function field(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
    hint ? h('p', { class: 'hint', text: hint }) : null,
    h('p', { class: 'error', id: `${id}-error` }));
}

function addStaffForm() {
  return h('form', { id: 'staff-form', class: 'panel', novalidate: true, 'aria-labelledby': 'staff-form-title', onsubmit: addStaff },
    h('h3', { id: 'staff-form-title', text: 'Add a staff member' }),
    h('p', { class: 'error', id: 'staff-form-error', role: 'alert' }),
    h('div', { class: 'grid-2' },
      field('staff-name-input', 'Name', h('input', { id: 'staff-name-input', autocomplete: 'off' })),
      field('staff-pin', 'PIN', h('input', { id: 'staff-pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password', maxlength: '8' }), '4 to 8 digits; tell it to them, stampd keeps only a hash.'),
      field('staff-role', 'Role', h('select', { id: 'staff-role' }, Object.entries(ROLES).map(([v, t]) => h('option', { value: v, text: t }))))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'staff-add', text: 'Add staff member' })));
}

async function addStaff(event) {
  event.preventDefault();
  const body = { staff: { name: $('#staff-name-input').value.trim(), pin: $('#staff-pin').value.trim(), role: $('#staff-role').value } };
  ['staff-form', 'staff-name-input', 'staff-pin', 'staff-role'].forEach((id) => { $(`#${id}-error`).textContent = ''; });
  try {
    await busy($('#staff-add'), 'Adding…', () => api('POST', storePath('/staff'), { body }));
  } catch (e) {
    const errs = e instanceof HttpError ? e.fieldErrors : {};
    const slots = { name: 'staff-name-input', pin: 'staff-pin', role: 'staff-role' };
    let placed = false;
    for (const [f, msgs] of Object.entries(errs)) {
      if (slots[f]) { $(`#${slots[f]}-error`).textContent = `${f === 'pin' ? 'PIN' : f.charAt(0).toUpperCase() + f.slice(1)} ${msgs.join(', ')}`; placed = true; }
    }
    $('#staff-form-error').textContent = placed ? 'Please correct the marked fields.' : `Not added: ${describeError(e)}`;
    return;
  }
  notify(`${body.staff.name} can now sign in on the tablet.`);
  $('#staff-name-input').value = '';
  $('#staff-pin').value = '';
  await loadMembers();
}

async function loadMembers() {
  const status = $('#members-status');
  let members;
  try {
    members = await api('GET', storePath('/staff'));
  } catch (e) {
    status.textContent = `Could not load the staff: ${describeError(e)}`;
    return;
  }
  status.textContent = members.length ? '' : 'No staff members yet: add the first below (add yourself as an owner too).';
  $('#members-list').replaceChildren(...members.map(memberItem));
}

const lockedNote = (until) => (until ? `Locked out by wrong PINs until ${formatWhen(until)}` : null);

function memberItem(m) {
  const change = (attrs, done) => act(() => api('PATCH', storePath(`/staff/${m.id}`), { body: { staff: attrs } }), done);
  const pinSlot = h('div', { class: 'row' });
  return h('li', { class: 'poster-item', dataset: { id: m.id } },
    h('h3', null, m.name, h('span', { class: m.role === 'owner' ? 'badge on' : 'badge', text: ROLES[m.role] || m.role }),
      m.active ? null : h('span', { class: 'badge', text: 'Inactive' })),
    m.locked_until ? h('p', { class: 'error locked', text: lockedNote(m.locked_until) }) : null,
    h('div', { class: 'row' },
      m.locked_until ? h('button', { type: 'button', class: 'primary', text: 'Unlock', onclick: () => act(() => api('POST', storePath(`/staff/${m.id}/unlock`)), `${m.name} can try their PIN again.`) }) : null,
      h('button', { type: 'button', class: 'secondary', text: 'Change PIN', onclick: () => pinSlot.replaceChildren(newPinForm(m, change)) }),
      m.active
        ? h('button', { type: 'button', class: 'danger', text: 'Deactivate', onclick: () => deactivate(m, change) })
        : h('button', { type: 'button', class: 'secondary', text: 'Reactivate', onclick: () => change({ active: true }, `${m.name} is active again.`) })),
    pinSlot);
}

function newPinForm(m, change) {
  const id = `new-pin-${m.id}`;
  const input = h('input', { id, type: 'password', inputmode: 'numeric', autocomplete: 'new-password', maxlength: '8' });
  const form = h('form', { class: 'inline-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); change({ pin: input.value.trim() }, `${m.name}'s PIN is changed.`); } },
    h('label', { for: id, text: `New PIN for ${m.name}` }), input,
    h('button', { type: 'submit', class: 'primary', text: 'Save PIN' }));
  setTimeout(() => input.focus());
  return form;
}

async function deactivate(m, change) {
  const ok = await confirmDialog({ title: `Deactivate ${m.name}?`, text: 'They are signed out at once and can no longer sign in. Their stamps stay in the ledger under their name.', ok: 'Deactivate', danger: true });
  if (ok) change({ active: false }, `${m.name} is deactivated.`);
}

async function act(work, done) {
  try {
    await work();
  } catch (e) {
    notify(`Not done: ${describeError(e)}`, true);
    return;
  }
  if (done) notify(done);
  await Promise.all([loadMembers(), loadDevices()]);
}

// ---------------------------------------------------------------- tablets

async function showPairingCode() {
  let code;
  try {
    code = await busy($('#pair-tablet'), 'Making a code…', () => api('POST', storePath('/devices/pairing_codes'), { body: { name: 'Counter tablet' } }));
  } catch (e) {
    notify(`No pairing code: ${describeError(e)}`, true);
    return;
  }
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(code.qr_svg)}`;
  $('#pairing-slot').replaceChildren(h('div', { class: 'panel pairing', id: 'pairing-code-panel', role: 'region', 'aria-labelledby': 'pairing-title' },
    h('div', null,
      h('h3', { id: 'pairing-title', text: 'Pair a tablet' }),
      h('p', { text: 'On the tablet, open this stampd and tap “Pair this tablet”, then type:' }),
      h('p', { class: 'pairing-code', id: 'pairing-code', text: code.code }),
      h('p', { class: 'hint', text: `Or scan the QR code with the tablet’s camera. The code works once, until ${formatWhen(code.expires_at)}.` }),
      h('p', { class: 'hint' }, h('span', { text: 'Link: ' }), h('code', { id: 'pairing-url', text: code.pair_url })),
      h('button', { type: 'button', class: 'secondary', text: 'Done', onclick: () => { $('#pairing-slot').replaceChildren(); loadDevices(); } })),
    h('img', { src: qr, alt: `QR code to pair a tablet, code ${code.code}`, width: '240', height: '240' })));
  $('#pairing-code-panel').scrollIntoView({ block: 'center' });
}

async function loadDevices() {
  const status = $('#devices-status');
  let devices;
  try {
    devices = await api('GET', storePath('/devices'));
  } catch (e) {
    status.textContent = `Could not load the tablets: ${describeError(e)}`;
    return;
  }
  const live = devices.filter((d) => !d.revoked_at);
  status.textContent = live.length ? '' : 'No tablet is paired yet.';
  $('#devices-list').replaceChildren(...live.map(deviceItem));
}

function deviceItem(d) {
  const mine = session.device && session.device.id === d.id;
  return h('li', { class: 'poster-item', dataset: { id: d.id } },
    h('h3', null, d.name, mine ? h('span', { class: 'badge on', text: 'This tablet' }) : null),
    h('p', { class: 'facts', text: `Paired ${formatWhen(d.created_at)} · ${d.last_used_at ? `last used ${formatWhen(d.last_used_at)}` : 'not used yet'}` }),
    d.locked_until ? h('p', { class: 'error locked', text: lockedNote(d.locked_until) }) : null,
    h('div', { class: 'row' },
      d.locked_until ? h('button', { type: 'button', class: 'primary', text: 'Unlock', onclick: () => act(() => api('POST', storePath(`/devices/${d.id}/unlock`)), `${d.name} takes PINs again.`) }) : null,
      mine ? null : h('button', { type: 'button', class: 'danger', text: 'Revoke', onclick: () => revoke(d) })));
}

async function revoke(d) {
  const ok = await confirmDialog({ title: `Revoke ${d.name}?`, text: 'Its token stops working at once and its staff are signed out. Pair it again with a new code to use it.', ok: 'Revoke', danger: true });
  if (ok) act(() => api('DELETE', storePath(`/devices/${d.id}`)), `${d.name} is revoked.`);
}
