// The store's card templates, active and archived, each drawn as its face; archiving
// and restoring them.
import { describeError, sendReliably } from './api.js';
import { catalog, loadCatalog, rememberCard } from './catalog.js';
import { cardFace } from './card-face.js';
import { showView } from './router.js';
import { storePath } from './session.js';
import { $, confirmDialog, focusHeading, h, notify, plural } from './ui.js';

export async function openCards() {
  showView('cards');
  focusHeading('cards-title');
  const status = $('#cards-status');
  status.textContent = 'Loading cards…';
  try {
    await loadCatalog(true);
  } catch (e) {
    status.textContent = `Could not load the cards: ${describeError(e)}`;
    return;
  }
  status.textContent = '';
  drawCardList();
}

function drawCardList() {
  const cards = [...catalog.cards.values()];
  const item = (card) => {
    // Archived, not closed: an expired card stays among the active ones until archived.
    const archived = Boolean(card.archived_at);
    return h('li', { class: 'card-item', dataset: { cardId: card.id } },
      cardFace(card, { count: Math.min(card.initial_stamps, card.stamps_required), label: `${card.name}: ${plural(card.stamps_required, 'stamp')} to fill` }),
      h('p', {
        class: 'facts',
        text: `${plural(card.stamps_required, 'stamp')} · ${plural(card.rewards_count, 'reward')} · ${plural(card.customer_cards_count, 'customer')}`,
      }),
      h('div', { class: 'row' },
        h('a', { class: 'button secondary', href: `#/cards/${card.id}`, 'aria-label': `Edit ${card.name}` }, 'Edit'),
        h('button', {
          type: 'button',
          class: archived ? 'secondary' : 'quiet',
          'aria-label': `${archived ? 'Restore' : 'Archive'} ${card.name}`,
          onclick: () => setArchived(card, !archived),
        }, archived ? 'Restore' : 'Archive')));
  };
  const active = cards.filter((c) => !c.archived_at).map(item);
  const archived = cards.filter((c) => c.archived_at).map(item);
  $('#cards-active').replaceChildren(...(active.length ? active : [h('li', { class: 'empty', text: 'No active cards. Create one to enrol customers.' })]));
  $('#cards-archived').replaceChildren(...(archived.length ? archived : [h('li', { class: 'empty', text: 'No archived cards.' })]));
}

export async function setArchived(card, archived) {
  if (archived) {
    const ok = await confirmDialog({
      title: `Archive ${card.name}?`,
      text: 'An archived card takes no new customers and no stamps until it is restored. Customers keep their stamps.',
      ok: 'Archive',
      danger: true,
    });
    if (!ok) return false;
  }
  try {
    const updated = await sendReliably({ method: 'PATCH', path: storePath(`/cards/${card.id}`), body: { card: { archived } } });
    rememberCard(updated);
    notify(`${updated.name} is ${archived ? 'archived' : 'active again'}.`);
    if (!$('#view-cards').hidden) drawCardList();
    return updated;
  } catch (e) {
    notify(`Could not ${archived ? 'archive' : 'restore'} ${card.name}: ${describeError(e)}`, true);
    return false;
  }
}
