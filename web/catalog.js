// The store's card templates and rewards as last loaded, and when a card is closed.
import { api } from './api.js';
import { session, storePath } from './session.js';

export const catalog = { cards: new Map(), rewards: [], storeId: null, at: 0 };

export async function loadCatalog(force = false) {
  const fresh = catalog.storeId === session.storeId && Date.now() - catalog.at < 30000;
  if (fresh && !force) return catalog;
  const [cards, rewards] = await Promise.all([
    api('GET', storePath('/cards?scope=all')),
    api('GET', storePath('/rewards')),
  ]);
  catalog.cards = new Map(cards.map((c) => [c.id, c]));
  catalog.rewards = rewards;
  catalog.storeId = session.storeId;
  catalog.at = Date.now();
  return catalog;
}

// The next look loads afresh (another store, or another token).
export function forgetCatalog() {
  catalog.at = 0;
}

export function rememberCard(card) {
  catalog.cards.set(card.id, card);
}

// A card template that is archived, or past its expiry, takes no new customers and no
// stamps: stampd's rule, which a card template's JSON leaves to the client to apply.
export function cardIsClosed(card) {
  return Boolean(card.archived_at)
    || (card.expires_at != null && Date.parse(card.expires_at) <= Date.now());
}

// A customer's card says it itself: stampd answers "archived" for archived or expired.
export const customerCardIsClosed = (cc) => cc.status === 'archived';
