// One customer card on the customer screen: its face, the stamp buttons, its rewards,
// its recent ledger and the QR code of its web card. What the buttons do is given by
// the customer screen (`act`).
import { catalog, customerCardIsClosed } from './catalog.js';
import { DEFAULT_DESIGN, cardFace } from './card-face.js';
import { currentLinkWarning } from './enrolment.js';
import { queueFor } from './queue.js';
import { formatWhen, fullName, h, plural } from './ui.js';
import { LIMITS, LINKS } from './vocab.js';
import { cardTitle } from './words.js';

// A link to a customer's card in the shape stampd gives it (the same link its QR code
// holds): the page fills in the card and builds no link of its own.
const cardLink = (shape, cc) => shape.replace('{uuid}', encodeURIComponent(cc.uuid));

export function cardSection(screen, ccId, act) {
  const cc = screen.cards.get(ccId);
  const customer = screen.customer;
  const template = catalog.cards.get(cc.card_id) || { ...DEFAULT_DESIGN, name: cc.card_name, stamps_required: cc.stamps_required };
  const q = queueFor(customer.id, ccId);
  const rewards = catalog.rewards
    .filter((r) => r.card_id === cc.card_id && r.active)
    .sort((a, b) => a.stamps_required - b.stamps_required);
  const ready = cc.available_rewards || [];
  const readyIds = new Set(ready.map((r) => r.id));
  const upcoming = rewards.filter((r) => !readyIds.has(r.id));
  const nextReward = upcoming.find((r) => r.stamps_required > cc.stamps_count);
  const next = nextReward
    ? `${plural(nextReward.stamps_required - cc.stamps_count, 'more stamp')} to ${nextReward.name}` : null;
  const archived = customerCardIsClosed(cc);
  const titleId = `cc-${ccId}-title`;

  const face = cardFace(
    { ...template, stamps_required: cc.stamps_required },
    {
      count: cc.stamps_count,
      member: fullName(customer),
      code: cc.code,
      next,
      label: `${cc.stamps_count} of ${cc.stamps_required} stamps`,
    },
  );

  const actions = [];
  if (archived) {
    actions.push(h('p', { class: 'cc-archived', text: 'This card is archived or expired: it takes no stamps.' }));
  } else {
    const full = cc.stamps_count >= cc.stamps_required;
    // The reward moment: the biggest reward the card can pay for stands beside +1, and
    // on a full card it is the big button.
    const best = ready.length ? ready.reduce((a, b) => (b.stamps_required > a.stamps_required ? b : a)) : null;
    actions.push(h('div', { class: `stamp-row${best ? ' has-reward' : ''}${full ? ' full' : ''}` },
      h('button', {
        type: 'button',
        class: `${full && best ? 'secondary' : 'primary'} plus-one`,
        dataset: { fid: 'plus-one' },
        'aria-label': `Give 1 stamp on ${cardTitle(cc.card_name)}`,
        onclick: () => act.stamp(screen, ccId, 1, true),
      }, '+1'),
      best ? h('button', {
        type: 'button',
        class: 'primary redeem reward-ready',
        dataset: { fid: `ready-${best.id}`, rewardId: best.id },
        onclick: () => act.redeem(screen, ccId, best),
      }, h('span', { text: `${best.name} ready` }), h('span', { class: 'sub', text: 'Redeem' })) : null));
    const severalId = `cc-${ccId}-several`;
    const severalError = `cc-${ccId}-several-error`;
    const input = h('input', {
      id: severalId,
      type: 'number',
      min: '1',
      max: String(LIMITS.stamps_per_request),
      step: '1',
      inputmode: 'numeric',
      value: screen.severalValue.get(ccId) || '2',
      dataset: { fid: 'several' },
      'aria-describedby': severalError,
      oninput: (e) => screen.severalValue.set(ccId, e.target.value),
    });
    const several = (sign) => {
      const n = Number(input.value);
      const slot = document.getElementById(severalError);
      if (!Number.isInteger(n) || n < 1 || n > LIMITS.stamps_per_request) {
        slot.textContent = `Enter a whole number from 1 to ${LIMITS.stamps_per_request}.`;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      slot.textContent = '';
      input.removeAttribute('aria-invalid');
      // Off the box, so that the next scan or Enter cannot land in it.
      const plus = document.querySelector(`#cc-${ccId} .plus-one`);
      if (plus) plus.focus();
      else input.blur();
      if (sign > 0) act.stamp(screen, ccId, n);
      else act.removeStamps(screen, ccId, n);
    };
    actions.push(h('form', {
      class: 'several',
      novalidate: true,
      onsubmit: (e) => { e.preventDefault(); several(1); },
    },
    h('div', { class: 'field' },
      h('label', { for: severalId }, 'Number of stamps'),
      input,
      h('p', { class: 'error', id: severalError })),
    h('button', { type: 'submit', class: 'secondary', dataset: { fid: 'give' } }, 'Give'),
    h('button', {
      type: 'button', class: 'danger', dataset: { fid: 'remove' }, onclick: () => several(-1),
    }, 'Remove')));
    if (q.lastStamp) {
      actions.push(h('button', {
        type: 'button',
        class: 'secondary undo',
        dataset: { fid: 'undo' },
        onclick: () => act.undo(screen, ccId),
      }, `Undo +${q.lastStamp.stamps} (this visit)`));
    }
  }

  const rewardItems = [
    ...ready.map((r) => h('li', { class: 'ready' },
      h('span', null, h('strong', { text: r.name }), ` · ${plural(r.stamps_required, 'stamp')}`),
      archived ? null : h('button', {
        type: 'button',
        class: 'primary redeem',
        dataset: { fid: `redeem-${r.id}`, rewardId: r.id },
        'aria-label': `Redeem ${r.name}`,
        onclick: () => act.redeem(screen, ccId, r),
      }, 'Redeem'))),
    ...upcoming.map((r) => h('li', null,
      h('span', null, h('strong', { text: r.name }), ` · ${plural(r.stamps_required, 'stamp')}`),
      h('span', {
        class: 'later',
        text: r.stamps_required > cc.stamps_count
          ? `${plural(r.stamps_required - cc.stamps_count, 'more stamp')}` : 'not available',
      }))),
  ];

  const events = screen.events.get(ccId);
  let ledger;
  if (!events) ledger = h('p', { class: 'hint', text: 'Loading the history…' });
  else if (events.error) ledger = h('p', { class: 'error', text: `Could not load the history: ${events.error}` });
  else if (!events.length) ledger = h('p', { class: 'hint', text: 'Nothing yet.' });
  else ledger = h('ol', null, events.map(ledgerItem));

  const qrShown = screen.qrOpen.has(ccId);
  const qr = qrShown ? webCardQr(cc, customer, false) : null;

  return h('section', {
    id: `cc-${ccId}`,
    class: `cc${screen.highlight === ccId ? ' highlight' : ''}`,
    'aria-labelledby': titleId,
    dataset: { ccId, stamps: cc.stamps_count },
  },
  h('h3', { id: titleId, class: 'visually-hidden', text: cardTitle(cc.card_name) }),
  h('div', { class: 'cc-body' },
    face,
    h('div', { class: 'cc-actions' }, actions)),
  h('ul', { class: 'ops', id: `cc-${ccId}-ops`, 'aria-live': 'polite', 'aria-label': 'Requests' }),
  h('div', { class: 'cc-rewards' },
    h('h3', { text: 'Rewards' }),
    rewardItems.length ? h('ul', null, rewardItems) : h('p', { class: 'hint', text: 'This card has no rewards yet.' })),
  h('div', { class: 'cc-ledger' },
    h('h3', { text: 'Recent activity' }),
    ledger),
  qr,
  screen.welcome === ccId ? null : h('p', null, h('button', {
    type: 'button',
    class: 'quiet',
    dataset: { fid: 'qr' },
    'aria-expanded': qrShown ? 'true' : 'false',
    onclick: () => {
      if (screen.qrOpen.has(ccId)) screen.qrOpen.delete(ccId);
      else screen.qrOpen.add(ccId);
      act.redraw(screen, ccId);
    },
  }, qrShown ? 'Hide web card QR code' : 'Show web card QR code')));
}

// The QR code of the card's web card link, for the customer's phone.
export function webCardQr(cc, customer, welcome) {
  const url = cardLink(LINKS.web_card, cc);
  const warning = currentLinkWarning();
  return h('div', { class: `cc-qr${welcome ? ' welcome' : ''}` },
    h('h3', { text: welcome ? 'Scan with your phone to get your card' : `Web card: ${cc.card_name}` }),
    h('img', {
      src: cardLink(LINKS.web_card_qr, cc),
      alt: `QR code of the link to ${fullName(customer)}'s ${cc.card_name} web card`,
      width: '260',
      height: '260',
    }),
    h('p', null, h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: url })),
    warning ? h('p', { class: 'link-warning', text: `Phones cannot open this link: ${warning}.` }) : null);
}

function ledgerItem(ev) {
  const sign = ev.stamps > 0 ? 'plus' : 'minus';
  const what = {
    welcome_bonus: 'Welcome stamps',
    stamp: ev.stamps === 1 ? 'Stamp' : 'Stamps',
    adjustment: 'Correction',
    redemption: `Redeemed ${ev.reward_name || 'a reward'}`,
    import: 'Imported balance',
  }[ev.kind] || ev.kind;
  return h('li', { dataset: { kind: ev.kind } },
    h('span', { class: `delta ${sign}`, text: ev.stamps > 0 ? `+${ev.stamps}` : `−${Math.abs(ev.stamps)}` }),
    h('span', { class: 'what' }, what, ev.note ? ` – ${ev.note}` : '', ` (${ev.balance_after} after)`,
      ev.staff_name ? h('span', { class: 'by', text: ` · ${ev.staff_name}` }) : null),
    h('time', { class: 'when', datetime: ev.created_at, text: formatWhen(ev.created_at) }));
}
