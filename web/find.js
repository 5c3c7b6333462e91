// Finding a customer: the search box (searching as staff type), the newest customers,
// a card code typed by a barcode scanner from any screen, and scanning the QR code of a
// customer's pass with the camera.
import { api, describeError } from './api.js';
import { openCustomerFrom } from './customer.js';
import { markRoute, showView } from './router.js';
import { session, storePath } from './session.js';
import { $, $$, fullName, h, plural, sleep } from './ui.js';
import { CARD_CODE } from './vocab.js';
import { formatPhone } from './words.js';

const SEARCH_DELAY_MS = 250;
const CODE_ALPHABET = new RegExp(`^[${CARD_CODE.alphabet}]{${CARD_CODE.length}}$`);

// A card code as a person or a scanner types it: any case, with spaces or dashes.
function normaliseCode(text) {
  const s = text.replace(/[\s-]/g, '').toUpperCase();
  return CODE_ALPHABET.test(s) ? s : null;
}

let searchTimer = null;
let searchSeq = 0;
let searchAbort = null;

export function openFind() {
  showView('find');
  const input = $('#search');
  input.focus();
  input.select();
  if (!input.value.trim()) showNewest();
  else runSearch(input.value, false);
}

function onSearchInput() {
  clearTimeout(searchTimer);
  const q = $('#search').value;
  if (!q.trim()) {
    showNewest();
    return;
  }
  searchTimer = setTimeout(() => runSearch(q, false), SEARCH_DELAY_MS);
}

function onSearchSubmit(event) {
  event.preventDefault();
  clearTimeout(searchTimer);
  const q = $('#search').value;
  if (!q.trim()) {
    showNewest();
    return;
  }
  runSearch(q, true);
}

async function fetchCustomers(query, items) {
  searchAbort?.abort();
  searchAbort = new AbortController();
  const params = new URLSearchParams({ items: String(items) });
  if (query) params.set('search', query);
  return api('GET', storePath(`/customers?${params}`), { signal: searchAbort.signal });
}

async function showNewest() {
  const seq = ++searchSeq;
  const status = $('#find-status');
  status.textContent = 'Loading the newest customers…';
  try {
    const data = await fetchCustomers('', 10);
    if (seq !== searchSeq) return;
    if (!data.customers.length) {
      status.textContent = 'No customers yet. Enrol the first one!';
      $('#results').replaceChildren();
      return;
    }
    status.textContent = `Newest customers (${data.pagination.count} in all). Type to find someone.`;
    renderResults(data.customers, null, false);
  } catch (e) {
    if (e.name === 'AbortError' || seq !== searchSeq) return;
    status.textContent = `Could not load customers: ${describeError(e)}`;
  }
}

// Enter (what a barcode scanner sends after the code) opens the customer at once
// when the text is a card code or matches exactly one customer.
async function runSearch(query, enter) {
  const seq = ++searchSeq;
  const status = $('#find-status');
  status.textContent = 'Searching…';
  let data;
  try {
    data = await fetchCustomers(query.trim(), 20);
  } catch (e) {
    if (e.name === 'AbortError' || seq !== searchSeq) return;
    status.textContent = `Search failed: ${describeError(e)}`;
    return;
  }
  if (seq !== searchSeq) return;
  const code = normaliseCode(query);
  const byCode = code && data.customers.find((c) => c.customer_cards.some((cc) => cc.code === code));
  if (enter && (byCode || data.customers.length === 1)) {
    const customer = byCode || data.customers[0];
    const cc = customer.customer_cards.find((x) => x.code === code);
    openCustomerFrom(customer, cc ? cc.id : null);
    return;
  }
  const total = data.pagination.count;
  if (!total) {
    status.textContent = `No customer matches “${query.trim()}”.`;
    $('#results').replaceChildren();
    return;
  }
  status.textContent = total > data.customers.length
    ? `${total} customers match; showing the first ${data.customers.length}. Type more to narrow it down.`
    : `${plural(total, 'customer')} found.`;
  renderResults(data.customers, code, true);
}

// Contact details show only for what staff searched for: the idle list of newest
// customers is on a screen customers can see.
function renderResults(customers, code, searched) {
  const items = customers.map((c) => {
    const contact = searched ? [c.email, formatPhone(c.phone)].filter(Boolean).join(' · ') : '';
    const cardsText = c.customer_cards.length
      ? c.customer_cards.map((cc) => `${cc.card_name} ${cc.stamps_count}/${cc.stamps_required}`).join(', ')
      : 'No card';
    const matched = code && c.customer_cards.find((cc) => cc.code === code);
    return h('li', null, h('button', {
      type: 'button',
      class: 'result',
      dataset: { customerId: c.id },
      onclick: () => openCustomerFrom(c, matched ? matched.id : null),
    },
    h('span', { class: 'who' }, h('strong', { text: fullName(c) }), contact ? h('span', { text: contact }) : null),
    h('span', { class: 'what', text: cardsText })));
  });
  $('#results').replaceChildren(...items);
}

function onResultsKey(event) {
  const buttons = $$('#results button');
  const i = buttons.indexOf(document.activeElement);
  if (event.key === 'ArrowDown' && i < buttons.length - 1) {
    buttons[i + 1].focus();
    event.preventDefault();
  } else if (event.key === 'ArrowUp') {
    (i > 0 ? buttons[i - 1] : $('#search')).focus();
    event.preventDefault();
  }
}

function onSearchKey(event) {
  if (event.key === 'ArrowDown') {
    const first = $('#results button');
    if (first) {
      first.focus();
      event.preventDefault();
    }
  }
}

// ---------------------------------------------------------------- scanning with the camera

let scanFormats = [];

async function setUpScanner() {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  try {
    const supported = await window.BarcodeDetector.getSupportedFormats();
    scanFormats = ['qr_code', 'code_128'].filter((f) => supported.includes(f));
  } catch (_) {
    scanFormats = [];
  }
  $('#scan-button').hidden = scanFormats.length === 0;
}

let scanStream = null;
let scanning = false;

async function openScanner() {
  const dlg = $('#scanner');
  const status = $('#scanner-status');
  const video = $('#scanner-video');
  status.textContent = 'Starting the camera…';
  dlg.showModal();
  $('#scanner-cancel').focus();
  scanning = true;
  try {
    scanStream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (e) {
    status.textContent = e && e.name === 'NotAllowedError'
      ? 'The browser was not allowed to use the camera. Allow it in the site settings, or type the code.'
      : 'No camera could be started. Type the card code instead.';
    return;
  }
  if (!scanning) {
    stopScanner();
    return;
  }
  video.srcObject = scanStream;
  try {
    await video.play();
  } catch (_) { /* a muted inline video plays without a gesture */ }
  status.textContent = 'Hold the QR code or barcode of the card up to the camera.';
  const detector = new window.BarcodeDetector({ formats: scanFormats });
  while (scanning) {
    try {
      const found = await detector.detect(video);
      const value = found.length ? String(found[0].rawValue || '').trim() : '';
      if (value) {
        closeScanner();
        $('#search').value = value;
        runSearch(value, true);
        return;
      }
    } catch (_) { /* frame not ready yet */ }
    await sleep(150);
  }
}

function stopScanner() {
  scanning = false;
  if (scanStream) scanStream.getTracks().forEach((t) => t.stop());
  scanStream = null;
  $('#scanner-video').srcObject = null;
}

function closeScanner() {
  stopScanner();
  const dlg = $('#scanner');
  if (dlg.open) dlg.close();
  $('#search').focus();
}

// A barcode scanner types like a keyboard. When nothing editable has the focus, the
// first letter or digit moves the focus to the search box, so a scan works from any
// screen.
function onGlobalKey(event) {
  if (!session || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  if (!/^[A-Za-z0-9]$/.test(event.key)) return;
  const t = event.target;
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
  if (document.querySelector('dialog[open]')) return;
  if ($('#view-signin').hidden === false) return;
  $('#search').value = '';
  showFindForScan();
  $('#search').focus();
}

function showFindForScan() {
  if (!$('#view-find').hidden) return;
  markRoute('#/find');
  history.pushState(null, '', '#/find');
  showView('find');
  $('#results').replaceChildren();
  $('#find-status').textContent = '';
}

// What a scan typed, recognised by `scan-guard.js` wherever the focus was: opens the
// customer of the scanned code as Enter in the search box does.
export function openScanned(text) {
  if (!session || $('#view-signin').hidden === false) return;
  clearTimeout(searchTimer);
  showFindForScan();
  const input = $('#search');
  input.value = text;
  input.focus();
  runSearch(text, true);
}

export function wireFind() {
  $('#find-form').addEventListener('submit', onSearchSubmit);
  $('#search').addEventListener('input', onSearchInput);
  $('#search').addEventListener('keydown', onSearchKey);
  $('#results').addEventListener('keydown', onResultsKey);
  $('#scan-button').addEventListener('click', openScanner);
  $('#scanner-cancel').addEventListener('click', closeScanner);
  $('#scanner').addEventListener('close', stopScanner);
  document.addEventListener('keydown', onGlobalKey);
  setUpScanner();
}
