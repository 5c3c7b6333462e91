// One card template in the editor, with a live preview of its face, and the rewards
// it pays for. Field limits, the stamp icons and the strip types and presets come from
// stampd (`vocab.js`).
import { HttpError, api, describeError, sendReliably } from './api.js';
import { catalog, rememberCard } from './catalog.js';
import { DEFAULT_DESIGN, cardFace, isHexColour } from './card-face.js';
import { setArchived } from './cards.js';
import { go, showView } from './router.js';
import { storePath } from './session.js';
import {
  $, $$, busy, clearFieldErrors, confirmDialog, focusHeading, h, notify, plural, showFieldErrors,
  showFormError,
} from './ui.js';
import { LIMITS, STAMP_ICONS, STRIP_PRESETS, STRIP_TYPES } from './vocab.js';

let editing = null;
const CARD_TEXT_FIELDS = [
  'name', 'header_text', 'stamp_message', 'card_color', 'text_color', 'stamp_color', 'stamp_background_color',
  'strip_color',
];
const LINE_INPUTS = ['#card-auxiliary_fields', '#card-auxiliary_fields_2'];

const words = (name) => {
  const s = name.replace(/_/g, ' ');
  return `${s[0].toUpperCase()}${s.slice(1)}`;
};

function fillIconSelect() {
  const select = $('#card-stamp_icon');
  if (select.options.length) return;
  for (const { name, glyph } of STAMP_ICONS) {
    select.append(h('option', { value: name }, `${glyph}  ${words(name)}`));
  }
  const STRIP_LABELS = { color: 'A colour', image: 'An image', preset: 'A preset design' };
  $('#card-strip_type').append(...STRIP_TYPES.map((t) => h('option', { value: t }, STRIP_LABELS[t] || words(t))));
  $('#card-strip_preset').append(h('option', { value: '' }, 'None'),
    ...STRIP_PRESETS.map((p) => h('option', { value: p }, words(p))));
}

// Which strip fields apply, and what the passes draw: stampd draws a colour strip with a
// colour; it has no artwork for images and presets yet.
function drawStripFields() {
  const type = $('#card-strip_type').value;
  $('#card-strip-colour').hidden = type !== 'color';
  $('#card-strip-preset').hidden = type !== 'preset';
  const colour = $('#card-strip_color').value.trim();
  $('#card-strip-note').textContent = type !== 'color'
    ? 'Passes show no strip for images and presets yet: stampd has no artwork for them.'
    : (colour ? 'Passes and the web card show this colour behind the stamps, over the card colour at this opacity.'
      : 'Pick a strip colour to show a strip behind the stamps.');
}

export async function openCardEditor(id) {
  showView('card');
  fillIconSelect();
  clearFieldErrors('card');
  $('#card-form-error').textContent = '';
  $('#card-form-saved').textContent = editing && editing.justSaved === id ? editing.savedText : '';
  editing = { id, card: null };
  $('#card-title').textContent = id ? 'Edit card' : 'New card';
  $('#card-save').textContent = id ? 'Save card' : 'Create card';
  $('#card-rewards').hidden = !id;
  $('#card-archive').hidden = true;
  $('#card-archived-note').hidden = true;
  let card = { ...DEFAULT_DESIGN };
  if (id) {
    try {
      card = await api('GET', storePath(`/cards/${id}`));
      rememberCard(card);
    } catch (e) {
      $('#card-rewards').hidden = true;
      showFormError('card', e instanceof HttpError && e.status === 404
        ? 'This card does not exist in this store.' : `Could not load the card: ${describeError(e)}`);
      focusHeading('card-title');
      return;
    }
  }
  editing.card = card;
  fillCardForm(card);
  drawPreview();
  focusHeading('card-title');
  if (id) {
    drawArchiveState(card);
    resetRewardForm();
    loadCardRewards();
  }
}

function fillCardForm(card) {
  for (const f of CARD_TEXT_FIELDS) document.getElementById(`card-${f}`).value = card[f] || '';
  $('#card-stamps_required').value = card.stamps_required;
  $('#card-initial_stamps').value = card.initial_stamps;
  $('#card-stamp_icon').value = card.stamp_icon;
  $('#card-strip_type').value = card.strip_type;
  $('#card-strip_preset').value = card.strip_preset || '';
  $('#card-strip_opacity').value = card.strip_opacity;
  const lines = card.auxiliary_fields || [];
  LINE_INPUTS.forEach((sel, i) => { $(sel).value = lines[i] || ''; });
  drawStripFields();
  $('#card-expires_at').value = card.expires_at ? card.expires_at.slice(0, 10) : '';
  $('#card-show_member_field').checked = Boolean(card.show_member_field);
  $('#card-show_stamps_to_reward_field').checked = Boolean(card.show_stamps_to_reward_field);
  syncColourPickers();
}

function drawArchiveState(card) {
  const button = $('#card-archive');
  button.hidden = false;
  button.textContent = card.archived_at ? 'Restore card' : 'Archive card';
  button.className = card.archived_at ? 'secondary' : 'danger';
  $('#card-archived-note').hidden = !card.archived_at;
}

function syncColourPickers() {
  $$('#card-form input[type=color]').forEach((picker) => {
    const text = document.getElementById(picker.dataset.for);
    if (isHexColour(text.value)) picker.value = text.value.toLowerCase();
  });
}

function cardFormValues() {
  const v = {};
  for (const f of CARD_TEXT_FIELDS) {
    const s = document.getElementById(`card-${f}`).value.trim();
    v[f] = s === '' ? null : s;
  }
  for (const f of ['stamps_required', 'initial_stamps', 'strip_opacity']) {
    const s = document.getElementById(`card-${f}`).value.trim();
    v[f] = /^-?\d+$/.test(s) ? Number(s) : (s === '' ? null : s);
  }
  v.stamp_icon = $('#card-stamp_icon').value;
  v.strip_type = $('#card-strip_type').value;
  v.strip_preset = $('#card-strip_preset').value || null;
  v.auxiliary_fields = LINE_INPUTS.map((sel) => $(sel).value.trim()).filter(Boolean);
  v.expires_at = $('#card-expires_at').value || null;
  v.show_member_field = $('#card-show_member_field').checked;
  v.show_stamps_to_reward_field = $('#card-show_stamps_to_reward_field').checked;
  return v;
}

function drawPreview() {
  const v = cardFormValues();
  const design = { ...(editing && editing.card ? editing.card : DEFAULT_DESIGN) };
  for (const [k, value] of Object.entries(v)) {
    if (value === null && !['header_text', 'stamp_message', 'strip_color', 'strip_preset'].includes(k)) continue;
    if (k.endsWith('_color') && !isHexColour(value)) continue;
    design[k] = value;
  }
  const { min, max } = LIMITS.stamps_required;
  if (!Number.isInteger(design.stamps_required) || design.stamps_required < min || design.stamps_required > max) {
    design.stamps_required = (editing && editing.card && editing.card.stamps_required) || DEFAULT_DESIGN.stamps_required;
  }
  const { min: least, max: most } = LIMITS.strip_opacity;
  if (!Number.isInteger(design.strip_opacity) || design.strip_opacity < least || design.strip_opacity > most) {
    design.strip_opacity = DEFAULT_DESIGN.strip_opacity;
  }
  const shown = Number.isInteger(design.initial_stamps) && design.initial_stamps > 0
    ? design.initial_stamps : Math.min(3, design.stamps_required - 1);
  $('#card-preview').replaceChildren(cardFace(design, {
    count: shown,
    member: 'Alex Example',
    code: 'AC3D7FGH',
    next: `${plural(Math.max(1, design.stamps_required - shown), 'more stamp')} to a reward`,
    label: `Preview: ${shown} of ${design.stamps_required} stamps`,
  }));
}

async function saveCard(event) {
  event.preventDefault();
  if (!editing) return;
  clearFieldErrors('card');
  $('#card-form-error').textContent = '';
  $('#card-form-saved').textContent = '';
  const values = cardFormValues();
  const id = editing.id;
  if (!id) {
    for (const k of Object.keys(values)) if (values[k] === null) delete values[k];
  }
  const op = id
    ? { method: 'PATCH', path: storePath(`/cards/${id}`), body: { card: values } }
    : { method: 'POST', path: storePath('/cards'), body: { card: values } };
  let card;
  try {
    card = await busy($('#card-save'), 'Saving…', () => sendReliably(op));
  } catch (e) {
    if (e instanceof HttpError && e.status === 422) showFieldErrors('card', e);
    else showFormError('card', `Not saved: ${describeError(e)}`);
    return;
  }
  rememberCard(card);
  if (id) {
    editing.card = card;
    fillCardForm(card);
    drawPreview();
    drawArchiveState(card);
    $('#card-form-saved').textContent = `Saved ${card.name}.`;
    setRewardMax();
  } else {
    editing = { justSaved: card.id, savedText: `Created ${card.name}. Add its rewards below.` };
    go(`#/cards/${card.id}`);
  }
}

async function toggleArchiveFromEditor() {
  if (!editing || !editing.card) return;
  const updated = await setArchived(editing.card, !editing.card.archived_at);
  if (updated) {
    editing.card = updated;
    drawArchiveState(updated);
    $('#card-archive').focus();
  }
}

// Rewards of the card being edited.
let editingReward = null;

async function loadCardRewards() {
  const status = $('#rewards-status');
  const cardId = editing.id;
  status.textContent = 'Loading rewards…';
  let rewards;
  try {
    rewards = await api('GET', storePath(`/rewards?card_id=${cardId}`));
  } catch (e) {
    status.textContent = `Could not load the rewards: ${describeError(e)}`;
    return;
  }
  if (!editing || editing.id !== cardId) return;
  status.textContent = rewards.length ? '' : 'No rewards yet: add the first one below.';
  catalog.rewards = [...catalog.rewards.filter((r) => r.card_id !== cardId), ...rewards];
  $('#rewards-list').replaceChildren(...rewards
    .sort((a, b) => a.stamps_required - b.stamps_required)
    .map((r) => h('li', { dataset: { rewardId: r.id } },
      h('span', { class: 'reward-text' },
        h('strong', { text: r.name }),
        ` · ${plural(r.stamps_required, 'stamp')}`,
        r.description ? h('span', { class: 'hint', text: ` – ${r.description}` }) : null),
      h('span', { class: `badge${r.active ? ' on' : ''}`, text: r.active ? 'Active' : 'Inactive' }),
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit reward ${r.name}`, onclick: () => editReward(r) }, 'Edit'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete reward ${r.name}`, onclick: () => deleteReward(r) }, 'Delete'))));
}

function setRewardMax() {
  if (editing && editing.card) $('#reward-stamps_required').max = String(editing.card.stamps_required);
}

function resetRewardForm() {
  editingReward = null;
  $('#reward-form').reset();
  $('#reward-active').checked = true;
  $('#reward-form-title').textContent = 'Add a reward';
  $('#reward-save').textContent = 'Add reward';
  $('#reward-cancel').hidden = true;
  clearFieldErrors('reward');
  $('#reward-form-error').textContent = '';
  setRewardMax();
}

function editReward(r) {
  resetRewardForm();
  editingReward = r;
  $('#reward-name').value = r.name;
  $('#reward-stamps_required').value = r.stamps_required;
  $('#reward-description').value = r.description || '';
  $('#reward-active').checked = r.active;
  $('#reward-form-title').textContent = `Edit reward: ${r.name}`;
  $('#reward-save').textContent = 'Save reward';
  $('#reward-cancel').hidden = false;
  $('#reward-name').focus();
}

async function saveReward(event) {
  event.preventDefault();
  if (!editing || !editing.id) return;
  clearFieldErrors('reward');
  $('#reward-form-error').textContent = '';
  const s = $('#reward-stamps_required').value.trim();
  const attrs = {
    name: $('#reward-name').value.trim() || null,
    description: $('#reward-description').value.trim() || null,
    stamps_required: /^-?\d+$/.test(s) ? Number(s) : (s || null),
    active: $('#reward-active').checked,
  };
  const op = editingReward
    ? { method: 'PATCH', path: storePath(`/rewards/${editingReward.id}`), body: { reward: attrs } }
    : { method: 'POST', path: storePath('/rewards'), body: { reward: { ...attrs, card_id: editing.id } } };
  let reward;
  try {
    reward = await busy($('#reward-save'), 'Saving…', () => sendReliably(op));
  } catch (e) {
    if (e instanceof HttpError && e.status === 422) showFieldErrors('reward', e);
    else showFormError('reward', `Not saved: ${describeError(e)}`);
    return;
  }
  const wasEditing = Boolean(editingReward);
  resetRewardForm();
  notify(wasEditing ? `Saved ${reward.name}.` : `Added ${reward.name}.`);
  await loadCardRewards();
  $('#reward-name').focus();
}

async function deleteReward(r) {
  const ok = await confirmDialog({
    title: `Delete ${r.name}?`,
    text: 'Customers can no longer redeem it. Past redemptions stay in the history.',
    ok: 'Delete reward',
    danger: true,
  });
  if (!ok) return;
  try {
    await api('DELETE', storePath(`/rewards/${r.id}`));
  } catch (e) {
    notify(`Could not delete ${r.name}: ${describeError(e)}`, true);
    return;
  }
  if (editingReward && editingReward.id === r.id) resetRewardForm();
  notify(`Deleted ${r.name}.`);
  await loadCardRewards();
  $('#reward-name').focus();
}

// The limits stampd checks, set on the inputs so that the browser keeps to them too.
function limitInputs() {
  const limit = (selector, attributes) => {
    for (const input of $$(selector)) {
      for (const [name, value] of Object.entries(attributes)) input.setAttribute(name, String(value));
    }
  };
  limit('#card-name', { maxlength: LIMITS.card_name });
  limit('#card-header_text', { maxlength: LIMITS.header_text });
  limit('#card-stamp_message', { maxlength: LIMITS.stamp_message });
  limit('#card-stamps_required', LIMITS.stamps_required);
  limit('#card-initial_stamps', LIMITS.initial_stamps);
  limit('#card-form .colour-row input:not([type=color])', { maxlength: LIMITS.hex_color });
  limit('#card-strip_opacity', LIMITS.strip_opacity);
  limit(LINE_INPUTS.join(', '), { maxlength: LIMITS.auxiliary_fields.length });
  limit('#reward-stamps_required', { min: LIMITS.stamps_required.min });
}

export function wireCardEditor() {
  limitInputs();
  $('#card-form').addEventListener('submit', saveCard);
  $('#card-form').addEventListener('input', (e) => {
    if (e.target.type === 'color') {
      const text = document.getElementById(e.target.dataset.for);
      text.value = e.target.value.toUpperCase();
    } else if (e.target.id.endsWith('_color')) {
      syncColourPickers();
    }
    drawStripFields();
    drawPreview();
  });
  $('#card-form').addEventListener('change', () => {
    drawStripFields();
    drawPreview();
  });
  $('#card-archive').addEventListener('click', toggleArchiveFromEditor);
  $('#reward-form').addEventListener('submit', saveReward);
  $('#reward-cancel').addEventListener('click', () => {
    resetRewardForm();
    $('#reward-name').focus();
  });
}
