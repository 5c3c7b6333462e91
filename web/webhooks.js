// The settings screen's webhooks: the store's subscriptions (where events go, which
// ones) with how each one's last delivery went, and whether it is on. Subscriptions
// are made and changed over the API (`/webhook_subscriptions`); this screen shows
// whether they work.
import { api, describeError } from './api.js';
import { showView } from './router.js';
import { storePath } from './session.js';
import { $, focusHeading, formatWhen, h } from './ui.js';

const REASONS = {
  disabled_by_user: 'Turned off',
  failing: 'Turned off: the receiver kept failing',
  blocked_address: 'Turned off: the address is inside a private network',
};

export async function openSettings() {
  showView('settings');
  focusHeading('settings-title');
  await loadWebhooks();
}

async function loadWebhooks() {
  const status = $('#webhooks-status');
  status.textContent = 'Loading webhooks…';
  let subscriptions;
  try {
    subscriptions = await api('GET', storePath('/webhook_subscriptions'));
  } catch (e) {
    status.textContent = `Could not load the webhooks: ${describeError(e)}`;
    return;
  }
  status.textContent = subscriptions.length ? ''
    : 'No webhooks yet. Tools such as a POS or a newsletter add theirs through the API.';
  $('#webhooks-list').replaceChildren(...subscriptions.map(subscriptionItem));
}

// What the last delivery says: its HTTP status and time, or its error.
function lastStatus(s) {
  if (!s.last_delivery_at) return 'Nothing sent yet';
  const when = formatWhen(s.last_delivery_at);
  const ok = s.last_delivery_status >= 200 && s.last_delivery_status < 300;
  if (ok) return `Last delivery ${when}: OK (${s.last_delivery_status})`;
  const what = s.last_delivery_error || `HTTP ${s.last_delivery_status}`;
  return `Last delivery ${when} failed: ${what}`;
}

function subscriptionItem(s) {
  const events = s.events.includes('*') ? 'All events' : s.events.join(', ');
  const state = s.enabled ? 'On' : (REASONS[s.disabled_reason] || 'Turned off');
  const failed = s.last_delivery_at
    && !(s.last_delivery_status >= 200 && s.last_delivery_status < 300);
  return h('li', { class: 'webhook', 'data-id': s.id },
    h('h2', { class: 'webhook-target' }, s.target_url),
    s.description ? h('p', { class: 'hint' }, s.description) : null,
    h('p', { class: 'webhook-events' }, events),
    h('p', { class: s.enabled ? 'webhook-state' : 'webhook-state error' }, state),
    h('p', { class: failed ? 'webhook-last error' : 'webhook-last' }, lastStatus(s)));
}
