// The owner's "Suspicious activity" screen: stamps a card's limits refused, limits an
// owner overrode and PIN lock-outs (`GET /flags`), newest first, a page at a time.
import { api, describeError } from './api.js';
import { showView } from './router.js';
import { storePath } from './session.js';
import { $, focusHeading, formatWhen, h } from './ui.js';

const PER_PAGE = 20;
const KINDS = { refused: 'Refused', override: 'Override', pin_lockout: 'PIN lock-out' };

export async function openFlags(page = 1) {
  showView('flags');
  const view = $('#view-flags');
  if (!$('#flags-title')) {
    view.replaceChildren(
      h('p', { class: 'back' }, h('a', { href: '#/staff', class: 'button quiet', text: '← Staff & tablets' })),
      h('h1', { id: 'flags-title', tabindex: '-1', text: 'Suspicious activity' }),
      h('p', { class: 'hint', text: 'Stamps the card limits refused, limits an owner overrode, and staff locked out by wrong PINs.' }),
      h('p', { id: 'flags-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
      h('ul', { id: 'flags-list', class: 'poster-list', 'aria-labelledby': 'flags-title' }),
      h('nav', { class: 'actions pager', id: 'flags-pager', 'aria-label': 'Pages' }));
  }
  focusHeading('flags-title');
  const status = $('#flags-status');
  status.textContent = 'Loading…';
  let data;
  try {
    data = await api('GET', storePath(`/flags?page=${page}&items=${PER_PAGE}`));
  } catch (e) {
    status.textContent = `Could not load the suspicious activity: ${describeError(e)}`;
    return;
  }
  const { pagination } = data;
  status.textContent = data.flags.length
    ? `${pagination.count} in all · page ${pagination.page} of ${pagination.pages}`
    : 'Nothing suspicious so far.';
  $('#flags-list').replaceChildren(...data.flags.map(flagItem));
  $('#flags-pager').replaceChildren(
    pagination.page > 1 ? h('button', { type: 'button', class: 'secondary', id: 'flags-newer', text: '← Newer', onclick: () => openFlags(pagination.page - 1) }) : null,
    pagination.page < pagination.pages ? h('button', { type: 'button', class: 'secondary', id: 'flags-older', text: 'Older →', onclick: () => openFlags(pagination.page + 1) }) : null);
}

function flagItem(f) {
  const who = f.staff_name ? `by ${f.staff_name}` : 'with an API token';
  return h('li', { class: `poster-item flag ${f.kind}`, dataset: { id: f.id, kind: f.kind } },
    h('h3', null, h('span', { class: f.kind === 'refused' ? 'badge' : 'badge warn', text: KINDS[f.kind] || f.kind }), f.message),
    h('p', { class: 'facts' },
      h('time', { datetime: f.created_at, text: formatWhen(f.created_at) }), ` · ${who}`,
      f.customer_id ? [' · ', h('a', { href: `#/customer/${f.customer_id}`, text: 'open the customer' })] : null));
}
