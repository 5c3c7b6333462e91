// Enrolling a new customer, with the API's messages beside the fields; then the
// customer's screen shows the new card's QR code for their phone.
import { HttpError, describeError, sendReliably } from './api.js';
import { cardIsClosed, catalog, loadCatalog } from './catalog.js';
import { openCustomerFrom } from './customer.js';
import { cardLinkNews, describeSendBox, offerExisting } from './enrolment.js';
import { showView } from './router.js';
import { storePath } from './session.js';
import {
  $, busy, clearFieldErrors, focusHeading, fullName, h, notify, plural, showFieldErrors, showFormError,
} from './ui.js';

export async function openEnrol() {
  showView('enrol');
  focusHeading('enrol-title');
  const select = $('#enrol-card_id');
  const chosen = select.value;
  try {
    await loadCatalog(true);
  } catch (e) {
    showFormError('enrol', `Could not load the cards: ${describeError(e)}`);
    return;
  }
  // Only the cards that still take new customers.
  const open = [...catalog.cards.values()].filter((c) => !cardIsClosed(c));
  const options = open.map((c) => h('option', { value: c.id }, `${c.name} (${plural(c.stamps_required, 'stamp')})`));
  options.push(h('option', { value: '' }, 'No card for now'));
  select.replaceChildren(...options);
  if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
  $('#enrol-first_name').focus();
  await describeSendBox();
}

async function enrol(event) {
  event.preventDefault();
  clearFieldErrors('enrol');
  $('#enrol-form-error').textContent = '';
  const customer = {};
  for (const f of ['first_name', 'last_name', 'email', 'phone', 'birthday']) {
    const v = document.getElementById(`enrol-${f}`).value.trim();
    if (v !== '') customer[f] = v;
  }
  const body = { customer };
  const cardId = $('#enrol-card_id').value;
  if (cardId) {
    body.card_id = Number(cardId);
    body.send_card_links = $('#enrol-send_card_links').checked;
  }
  const op = { method: 'POST', path: storePath('/customers'), body };
  let created;
  try {
    created = await busy($('#enrol-submit'), 'Enrolling…', () => sendReliably(op));
  } catch (e) {
    if (e instanceof HttpError && e.status === 422) {
      showFieldErrors('enrol', e);
      await offerExisting(e);
    } else {
      showFormError('enrol', `Not enrolled: ${describeError(e)}`);
    }
    return;
  }
  $('#enrol-form').reset();
  $('#enrol-send_card_links').checked = !$('#enrol-send_card_links').disabled;
  const newCard = created.customer_card ? created.customer_card.id : null;
  const sent = newCard ? await cardLinkNews(created, body.send_card_links) : '';
  notify(`${fullName(created)} is enrolled.${sent}`);
  openCustomerFrom(created, newCard, true);
}

export function wireEnrol() {
  $('#enrol-form').addEventListener('submit', enrol);
}
