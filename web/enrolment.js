// The ways into a card beyond the enrol form's first try: "Add a card" for a customer
// who has none or joins another; "Open <that customer>" when the email or phone given
// at enrolment is someone's already; and the truth about card links — whether email
// and SMS are set up, and whether phones can open the links and QR codes at all
// (GET /accounts/:id/card_links).
import { HttpError, api, describeError, sendReliably } from './api.js';
import { cardIsClosed, catalog, loadCatalog } from './catalog.js';
import { openCustomerFrom } from './customer.js';
import { session, storePath } from './session.js';
import {
  $, busy, clearFieldErrors, fullName, h, notify, plural, showFieldErrors, showFormError,
} from './ui.js';
import { cardTitle } from './words.js';

let setup = null;

// What stampd says about card links, once per store and page load.
export async function linkSetup() {
  if (setup && setup.storeId === session.storeId) return setup.value;
  try {
    const value = await api('GET', storePath('/card_links'));
    setup = { storeId: session.storeId, value };
    return value;
  } catch (_) {
    return null;
  }
}

// The warning as last loaded, for screens drawn without waiting (the QR codes).
export const currentLinkWarning = () => (setup && setup.storeId === session.storeId && setup.value.warning) || null;

// Where the owner is told that phones cannot open the links (the Find screen and the
// QR code shown after enrolment).
export async function showLinkWarnings() {
  const s = await linkSetup();
  for (const el of document.querySelectorAll('.link-warning')) {
    el.hidden = !(s && s.warning);
    el.textContent = s && s.warning ? `For the owner: ${s.warning}.` : '';
  }
}

// What to say after enrolling about the card link: only what will happen.
export async function cardLinkNews(customer, asked) {
  const s = await linkSetup();
  if (!s) return '';
  if (!s.email && !s.sms) return ' Email and text messages are not set up – show the QR code.';
  if (!asked) return '';
  const ways = [];
  if (customer.email && s.email) ways.push('email');
  if (customer.phone && s.sms) ways.push('text message');
  if (ways.length) return ` The card link is on its way by ${ways.join(' and ')}.`;
  const missing = customer.email && !s.email ? 'email is not set up' : 'text messages are not set up';
  return ` No card link was sent (${customer.email || customer.phone ? missing : 'no email or phone'}) – show the QR code.`;
}

// The enrol form's checkbox says what it will do, and is off when nothing can be sent.
export async function describeSendBox() {
  const s = await linkSetup();
  const box = $('#enrol-send_card_links');
  const label = $('label[for=enrol-send_card_links]');
  if (!s) return;
  const ways = [s.email ? 'email' : null, s.sms ? 'text message' : null].filter(Boolean);
  box.disabled = ways.length === 0;
  if (!ways.length) box.checked = false;
  label.textContent = ways.length
    ? `Send the card link by ${ways.join(' and ')}`
    : 'Email and text messages are not set up: show the customer the QR code instead';
}

// After a 422 for an email or phone someone has: a button beside the field that
// opens that customer instead.
export async function offerExisting(err) {
  for (const field of ['email', 'phone']) {
    const taken = (err.fieldErrors[field] || []).some((m) => /taken/.test(m));
    const value = document.getElementById(`enrol-${field}`).value.trim();
    if (!taken || !value) continue;
    let found;
    try {
      const data = await api('GET', storePath(`/customers?${new URLSearchParams({ search: value, items: '1' })}`));
      [found] = data.customers;
    } catch (_) {
      found = null;
    }
    if (!found) continue;
    const slot = document.getElementById(`enrol-${field}-error`);
    slot.append(' ', h('button', {
      type: 'button',
      class: 'secondary open-existing',
      dataset: { customerId: found.id },
      onclick: () => openCustomerFrom(found, null),
    }, `Open ${fullName(found)}`));
  }
}

// ---------------------------------------------------------------- "Add a card"

const shownCustomer = () => {
  const m = location.hash.match(/^#\/customer\/(\d+)$/);
  return m ? Number(m[1]) : null;
};

async function openAddCard() {
  const id = shownCustomer();
  if (!id) return;
  const form = $('#add-card-form');
  clearFieldErrors('add-card');
  $('#add-card-form-error').textContent = '';
  let customer;
  try {
    [customer] = await Promise.all([api('GET', storePath(`/customers/${id}`)), loadCatalog(true)]);
  } catch (e) {
    notify(`Could not load the cards: ${describeError(e)}`, true);
    return;
  }
  const held = new Set(customer.customer_cards.map((cc) => cc.card_id));
  const open = [...catalog.cards.values()].filter((c) => !cardIsClosed(c) && !held.has(c.id));
  const select = $('#add-card-card_id');
  select.replaceChildren(...open.map((c) => h('option', { value: c.id }, `${cardTitle(c.name)} (${plural(c.stamps_required, 'stamp')})`)));
  form.hidden = false;
  $('#add-card').hidden = true;
  $('#add-card-submit').disabled = open.length === 0;
  $('#add-card-none').hidden = open.length > 0;
  (open.length ? select : $('#add-card-cancel')).focus();
}

function closeAddCard() {
  $('#add-card-form').hidden = true;
  $('#add-card').hidden = false;
  $('#add-card').focus();
}

async function addCard(event) {
  event.preventDefault();
  const id = shownCustomer();
  const cardId = Number($('#add-card-card_id').value);
  if (!id || !cardId) return;
  clearFieldErrors('add-card');
  const op = { method: 'POST', path: storePath(`/customers/${id}/customer_cards`), body: { card_id: cardId } };
  let cc;
  try {
    cc = await busy($('#add-card-submit'), 'Adding…', () => sendReliably(op));
  } catch (e) {
    if (e instanceof HttpError && e.status === 422) showFieldErrors('add-card', e);
    else showFormError('add-card', `Not added: ${describeError(e)}`);
    return;
  }
  $('#add-card-form').hidden = true;
  $('#add-card').hidden = false;
  const customer = await api('GET', storePath(`/customers/${id}`)).catch(() => null);
  notify(`${cardTitle(cc.card_name)} added.`);
  if (customer) openCustomerFrom(customer, cc.id, true);
}

export function wireEnrolment() {
  $('#add-card').addEventListener('click', openAddCard);
  $('#add-card-cancel').addEventListener('click', closeAddCard);
  $('#add-card-form').addEventListener('submit', addCard);
  window.addEventListener('hashchange', () => {
    $('#add-card-form').hidden = true;
    $('#add-card').hidden = false;
  });
}
