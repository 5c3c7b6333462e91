// The store's signup posters: the list, each with its signup link and its printable
// poster; a form to create or change one; activating, deactivating and deleting.
// Paper sizes, contact modes, a new poster's design and the limits come from stampd
// (`vocab.js`).
import { HttpError, api, describeError, sendReliably } from './api.js';
import { catalog, cardIsClosed, loadCatalog } from './catalog.js';
import { isHexColour } from './card-face.js';
import { showView } from './router.js';
import { storePath } from './session.js';
import {
  $, $$, busy, clearFieldErrors, confirmDialog, focusHeading, h, notify, showFieldErrors, showFormError,
} from './ui.js';
import { CONTACT_MODES, LIMITS, PAPER_SIZES, POSTER_DEFAULTS } from './vocab.js';

const MODE_LABELS = { email_and_phone: 'Email and phone', email_only: 'Email only', phone_only: 'Phone only' };
const COLOURS = [['primary_color', 'Background colour'], ['secondary_color', 'Accent colour'], ['text_color', 'Text colour']];
const FLAGS = ['require_email', 'require_phone', 'require_birthday', 'active'];

// The poster in the form: `undefined` while the form is closed, `null` for a new one.
let editing;

const modeLabel = (mode) => MODE_LABELS[mode] || mode.replace(/_/g, ' ');
const paperLabel = (size) => (size.length <= 2 ? size.toUpperCase() : `${size[0].toUpperCase()}${size.slice(1)}`);
const cardName = (id) => (catalog.cards.has(id) ? catalog.cards.get(id).name : `Card ${id}`);

export async function openPosters() {
  showView('posters');
  closeForm();
  focusHeading('posters-title');
  await loadPosters();
}

async function loadPosters() {
  const status = $('#posters-status');
  status.textContent = 'Loading posters…';
  let posters;
  try {
    await loadCatalog();
    fillCardSelects();
    const card = $('#posters-card').value;
    posters = await api('GET', storePath(`/posters${card ? `?card_id=${card}` : ''}`));
  } catch (e) {
    status.textContent = `Could not load the posters: ${describeError(e)}`;
    return;
  }
  status.textContent = posters.length ? ''
    : 'No posters here yet. Create one, print it and put it up where customers wait.';
  $('#posters-list').replaceChildren(...posters.map(posterItem));
}

// The filter offers every card; a new poster only the cards that take customers.
function fillCardSelects() {
  const cards = [...catalog.cards.values()];
  const filter = $('#posters-card');
  const shown = filter.value;
  filter.replaceChildren(h('option', { value: '' }, 'All cards'),
    ...cards.map((c) => h('option', { value: c.id }, c.name)));
  filter.value = catalog.cards.has(Number(shown)) ? shown : '';
  const select = $('#poster-card_id');
  const picked = select.value;
  select.replaceChildren(...cards.filter((c) => !cardIsClosed(c)).map((c) => h('option', { value: c.id }, c.name)));
  if (picked) select.value = picked;
}

function posterItem(p) {
  const asks = [modeLabel(p.contact_collection_mode)];
  if (p.require_birthday) asks.push(p.minimum_age ? `birthday, ${p.minimum_age}+` : 'birthday');
  return h('li', { class: 'poster-item', dataset: { posterId: p.id }, style: { '--poster': p.primary_color } },
    h('h2', {},
      h('span', { text: p.title }),
      h('span', { class: `badge${p.active ? ' on' : ''}`, text: p.active ? 'Active' : 'Inactive' })),
    h('p', { class: 'facts', text: `${cardName(p.card_id)} · asks for ${asks.join(', ').toLowerCase()} · ${paperLabel(p.paper_size)}` }),
    h('p', { class: 'facts' }, 'Signup link: ',
      h('a', { class: 'link signup', href: p.signup_url, target: '_blank', rel: 'noopener', text: p.signup_url })),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary edit', 'aria-label': `Edit ${p.title}`, onclick: () => openForm(p) }, 'Edit'),
      p.active
        ? h('a', { class: 'button secondary open', href: p.display_url, target: '_blank', rel: 'noopener', 'aria-label': `Open the printable poster ${p.title}` }, 'Open poster')
        : null,
      h('button', {
        type: 'button',
        class: `${p.active ? 'quiet' : 'secondary'} toggle`,
        'aria-label': `${p.active ? 'Deactivate' : 'Activate'} ${p.title}`,
        onclick: () => setActive(p, !p.active),
      }, p.active ? 'Deactivate' : 'Activate'),
      h('button', { type: 'button', class: 'danger delete', 'aria-label': `Delete ${p.title}`, onclick: () => deletePoster(p) }, 'Delete')));
}

function openForm(poster) {
  editing = poster;
  const p = poster || { ...POSTER_DEFAULTS, title: '' };
  clearFieldErrors('poster');
  $('#poster-form-error').textContent = '';
  $('#poster-form').hidden = false;
  $('#poster-form-title').textContent = poster ? `Edit poster: ${poster.title}` : 'New poster';
  $('#poster-save').textContent = poster ? 'Save poster' : 'Create poster';
  const card = $('#poster-card_id');
  if (poster && !$(`option[value="${poster.card_id}"]`, card)) {
    card.append(h('option', { value: poster.card_id }, cardName(poster.card_id)));
  }
  if (poster) card.value = String(poster.card_id);
  card.disabled = Boolean(poster);
  $('#poster-title').value = p.title;
  $('#poster-contact_collection_mode').value = p.contact_collection_mode;
  $('#poster-paper_size').value = p.paper_size;
  for (const f of FLAGS) $(`#poster-${f}`).checked = Boolean(p[f]);
  $('#poster-minimum_age').value = p.minimum_age == null ? '' : p.minimum_age;
  for (const [f] of COLOURS) $(`#poster-${f}`).value = p[f];
  syncForm();
  $('#poster-form-title').focus();
}

function closeForm() {
  editing = undefined;
  $('#poster-form').hidden = true;
}

// The form keeps to what the poster asks: a field that is not collected cannot be
// required, and an age needs the birthday.
function syncForm() {
  const mode = $('#poster-contact_collection_mode').value;
  $('#poster-require_email').disabled = mode === 'phone_only';
  $('#poster-require_phone').disabled = mode === 'email_only';
  $('#poster-minimum_age').disabled = !$('#poster-require_birthday').checked;
  $$('#poster-form input[type=color]').forEach((picker) => {
    const text = document.getElementById(picker.dataset.for);
    if (isHexColour(text.value)) picker.value = text.value.toLowerCase();
  });
}

function formValues() {
  const v = {
    title: $('#poster-title').value.trim() || null,
    contact_collection_mode: $('#poster-contact_collection_mode').value,
    paper_size: $('#poster-paper_size').value,
  };
  for (const f of FLAGS) v[f] = $(`#poster-${f}`).checked;
  const age = $('#poster-minimum_age').value.trim();
  v.minimum_age = !v.require_birthday || age === '' ? null : (/^\d+$/.test(age) ? Number(age) : age);
  for (const [f] of COLOURS) v[f] = $(`#poster-${f}`).value.trim() || null;
  return v;
}

async function savePoster(event) {
  event.preventDefault();
  if (editing === undefined) return;
  clearFieldErrors('poster');
  $('#poster-form-error').textContent = '';
  const values = formValues();
  const op = editing
    ? { method: 'PATCH', path: storePath(`/posters/${editing.id}`), body: { poster: values } }
    : { method: 'POST', path: storePath('/posters'), body: { poster: { ...values, card_id: Number($('#poster-card_id').value) || null } } };
  let poster;
  try {
    poster = await busy($('#poster-save'), 'Saving…', () => sendReliably(op));
  } catch (e) {
    if (e instanceof HttpError && e.status === 422) showFieldErrors('poster', e);
    else showFormError('poster', `Not saved: ${describeError(e)}`);
    return;
  }
  notify(editing ? `Saved ${poster.title}.` : `Created ${poster.title}.`);
  closeForm();
  await loadPosters();
  const item = $(`#posters-list li[data-poster-id="${poster.id}"] button.edit`);
  if (item) item.focus();
}

async function setActive(p, active) {
  try {
    await sendReliably({ method: 'PATCH', path: storePath(`/posters/${p.id}`), body: { poster: { active } } });
  } catch (e) {
    notify(`Could not ${active ? 'activate' : 'deactivate'} ${p.title}: ${describeError(e)}`, true);
    return;
  }
  notify(active ? `${p.title} takes signups again.` : `${p.title} is inactive: its signup page takes no one.`);
  await loadPosters();
  const toggle = $(`#posters-list li[data-poster-id="${p.id}"] button.toggle`);
  if (toggle) toggle.focus();
}

async function deletePoster(p) {
  const ok = await confirmDialog({
    title: `Delete ${p.title}?`,
    text: 'Its QR code and signup link stop working. Customers who joined keep their cards.',
    ok: 'Delete poster',
    danger: true,
  });
  if (!ok) return;
  try {
    await api('DELETE', storePath(`/posters/${p.id}`));
  } catch (e) {
    notify(`Could not delete ${p.title}: ${describeError(e)}`, true);
    return;
  }
  if (editing && editing.id === p.id) closeForm();
  notify(`Deleted ${p.title}.`);
  await loadPosters();
  $('#new-poster').focus();
}

export function wirePosters() {
  $('#poster-contact_collection_mode').append(...CONTACT_MODES.map((m) => h('option', { value: m }, modeLabel(m))));
  $('#poster-paper_size').append(...PAPER_SIZES.map((s) => h('option', { value: s }, paperLabel(s))));
  $('#poster-colours').replaceChildren(...COLOURS.map(([f, label]) => h('div', { class: 'field colour' },
    h('label', { for: `poster-${f}` }, label),
    h('div', { class: 'colour-row' },
      h('input', { id: `poster-${f}`, name: f, autocomplete: 'off', spellcheck: 'false', maxlength: LIMITS.hex_color, 'aria-describedby': `poster-${f}-error` }),
      h('input', { type: 'color', dataset: { for: `poster-${f}` }, 'aria-label': `Pick the ${label.toLowerCase()}` })),
    h('p', { class: 'error', id: `poster-${f}-error` }))));
  $('#poster-title').setAttribute('maxlength', String(LIMITS.poster_title));
  for (const [k, v] of Object.entries(LIMITS.minimum_age)) $('#poster-minimum_age').setAttribute(k, String(v));
  $('#new-poster').addEventListener('click', () => openForm(null));
  $('#poster-cancel').addEventListener('click', () => {
    closeForm();
    $('#new-poster').focus();
  });
  $('#poster-form').addEventListener('submit', savePoster);
  $('#poster-form').addEventListener('input', (e) => {
    if (e.target.type === 'color') document.getElementById(e.target.dataset.for).value = e.target.value.toUpperCase();
    syncForm();
  });
  $('#poster-form').addEventListener('change', syncForm);
  $('#posters-card').addEventListener('change', loadPosters);
}
