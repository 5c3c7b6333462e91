// The owner's dashboard: the store's insights (`GET /insights`) over a chosen range —
// totals, the reward liability, charts of stamps and new customers, redemptions, the
// returning share and visits by hour, drawn by the vendored uPlot — and the customer
// segments (`GET /insights/segments`). uPlot and its styles load on first use.
import { api, describeError } from './api.js';
import { showView } from './router.js';
import { storePath } from './session.js';
import { $, busy, confirmDialog, focusHeading, fullName, h, notify, plural } from './ui.js';

const RANGES = {
  month: { days: 28, interval: 'day', label: 'Last 4 weeks, by day' },
  half: { days: 182, interval: 'week', label: 'Last 6 months, by week' },
  year: { days: 365, interval: 'month', label: 'Last 12 months, by month' },
};
const SEGMENTS = [
  ['new', 'New', 'First visit in the last 30 days'],
  ['regular', 'Regular', 'Coming back as usual'],
  ['at_risk', 'At risk', 'Away for twice their usual gap'],
  ['lapsed', 'Lapsed', 'No visit for 90 days'],
];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const COLOURS = ['#1f6f5c', '#c2571a', '#3d5a98', '#8a3f8f', '#b08a00', '#2f8fb3', '#9c2f3f'];

let plots = [];
let uPlotReady = null;

// Adds uPlot's script and styles to the page once (they are only the dashboard's).
function loadUPlot() {
  if (!uPlotReady) {
    uPlotReady = new Promise((resolve, reject) => {
      // Charts are sized from their boxes: the styles must be in before the first draws.
      const loaded = (el) => new Promise((ok, fail) => {
        el.addEventListener('load', ok);
        el.addEventListener('error', () => fail(new Error('the chart library did not load')));
        document.head.append(el);
      });
      Promise.all([
        loaded(h('link', { rel: 'stylesheet', href: '/assets/uPlot.min.css' })),
        loaded(h('link', { rel: 'stylesheet', href: '/assets/insights.css' })),
        loaded(h('script', { src: '/assets/uPlot.iife.min.js' })),
      ]).then(() => resolve(window.uPlot), (e) => { uPlotReady = null; reject(e); });
    });
  }
  return uPlotReady;
}

// The screen's parts, drawn once; the figures fill them on each open.
export function wireInsights() {
  const range = h('select', { id: 'insights-range', onchange: () => loadInsights() },
    h('option', { value: 'month', text: 'Last 4 weeks, by day' }),
    h('option', { value: 'half', text: 'Last 6 months, by week' }),
    h('option', { value: 'year', text: 'Last 12 months, by month' }));
  $('#view-insights').replaceChildren(
    h('h1', { id: 'insights-title', tabindex: '-1', text: 'Insights' }),
    h('label', { for: 'insights-range', text: 'Range' }),
    range,
    h('p', { id: 'insights-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    h('div', { id: 'insights-totals', class: 'tiles' }),
    h('p', { id: 'insights-empty', class: 'hint', hidden: true, text: 'No stamps or visits in this range yet.' }),
    h('div', { id: 'insights-charts', class: 'charts' },
      h('div', { id: 'chart-stamps' }), h('div', { id: 'chart-returning' }),
      h('div', { id: 'chart-rewards' }), h('div', { id: 'chart-hours' })),
    h('h2', { text: 'Customers by segment' }),
    h('div', { id: 'insights-segments', class: 'segments' }));
}

export async function openInsights() {
  showView('insights');
  focusHeading('insights-title');
  await Promise.all([loadInsights(), loadSegments()]);
}

const isoDay = (d) => d.toISOString().slice(0, 10);
// A period's first day as uPlot's x value (seconds), drawn in UTC so the day stays.
const toX = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;

async function loadInsights() {
  const status = $('#insights-status');
  const range = RANGES[$('#insights-range').value] || RANGES.month;
  const to = new Date();
  const from = new Date(to.getTime() - (range.days - 1) * 86400000);
  status.textContent = 'Loading…';
  let data;
  let uPlot;
  try {
    [data, uPlot] = await Promise.all([
      api('GET', storePath(`/insights?from=${isoDay(from)}&to=${isoDay(to)}&interval=${range.interval}`)),
      loadUPlot(),
    ]);
  } catch (e) {
    status.textContent = `Could not load the figures: ${describeError(e)}`;
    return;
  }
  status.textContent = `Days in ${data.time_zone}; visits and customers as of ${new Date(data.computed_at).toLocaleTimeString()}.`;
  showTotals(data);
  drawCharts(uPlot, data);
}

function tile(label, value, hint) {
  return h('div', { class: 'tile' },
    h('p', { class: 'tile-value' }, value == null ? '–' : String(value)),
    h('p', { class: 'tile-label' }, label),
    hint ? h('p', { class: 'hint' }, hint) : null);
}

function showTotals(data) {
  const t = data.totals;
  const share = t.returning_share == null ? null : `${Math.round(t.returning_share * 100)} %`;
  $('#insights-totals').replaceChildren(
    tile('Stamps given', t.stamps, t.corrections ? `${t.corrections} taken back` : null),
    tile('New customers', t.new_customers),
    tile('Customers who came', t.active_customers, `${t.visits} visits`),
    tile('Came back', share, `${t.returning_customers} with 2 visits or more`),
    tile('Days between visits', t.average_days_between_visits),
    tile('Rewards redeemed', t.redemptions, `${t.rewards_unlocked} unlocked`),
    tile('Rewards owed now', data.liability.rewards_affordable,
      `${data.liability.stamps_outstanding} stamps toward the next`),
  );
}

function chart(uPlot, id, title, series, x, ys, opts = {}) {
  const box = $(id);
  const width = Math.max(240, (box.clientWidth || 600) - 16);
  const plot = new uPlot({
    title,
    width,
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: opts.time !== false } },
    axes: opts.axes || [{}, {}],
    series: [{}, ...series.map((s, i) => ({
      label: s.label,
      stroke: COLOURS[i % COLOURS.length],
      width: 2,
      fill: s.fill ? `${COLOURS[i % COLOURS.length]}33` : undefined,
      points: { show: x.length < 40 },
    }))],
  }, [x, ...ys], box);
  plots.push(plot);
}

// Every period from `from` to `to`, those without figures as zeros: a quiet day is
// drawn as a quiet day, not as a line across it.
function allPeriods(data) {
  const byPeriod = new Map(data.series.map((p) => [p.period, p]));
  const d = new Date(`${data.from}T00:00:00Z`);
  if (data.interval === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (data.interval === 'month') d.setUTCDate(1);
  const out = [];
  while (isoDay(d) <= data.to) {
    out.push(byPeriod.get(isoDay(d)) || { period: isoDay(d) });
    if (data.interval === 'day') d.setUTCDate(d.getUTCDate() + 1);
    else if (data.interval === 'week') d.setUTCDate(d.getUTCDate() + 7);
    else d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out;
}

function drawCharts(uPlot, data) {
  for (const p of plots) p.destroy();
  plots = [];
  const empty = data.series.length === 0;
  $('#insights-empty').hidden = !empty;
  $('#insights-charts').hidden = empty;
  if (empty) return;
  const series = allPeriods(data);
  const x = series.map((p) => toX(p.period));
  const col = (k) => series.map((p) => p[k] || 0);
  chart(uPlot, '#chart-stamps', 'Stamps and new customers',
    [{ label: 'Stamps', fill: true }, { label: 'New customers' }], x, [col('stamps'), col('new_customers')]);
  chart(uPlot, '#chart-rewards', 'Rewards',
    [{ label: 'Redeemed', fill: true }, { label: 'Unlocked' }], x, [col('redemptions'), col('rewards_unlocked')]);
  chart(uPlot, '#chart-returning', 'Customers who came, and came back',
    [{ label: 'Came', fill: true }, { label: 'Came back' }], x, [col('active_customers'), col('returning_customers')]);
  // Visits by hour: one line a weekday over the 24 hours of the shop's clock.
  const hours = Array.from({ length: 24 }, (_, i) => i);
  const days = DAYS.map((_, d) => data.visits_by_hour_of_week.slice(d * 24, d * 24 + 24));
  chart(uPlot, '#chart-hours', 'Visits by hour', DAYS.map((label) => ({ label })), hours, days, {
    time: false,
    axes: [{ incrs: [1, 2, 3, 6], values: (u, ticks) => ticks.map((t) => `${t}:00`) }, {}],
  });
}

async function loadSegments() {
  const list = $('#insights-segments');
  let data;
  try {
    data = await api('GET', storePath('/insights/segments?items=10'));
  } catch (e) {
    list.replaceChildren(h('p', { class: 'error' }, `Could not load the segments: ${describeError(e)}`));
    return;
  }
  list.replaceChildren(...SEGMENTS.map(([key, name, hint]) => {
    const seg = data.segments[key];
    const more = data.counts[key] - seg.customers.length;
    return h('section', { class: 'segment', 'data-segment': key },
      h('h3', {}, `${name}: ${data.counts[key]}`),
      h('p', { class: 'hint' }, hint),
      h('ul', {}, seg.customers.map((e) => h('li', {},
        h('a', { href: `#/customer/${e.customer.id}` }, fullName(e.customer)),
        ` · ${e.visits} visits`))),
      more > 0 ? h('p', { class: 'hint' }, `and ${more} more`) : null,
      data.counts[key] > 0
        ? h('button', { type: 'button', class: 'secondary', onclick: (e) => sendLinks(e.currentTarget, key, name, data.counts[key]) },
          'Send their card links')
        : null);
  }));
}

// Queues each customer of the segment their card links; the card-link throttle holds
// back whoever was sent them too recently, and the answer says how many.
async function sendLinks(button, key, name, count) {
  const ok = await confirmDialog({
    title: `Send card links to ${name.toLowerCase()} customers?`,
    text: `${plural(count, 'customer')} get their card links by email or SMS.`,
    ok: 'Send',
  });
  if (!ok) return;
  await busy(button, 'Sending…', async () => {
    try {
      const r = await api('POST', storePath('/insights/segments/send_card_links'), { body: { segment: key } });
      const held = r.suppressed ? `; ${r.suppressed} held back (sent too recently)` : '';
      notify(`Card links queued: ${r.queued}${held}.`);
    } catch (e) {
      notify(`Could not send the card links: ${describeError(e)}`, true);
    }
  });
}
