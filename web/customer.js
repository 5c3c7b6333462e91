// The customer screen: contact details (editable) and each of the customer's cards,
// where staff give stamps, redeem rewards and undo. Stamps and redemptions go through
// the queues of `queue.js`, so they survive leaving the screen.
import { HttpError, api, describeError, sendReliably } from './api.js';
import { loadCatalog } from './catalog.js';
import { cardSection, webCardQr } from './customer-card.js';
import {
  OP_TEXT, addMessage, cancelOp, drawQueue, enqueue, opWaits, queueFor, retryOp, showQueuesWith,
} from './queue.js';
import { go, route, showView } from './router.js';
import { storePath } from './session.js';
import { stampIsMeant, tallyStamp } from './stamp-guard.js';
import { cardTitle, formatDay, formatPhone } from './words.js';
import {
  $, busy, clearFieldErrors, confirmDialog, focusHeading, formatDate, fullName, h,
  notify, plural, showFieldErrors, showFormError,
} from './ui.js';

let customerScreen = null;
// What the next customer screen opens with: the customer as the search or enrolment
// returned it (drawn at once, then reloaded), the card to highlight, and the card whose
// QR code to show large after enrolment.
let prefetchedCustomer = null;
let highlightCard = null;
let welcomeCard = null;

export function openCustomerFrom(customer, ccId, welcome = false) {
  customerScreen = null;
  prefetchedCustomer = customer;
  highlightCard = ccId;
  welcomeCard = welcome ? ccId : null;
  go(`#/customer/${customer.id}`);
}

export async function openCustomer(id) {
  showView('customer');
  $('#customer-form').hidden = true;
  $('#edit-customer').hidden = false;
  $('#customer-error').hidden = true;
  $('#customer-welcome').hidden = true;
  const fromList = prefetchedCustomer && prefetchedCustomer.id === id ? prefetchedCustomer : null;
  const screen = {
    id,
    customer: null,
    cards: new Map(),
    events: new Map(),
    severalValue: new Map(),
    qrOpen: new Set(),
    highlight: fromList ? highlightCard : null,
    welcome: fromList ? welcomeCard : null,
  };
  prefetchedCustomer = null;
  highlightCard = null;
  welcomeCard = null;
  customerScreen = screen;
  if (fromList) {
    screen.customer = fromList;
    drawCustomer(screen);
  } else {
    $('#customer-name').textContent = 'Loading…';
    $('#customer-contact').replaceChildren();
    $('#customer-cards').replaceChildren();
  }
  focusHeading('customer-name');
  try {
    const [customer] = await Promise.all([
      api('GET', storePath(`/customers/${id}`)),
      loadCatalog(true),
    ]);
    if (customerScreen !== screen) return;
    screen.customer = customer;
    drawCustomer(screen);
    for (const cc of customer.customer_cards) loadEvents(screen, cc.id);
  } catch (e) {
    if (customerScreen !== screen) return;
    const panel = $('#customer-error');
    panel.hidden = false;
    if (e instanceof HttpError && e.status === 404) {
      panel.replaceChildren(h('p', { text: 'This customer is not in this store (any more).' }));
      $('#customer-name').textContent = 'Customer not found';
      $('#edit-customer').hidden = true;
      $('#customer-cards').replaceChildren();
    } else {
      panel.replaceChildren(
        h('p', { text: `Could not load this customer: ${describeError(e)}` }),
        h('button', { type: 'button', class: 'secondary', onclick: () => route(true) }, 'Try again'),
      );
    }
  }
}

function drawCustomer(screen) {
  const c = screen.customer;
  drawContact(c);
  for (const cc of c.customer_cards) screen.cards.set(cc.id, cc);
  drawWelcome(screen);
  const container = $('#customer-cards');
  if (!c.customer_cards.length) {
    container.replaceChildren(h('p', { class: 'no-cards', text: 'This customer has no card yet.' }));
    return;
  }
  container.replaceChildren(...c.customer_cards.map((cc) => cardSection(screen, cc.id, act)));
  for (const cc of c.customer_cards) drawQueue(queueFor(c.id, cc.id));
}

function drawContact(c) {
  $('#customer-name').textContent = fullName(c);
  const rows = [];
  const row = (label, value) => { if (value) rows.push(h('dt', { text: label }), h('dd', { text: value })); };
  row('Email', c.email);
  row('Phone', formatPhone(c.phone));
  row('Birthday', formatDate(c.birthday));
  row('Stamps', String(c.stamp_count));
  row('Customer since', formatDay(c.created_at));
  $('#customer-contact').replaceChildren(...rows);
}

function replaceCardSection(screen, ccId) {
  if (customerScreen !== screen) return;
  const old = document.getElementById(`cc-${ccId}`);
  if (!old) return;
  const fid = document.activeElement && old.contains(document.activeElement)
    ? document.activeElement.dataset.fid : null;
  const fresh = cardSection(screen, ccId, act);
  old.replaceWith(fresh);
  drawQueue(queueFor(screen.id, ccId));
  if (fid) {
    const again = fresh.querySelector(`[data-fid="${fid}"]`);
    if (again) again.focus();
    else {
      const plus = fresh.querySelector('.plus-one');
      if (plus) plus.focus();
    }
  }
}

// What the buttons of a card section do.
const act = {
  stamp, removeStamps, undo, redeem, redraw: replaceCardSection,
};

function drawWelcome(screen) {
  const box = $('#customer-welcome');
  const cc = screen.welcome && screen.cards.get(screen.welcome);
  if (!cc) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const qr = webCardQr(cc, screen.customer, true);
  qr.append(h('button', {
    type: 'button',
    class: 'secondary',
    onclick: () => {
      const ccId = screen.welcome;
      screen.welcome = null;
      drawWelcome(screen);
      replaceCardSection(screen, ccId);
      const plus = document.querySelector(`#cc-${ccId} .plus-one`);
      if (plus) plus.focus();
    },
  }, 'Done: hide the QR code'));
  box.replaceChildren(qr);
  box.hidden = false;
}

// Draws a queue's requests and messages under its card, when that card is on screen.
function drawOps(q) {
  if (!customerScreen || customerScreen.id !== q.customerId) return;
  const list = document.getElementById(`cc-${q.ccId}-ops`);
  if (!list) return;
  const focused = document.activeElement && list.contains(document.activeElement)
    ? document.activeElement.dataset.fid : null;
  const items = q.ops.map((op, i) => h('li', { class: `op ${op.state}`, dataset: { state: op.state } },
    h('span', { text: (OP_TEXT[op.state] || OP_TEXT.sending)(op) }),
    i === 0 && opWaits(op) ? [
      h('button', { type: 'button', class: 'primary', dataset: { fid: 'retry' }, onclick: () => retryOp(q) }, 'Send now'),
      h('button', { type: 'button', class: 'secondary', dataset: { fid: 'cancel' }, onclick: () => cancelOp(q) }, 'Cancel'),
    ] : null));
  for (const m of q.messages) {
    items.push(h('li', { class: `op ${m.kind}`, dataset: { state: m.kind } },
      h('span', { text: m.text }),
      h('button', {
        type: 'button',
        class: 'quiet',
        dataset: { fid: `dismiss-${m.id}` },
        'aria-label': 'Dismiss message',
        onclick: () => {
          q.messages = q.messages.filter((x) => x !== m);
          drawQueue(q);
          const plus = document.querySelector(`#cc-${q.ccId} .plus-one`);
          if (plus) plus.focus();
        },
      }, '✕')));
  }
  list.replaceChildren(...items);
  if (focused) {
    const again = list.querySelector(`[data-fid="${focused}"]`);
    if (again) again.focus();
  }
  const section = document.getElementById(`cc-${q.ccId}`);
  if (section) section.setAttribute('aria-busy', q.ops.some((op) => !opWaits(op)) ? 'true' : 'false');
}

const ccPath = (customerId, ccId, rest = '') => storePath(`/customers/${customerId}/customer_cards/${ccId}${rest}`);

async function loadEvents(screen, ccId) {
  try {
    const data = await api('GET', ccPath(screen.id, ccId, '/events?items=5'));
    screen.events.set(ccId, data.events);
  } catch (e) {
    const list = [];
    list.error = describeError(e);
    screen.events.set(ccId, list);
  }
  replaceCardSection(screen, ccId);
}

// Applies a card as stampd returned it, to whichever screen of that customer is open.
function applyCard(customerId, card) {
  const screen = customerScreen;
  if (!screen || screen.id !== customerId || !screen.customer) return;
  screen.cards.set(card.id, card);
  screen.customer.customer_cards = screen.customer.customer_cards.map((cc) => (cc.id === card.id ? card : cc));
  screen.customer.stamp_count = screen.customer.customer_cards.reduce((n, cc) => n + cc.stamps_count, 0);
  drawContact(screen.customer);
  replaceCardSection(screen, card.id);
  loadEvents(screen, card.id);
}

async function refreshCard(q) {
  try {
    const card = await api('GET', ccPath(q.customerId, q.ccId));
    applyCard(q.customerId, card);
  } catch (e) {
    addMessage(q, 'refused', `Could not reload the card: ${describeError(e)}`);
    drawQueue(q);
  }
}

const stampWord = (n) => (n === 1 ? '1 stamp' : `${n} stamps`);

async function stamp(screen, ccId, n, tap = false) {
  const q = queueFor(screen.id, ccId);
  const cc = screen.cards.get(ccId);
  const meant = await stampIsMeant({ screen, cc, q, n, tap });
  if (meant.sameTap) {
    addMessage(q, 'info', 'Counted once: taps less than a second apart are one stamp.');
    drawQueue(q);
    return;
  }
  if (!meant.given) return;
  enqueue(q, {
    kind: 'stamp',
    label: n === 1 ? '+1 stamp' : `+${n} stamps`,
    stamps: n,
    method: 'POST',
    path: ccPath(screen.id, ccId, '/stamp'),
    body: { stamps: n },
  });
}

// What a request that got through does to the screen, by its kind (a request may
// finish after a reload, with no screen of its own).
const done = {
  stamp: async (q, op, card) => {
    const screen = customerScreen && customerScreen.id === q.customerId ? customerScreen : null;
    const visit = screen ? tallyStamp(q, screen, op.stamps) : op.stamps;
    const tally = visit > op.stamps ? ` (+${visit} this visit)` : '';
    addMessage(q, 'done', `${stampWord(op.stamps)} given${tally}: ${card.stamps_count} on the card.`);
    applyCard(q.customerId, card);
  },
  correction: async (q, op, card) => {
    addMessage(q, 'done', `${op.label.startsWith('Undo') ? 'Undone' : 'Removed'}: ${plural(-op.stamps, 'stamp')} taken off, ${card.stamps_count} on the card.`);
    applyCard(q.customerId, card);
  },
  redeem: async (q, op, result) => {
    const r = result.redemption;
    addMessage(q, 'done', `Redeemed ${r.reward_name}: ${plural(r.stamps_spent, 'stamp')} spent, ${r.stamps_remaining} left.`);
    const screen = customerScreen && customerScreen.id === q.customerId ? customerScreen : null;
    if (screen && screen.customer) notify(`Redeemed ${r.reward_name} for ${fullName(screen.customer)}.`);
    await refreshCard(q);
  },
};

async function removeStamps(screen, ccId, n) {
  const cc = screen.cards.get(ccId);
  const ok = await confirmDialog({
    title: `Remove ${plural(n, 'stamp')}?`,
    text: `This corrects ${fullName(screen.customer)}'s ${cardTitle(cc.card_name)} from ${cc.stamps_count} to ${cc.stamps_count - n} stamps.`,
    ok: `Remove ${plural(n, 'stamp')}`,
    danger: true,
  });
  if (!ok) return;
  correction(screen, ccId, n, 'Corrected at the counter', false);
}

function undo(screen, ccId) {
  const q = queueFor(screen.id, ccId);
  if (!q.lastStamp) return;
  const { stamps: n } = q.lastStamp;
  correction(screen, ccId, n, 'Undo at the counter', true);
}

function correction(screen, ccId, n, note, isUndo) {
  const q = queueFor(screen.id, ccId);
  q.lastStamp = null;
  enqueue(q, {
    kind: 'correction',
    label: isUndo ? `Undo of +${n}` : `Removing ${plural(n, 'stamp')}`,
    stamps: -n,
    method: 'POST',
    path: ccPath(screen.id, ccId, '/stamp'),
    body: { stamps: -n, note },
  });
  replaceCardSection(screen, ccId);
}

async function redeem(screen, ccId, reward) {
  const cc = screen.cards.get(ccId);
  const ok = await confirmDialog({
    title: `Redeem ${reward.name}?`,
    text: `${fullName(screen.customer)} gets ${reward.name}${reward.description ? ` (${reward.description})` : ''}. `
      + `${plural(reward.stamps_required, 'stamp')} come off the ${cardTitle(cc.card_name)}: ${cc.stamps_count} → ${cc.stamps_count - reward.stamps_required}.`,
    ok: 'Redeem',
  });
  if (!ok) return;
  const q = queueFor(screen.id, ccId);
  q.lastStamp = null;
  enqueue(q, {
    kind: 'redeem',
    label: `Redeeming ${reward.name}`,
    method: 'POST',
    path: ccPath(screen.id, ccId, '/redeem'),
    body: { reward_id: reward.id },
  });
  replaceCardSection(screen, ccId);
}

function openCustomerForm() {
  const c = customerScreen && customerScreen.customer;
  if (!c) return;
  clearFieldErrors('edit');
  $('#customer-form-error').textContent = '';
  for (const f of ['first_name', 'last_name', 'email', 'phone', 'birthday']) {
    document.getElementById(`edit-${f}`).value = c[f] || '';
  }
  $('#customer-form').hidden = false;
  $('#edit-customer').hidden = true;
  $('#edit-first_name').focus();
}

function closeCustomerForm() {
  $('#customer-form').hidden = true;
  $('#edit-customer').hidden = false;
  $('#edit-customer').focus();
}

async function saveCustomer(event) {
  event.preventDefault();
  const screen = customerScreen;
  if (!screen || !screen.customer) return;
  const attrs = {};
  for (const f of ['first_name', 'last_name', 'email', 'phone', 'birthday']) {
    const v = document.getElementById(`edit-${f}`).value.trim();
    attrs[f] = v === '' ? null : v;
  }
  clearFieldErrors('edit');
  $('#customer-form-error').textContent = '';
  const op = { method: 'PATCH', path: storePath(`/customers/${screen.id}`), body: { customer: attrs } };
  const button = $('#customer-form button[type=submit]');
  try {
    const customer = await busy(button, 'Saving…', () => sendReliably(op));
    if (customerScreen !== screen) return;
    screen.customer = customer;
    drawCustomer(screen);
    closeCustomerForm();
    notify('Details saved.');
  } catch (e) {
    if (e instanceof HttpError && e.status === 422) showFieldErrors('edit', e);
    else showFormError('customer-form', `Not saved: ${describeError(e)}`);
  }
}

export function wireCustomer() {
  showQueuesWith({ draw: drawOps, reload: refreshCard, done });
  $('#edit-customer').addEventListener('click', openCustomerForm);
  $('#customer-form').addEventListener('submit', saveCustomer);
  $('#customer-form-cancel').addEventListener('click', closeCustomerForm);
}
