// stampd counter page: find, stamp, redeem and enrol at the shop counter.
// It speaks only the public JSON API under /api/v1 with the token the staff signed in with.
'use strict';

(() => {
  // ---------------------------------------------------------------- constants

  const GLYPHS = {
    coffee: '☕', star: '★', heart: '♥', check: '✓', cup: '🥤', cake: '🍰',
    croissant: '🥐', pizza: '🍕', burger: '🍔', ice_cream: '🍦', donut: '🍩',
    beer: '🍺', wine: '🍷', cocktail: '🍸', leaf: '🍃', flower: '✿', scissors: '✂',
    paw: '🐾', gift: '🎁', smile: '☺', crown: '♛', diamond: '◆', bolt: '⚡',
    music: '♪', book: '📖', dumbbell: '🏋', car: '🚗',
  };
  const glyph = (icon) => GLYPHS[icon] || '●';

  const DEFAULT_DESIGN = {
    name: 'New card', header_text: null, card_color: '#3B2F2F', text_color: '#FFFFFF',
    stamp_icon: 'star', stamp_color: '#F5B041', stamp_background_color: '#5D4E4E',
    stamps_required: 10, initial_stamps: 0, show_member_field: true,
    show_stamps_to_reward_field: true, expires_at: null,
  };

  const SESSION_KEY = 'stampd.counter.session';
  const SEARCH_DELAY_MS = 250;
  // Waits between attempts of a request that did not get through; then it is "failed"
  // and waits for the staff to retry it (with the same Idempotency-Key) or cancel it.
  const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
  const CODE_ALPHABET = /^[34679ACDEFGHJKMNPQRTUVWXY]{8}$/;

  // ---------------------------------------------------------------- small helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'style') for (const [p, val] of Object.entries(v)) el.style.setProperty(p, val);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const plural = (n, one, many = `${one}s`) => `${n} ${Math.abs(n) === 1 ? one : many}`;

  function fullName(c) {
    return [c.first_name, c.last_name].filter(Boolean).join(' ');
  }

  function formatWhen(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || '';
    const now = new Date();
    const sameDay = d.toDateString() === now.toDateString();
    return sameDay
      ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  }

  function formatDate(ymd) {
    if (!ymd) return '';
    const d = new Date(`${ymd}T12:00:00Z`);
    return Number.isNaN(d.getTime()) ? ymd : d.toLocaleDateString([], { dateStyle: 'long' });
  }

  // An Idempotency-Key: random, and made without crypto.randomUUID, which plain-http
  // shop networks do not offer.
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return `counter-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  function normaliseCode(text) {
    const s = text.replace(/[\s-]/g, '').toUpperCase();
    return CODE_ALPHABET.test(s) ? s : null;
  }

  const isHexColour = (s) => /^#[0-9a-fA-F]{6}$/.test(s || '');

  // ---------------------------------------------------------------- session

  let session = loadSession();

  function loadSession() {
    try {
      const s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
      if (s && typeof s.token === 'string' && Number.isInteger(s.storeId)) return s;
    } catch (_) { /* unreadable storage: sign in again */ }
    return null;
  }

  function saveSession(s) {
    session = s;
    try {
      localStorage.setItem(SESSION_KEY, JSON.stringify(s));
    } catch (_) {
      notify('This browser does not let the page remember the token; you will have to sign in again after a reload.', true);
    }
  }

  function forgetSession() {
    session = null;
    try { localStorage.removeItem(SESSION_KEY); } catch (_) { /* nothing kept */ }
  }

  const storePath = (rest = '') => `/accounts/${session.storeId}${rest}`;

  // ---------------------------------------------------------------- API client

  class HttpError extends Error {
    constructor(status, body, retryAfter) {
      super((body && body.error) || `stampd answered ${status}`);
      this.status = status;
      this.body = body || {};
      this.retryAfter = retryAfter;
    }

    get fieldErrors() {
      return (this.body && this.body.errors) || {};
    }
  }

  class NetworkError extends Error {}

  async function api(method, path, { body, key, token, signal } = {}) {
    const headers = { Accept: 'application/json' };
    const bearer = token || (session && session.token);
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    if (key) headers['Idempotency-Key'] = key;
    let res;
    let text = '';
    try {
      res = await fetch(`/api/v1${path}`, {
        method, headers, body: payload, signal, cache: 'no-store', credentials: 'omit',
      });
      if (res.status !== 204) text = await res.text();
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new NetworkError('No connection to stampd');
    }
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!res.ok) {
      const err = new HttpError(res.status, data, Number(res.headers.get('Retry-After')) || 0);
      if (res.status === 401 && !token) signedOut('stampd no longer accepts this token. Sign in again.');
      throw err;
    }
    return data;
  }

  const retryable = (e) => e instanceof NetworkError
    || (e instanceof HttpError && (e.status >= 500 || e.status === 429 || e.status === 408));

  function describeError(e) {
    if (e instanceof NetworkError) return 'No connection to stampd.';
    if (e instanceof HttpError) {
      if (e.status === 429) return `Too many requests; wait ${e.retryAfter || 'a few'} seconds.`;
      if (e.status >= 500) return 'stampd had a problem (server error).';
      const fields = Object.entries(e.fieldErrors)
        .map(([f, msgs]) => `${f.replace(/_/g, ' ')} ${msgs.join(', ')}`);
      return fields.length ? `${e.message}: ${fields.join('; ')}.` : `${e.message}.`;
    }
    return String(e && e.message ? e.message : e);
  }

  // Sends one write with an Idempotency-Key, retrying what did not get through with the
  // same key and body, so that a retry is answered from stampd's record and never done
  // twice. `op.state` goes sending → retrying → (resolved) or failed; `onChange` redraws.
  async function sendReliably(op, onChange = () => {}) {
    op.key = op.key || newKey();
    const body = typeof op.body === 'string' ? op.body : JSON.stringify(op.body);
    op.body = body;
    op.attempt = 0;
    for (;;) {
      op.attempt += 1;
      op.state = op.attempt === 1 ? 'sending' : 'retrying';
      onChange();
      try {
        const result = await api(op.method, op.path, { body, key: op.key });
        op.state = 'done';
        return result;
      } catch (e) {
        op.error = e;
        if (!retryable(e)) {
          op.state = 'refused';
          throw e;
        }
        if (op.attempt > RETRY_DELAYS_MS.length) {
          op.state = 'failed';
          onChange();
          throw e;
        }
        let wait = RETRY_DELAYS_MS[op.attempt - 1];
        if (e instanceof HttpError && e.status === 429) wait = Math.max(wait, e.retryAfter * 1000);
        op.state = 'retrying';
        onChange();
        await sleep(wait);
      }
    }
  }

  // ---------------------------------------------------------------- notices & dialogs

  let noticeTimer = null;

  function notify(text, bad = false) {
    const box = $('#notice');
    $('#notice-text').textContent = text;
    box.classList.toggle('bad', bad);
    box.setAttribute('role', bad ? 'alert' : 'status');
    box.hidden = false;
    clearTimeout(noticeTimer);
    if (!bad) noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function clearNotice() {
    $('#notice').hidden = true;
  }

  function confirmDialog({ title, text, ok = 'OK', cancel = 'Cancel', danger = false }) {
    const dlg = $('#confirm');
    $('#confirm-title').textContent = title;
    $('#confirm-text').textContent = text;
    const okButton = $('#confirm-ok');
    okButton.textContent = ok;
    okButton.className = danger ? 'danger' : 'primary';
    $('#confirm-cancel').textContent = cancel;
    const opener = document.activeElement;
    return new Promise((resolve) => {
      dlg.returnValue = 'cancel';
      const closed = () => {
        dlg.removeEventListener('close', closed);
        resolve(dlg.returnValue === 'ok');
        if (opener && opener.isConnected) opener.focus();
      };
      dlg.addEventListener('close', closed);
      dlg.showModal();
      okButton.focus();
    });
  }

  // Shows the API's 422 messages beside the fields of a form whose inputs are named
  // `<prefix>-<field>`; messages for fields the form does not have go to `<prefix>-form-error`.
  function showFieldErrors(prefix, err) {
    clearFieldErrors(prefix);
    const loose = [];
    let first = null;
    for (const [field, messages] of Object.entries(err.fieldErrors || {})) {
      const input = document.getElementById(`${prefix}-${field}`);
      const slot = document.getElementById(`${prefix}-${field}-error`);
      const label = input && input.labels && input.labels[0]
        ? input.labels[0].firstChild.textContent.trim() : field.replace(/_/g, ' ');
      const text = messages.map((m) => `${label} ${m}`).join('. ');
      if (input && slot) {
        input.setAttribute('aria-invalid', 'true');
        slot.textContent = text;
        if (!first) first = input;
      } else {
        loose.push(text);
      }
    }
    const formError = document.getElementById(`${prefix}-form-error`);
    if (formError) {
      const summary = first ? 'Please correct the marked fields.' : err.message || 'Not saved.';
      formError.textContent = [summary, ...loose].join(' ');
    }
    (first || formError).focus?.();
  }

  function clearFieldErrors(prefix) {
    $$(`[id^="${prefix}-"][aria-invalid]`).forEach((el) => el.removeAttribute('aria-invalid'));
    $$(`[id^="${prefix}-"].error`).forEach((el) => { el.textContent = ''; });
  }

  function showFormError(prefix, text) {
    clearFieldErrors(prefix);
    const slot = document.getElementById(`${prefix}-form-error`);
    if (slot) slot.textContent = text;
  }

  // Disables a form's submit button while a request is out.
  async function busy(button, label, work) {
    const before = button.textContent;
    button.disabled = true;
    button.textContent = label;
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.textContent = before;
    }
  }

  // ---------------------------------------------------------------- catalog (cards & rewards)

  const catalog = { cards: new Map(), rewards: [], storeId: null, at: 0 };

  async function loadCatalog(force = false) {
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

  function rememberCard(card) {
    catalog.cards.set(card.id, card);
  }

  // ---------------------------------------------------------------- the card face

  function cardFace(design, { count = 0, member = null, code = null, next = null, label = null } = {}) {
    const d = { ...DEFAULT_DESIGN, ...design };
    const required = Math.max(1, Math.min(21, Number(d.stamps_required) || 1));
    const filled = Math.max(0, Math.min(count, required));
    const style = {};
    for (const [prop, value] of [['--card', d.card_color], ['--text', d.text_color],
      ['--stamp', d.stamp_color], ['--stamp-bg', d.stamp_background_color]]) {
      if (isHexColour(value)) style[prop] = value;
    }
    const icon = glyph(d.stamp_icon);
    const slots = [];
    for (let i = 0; i < required; i += 1) {
      const on = i < filled;
      slots.push(h('li', { class: `stamp ${on ? 'filled' : 'empty'}`, 'aria-hidden': 'true' }, icon));
    }
    return h('div', { class: 'face', style },
      h('p', { class: 'face-store', text: session ? session.storeName : '' }),
      h('p', { class: 'face-name', text: d.name || 'Untitled card' }),
      d.header_text ? h('p', { class: 'face-header', text: d.header_text }) : null,
      member && d.show_member_field ? h('p', { class: 'face-member', text: member }) : null,
      h('ol', { class: 'stamps', role: 'img', 'aria-label': label || `${count} of ${required} stamps` }, slots),
      h('p', { class: 'face-count', text: `${count} / ${required} stamps` }),
      next && d.show_stamps_to_reward_field ? h('p', { class: 'face-next', text: next }) : null,
      code ? h('p', { class: 'face-code', text: `Code ${code}` }) : null);
  }

  // ---------------------------------------------------------------- routing

  const views = ['signin', 'find', 'customer', 'enrol', 'cards', 'card', 'missing'];
  let currentRoute = '';

  function showView(name) {
    for (const v of views) $(`#view-${v}`).hidden = v !== name;
    const nav = { find: 'find', customer: 'find', enrol: 'enrol', cards: 'cards', card: 'cards' }[name];
    $$('[data-nav]').forEach((a) => {
      if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
  }

  function go(hash) {
    if (location.hash === hash) route(true);
    else location.hash = hash;
  }

  function route(force = false) {
    if (!session) {
      showSignIn();
      return;
    }
    const hash = location.hash || '#/find';
    if (!force && hash === currentRoute) return;
    currentRoute = hash;
    let m;
    if (hash === '#/find' || hash === '#/' || hash === '#') openFind();
    else if ((m = hash.match(/^#\/customer\/(\d+)$/))) openCustomer(Number(m[1]));
    else if (hash === '#/enrol') openEnrol();
    else if (hash === '#/cards') openCards();
    else if (hash === '#/cards/new') openCardEditor(null);
    else if ((m = hash.match(/^#\/cards\/(\d+)$/))) openCardEditor(Number(m[1]));
    else {
      showView('missing');
      $('#missing-title').focus();
    }
  }

  const focusHeading = (id) => { const el = document.getElementById(id); if (el) el.focus(); };

  // ---------------------------------------------------------------- sign-in

  let pendingToken = null;

  function showSignIn(message) {
    $('#topbar').hidden = true;
    currentRoute = '';
    pendingToken = null;
    showView('signin');
    $('#store-choice').hidden = true;
    $('#signin-form').hidden = false;
    $('#signin-error').textContent = message || '';
    if (message) $('#signin-token').setAttribute('aria-invalid', 'true');
    else $('#signin-token').removeAttribute('aria-invalid');
    $('#signin-token').focus();
  }

  function signedOut(message) {
    forgetSession();
    showSignIn(message);
  }

  async function signIn(event) {
    event.preventDefault();
    const input = $('#signin-token');
    const token = input.value.trim();
    const error = $('#signin-error');
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    if (!token) {
      error.textContent = 'Paste the API token first.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    let stores;
    try {
      stores = await busy($('#signin-submit'), 'Checking…', () => api('GET', '/accounts', { token }));
    } catch (e) {
      error.textContent = e instanceof HttpError && e.status === 401
        ? 'That token was not accepted. Check it and try again.'
        : `Could not sign in: ${describeError(e)}`;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    input.value = '';
    chooseStore(token, stores);
  }

  function chooseStore(token, stores) {
    if (!stores.length) {
      $('#signin-form').hidden = false;
      $('#signin-error').textContent = 'This token does not reach any store.';
      return;
    }
    if (stores.length === 1) {
      startSession(token, stores[0], false);
      return;
    }
    pendingToken = token;
    const list = $('#store-list');
    list.replaceChildren(...stores.map((s) => h('li', null,
      h('button', {
        type: 'button',
        class: 'secondary',
        dataset: { storeId: s.id },
        onclick: () => startSession(token, s, true),
      }, s.display_store_name))));
    $('#signin-form').hidden = true;
    $('#store-choice').hidden = false;
    $('#store-cancel').hidden = !session;
    $('#topbar').hidden = true;
    showView('signin');
    focusHeading('store-choice-title');
  }

  function startSession(token, store, several) {
    pendingToken = null;
    saveSession({ token, storeId: store.id, storeName: store.display_store_name, several });
    catalog.at = 0;
    $('#store-choice').hidden = true;
    $('#signin-form').hidden = false;
    showApp();
    if (!location.hash.startsWith('#/') || location.hash === '#/find') go('#/find');
    else route(true);
  }

  function showApp() {
    $('#topbar').hidden = false;
    $('#store-name').textContent = session.storeName;
    $('#change-store').hidden = !session.several;
    updatePendingBadge();
  }

  async function changeStore() {
    try {
      const stores = await api('GET', '/accounts');
      chooseStore(session.token, stores);
    } catch (e) {
      if (!(e instanceof HttpError && e.status === 401)) notify(`Could not load the stores: ${describeError(e)}`, true);
    }
  }

  async function signOut() {
    if (pendingCount() > 0) {
      const ok = await confirmDialog({
        title: 'Sign out with requests pending?',
        text: 'Some stamps or redemptions have not reached stampd yet. Signing out drops them.',
        ok: 'Sign out anyway',
        danger: true,
      });
      if (!ok) return;
      queues.clear();
    }
    clearNotice();
    signedOut('');
    history.replaceState(null, '', location.pathname);
  }

  // Checks a remembered token in the background and refreshes the store's name.
  async function checkSession() {
    try {
      const stores = await api('GET', '/accounts');
      const store = stores.find((s) => s.id === session.storeId);
      if (!store) {
        chooseStore(session.token, stores);
        $('#store-cancel').hidden = true;
        return;
      }
      saveSession({ ...session, storeName: store.display_store_name, several: stores.length > 1 });
      showApp();
    } catch (e) {
      if (e instanceof NetworkError) notify('stampd cannot be reached right now; the page keeps trying when you act.', true);
    }
  }

  // ---------------------------------------------------------------- find

  let searchTimer = null;
  let searchSeq = 0;
  let searchAbort = null;

  function openFind() {
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
      renderResults(data.customers, null);
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
    renderResults(data.customers, code);
  }

  function renderResults(customers, code) {
    const items = customers.map((c) => {
      const contact = [c.email, c.phone].filter(Boolean).join(' · ');
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
      h('span', { class: 'who' }, h('strong', { text: fullName(c) }), h('span', { text: contact })),
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

  // ---------------------------------------------------------------- stamp & redeem queues

  // One queue per customer card: its writes go out one after another, each with its own
  // Idempotency-Key, and survive leaving the customer's screen.
  const queues = new Map();

  function queueFor(customerId, ccId) {
    const id = `${session.storeId}:${customerId}:${ccId}`;
    if (!queues.has(id)) {
      queues.set(id, {
        id, customerId, ccId, ops: [], messages: [], running: false, lastStamp: null,
      });
    }
    return queues.get(id);
  }

  function pendingCount() {
    let n = 0;
    for (const q of queues.values()) n += q.ops.length;
    return n;
  }

  function updatePendingBadge() {
    const link = $('#pending-link');
    let pending = 0;
    let failed = null;
    for (const q of queues.values()) {
      pending += q.ops.length;
      if (!failed && q.ops.some((op) => op.state === 'failed')) failed = q;
    }
    link.hidden = pending === 0;
    link.classList.toggle('failed', Boolean(failed));
    if (pending) {
      const first = failed || [...queues.values()].find((q) => q.ops.length);
      link.href = `#/customer/${first.customerId}`;
      link.textContent = failed ? 'A request failed – open' : `${plural(pending, 'request')} pending`;
    }
  }

  function enqueue(q, op) {
    op.id = newKey();
    op.state = 'queued';
    q.ops.push(op);
    drawQueue(q);
    runQueue(q);
  }

  async function runQueue(q) {
    if (q.running) return;
    q.running = true;
    try {
      while (q.ops.length && q.ops[0].state !== 'failed') {
        const op = q.ops[0];
        let result;
        try {
          result = await sendReliably(op, () => drawQueue(q));
        } catch (e) {
          if (op.state === 'failed') break;
          q.ops.shift();
          if (e instanceof HttpError && e.status === 401) {
            q.ops.length = 0;
            break;
          }
          addMessage(q, 'refused', `${op.label} was refused: ${describeError(e)}`);
          drawQueue(q);
          continue;
        }
        q.ops.shift();
        try {
          await op.done(result);
        } catch (e) {
          addMessage(q, 'refused', `${op.label} was done, but the screen could not be updated: ${describeError(e)}`);
        }
        drawQueue(q);
      }
    } finally {
      q.running = false;
      drawQueue(q);
    }
  }

  function retryOp(q) {
    const op = q.ops[0];
    if (!op || op.state !== 'failed') return;
    op.state = 'queued';
    drawQueue(q);
    runQueue(q);
  }

  // Cancelling a request that may have reached stampd: the screen then shows the card
  // as stampd has it, so staff see whether it was done.
  async function cancelOp(q) {
    const op = q.ops[0];
    if (!op || op.state !== 'failed') return;
    q.ops.shift();
    addMessage(q, 'refused', `${op.label} was cancelled. If stampd got it before the connection dropped, it shows below.`);
    drawQueue(q);
    runQueue(q);
    await refreshCard(q);
  }

  function addMessage(q, kind, text) {
    const message = { id: newKey(), kind, text };
    const kept = kind === 'done' ? q.messages.filter((m) => m.kind !== 'done') : q.messages;
    q.messages = [...kept.slice(-2), message];
    if (kind === 'done') {
      setTimeout(() => {
        q.messages = q.messages.filter((m) => m !== message);
        drawQueue(q);
      }, 8000);
    }
  }

  const OP_TEXT = {
    queued: (op) => `${op.label}: waiting for the request before it…`,
    sending: (op) => `${op.label}: sending…`,
    retrying: (op) => `${op.label}: no answer yet, trying again (attempt ${op.attempt + 1})…`,
    failed: (op) => `${op.label} did not get through: ${describeError(op.error)} Retrying is safe: stampd never counts it twice.`,
  };

  function drawQueue(q) {
    updatePendingBadge();
    if (!customerScreen || customerScreen.id !== q.customerId) return;
    const list = document.getElementById(`cc-${q.ccId}-ops`);
    if (!list) return;
    const focused = document.activeElement && list.contains(document.activeElement)
      ? document.activeElement.dataset.fid : null;
    const items = q.ops.map((op, i) => h('li', { class: `op ${op.state}`, dataset: { state: op.state } },
      h('span', { text: (OP_TEXT[op.state] || OP_TEXT.sending)(op) }),
      i === 0 && op.state === 'failed' ? [
        h('button', { type: 'button', class: 'primary', dataset: { fid: 'retry' }, onclick: () => retryOp(q) }, 'Retry'),
        h('button', { type: 'button', class: 'secondary', dataset: { fid: 'cancel' }, onclick: () => cancelOp(q) }, 'Cancel'),
      ] : null));
    for (const m of q.messages) {
      items.push(h('li', { class: `op ${m.kind}`, dataset: { state: m.kind } },
        h('span', { text: m.text }),
        h('button', {
          type: 'button',
          class: 'quiet',
          dataset: { fid: `dismiss-${m.id}` },
          'aria-label': 'Dismiss message',
          onclick: () => {
            q.messages = q.messages.filter((x) => x !== m);
            drawQueue(q);
            const plus = document.querySelector(`#cc-${q.ccId} .plus-one`);
            if (plus) plus.focus();
          },
        }, '✕')));
    }
    list.replaceChildren(...items);
    if (focused) {
      const again = list.querySelector(`[data-fid="${focused}"]`);
      if (again) again.focus();
    }
    const section = document.getElementById(`cc-${q.ccId}`);
    if (section) section.setAttribute('aria-busy', q.ops.some((op) => op.state !== 'failed') ? 'true' : 'false');
  }

  // ---------------------------------------------------------------- customer screen

  let customerScreen = null;
  // What the next customer screen opens with: the customer as the search or enrolment
  // returned it (drawn at once, then reloaded), the card to highlight, and the card whose
  // QR code to show large after enrolment.
  let prefetchedCustomer = null;
  let highlightCard = null;
  let welcomeCard = null;

  function openCustomerFrom(customer, ccId, welcome = false) {
    customerScreen = null;
    prefetchedCustomer = customer;
    highlightCard = ccId;
    welcomeCard = welcome ? ccId : null;
    go(`#/customer/${customer.id}`);
  }

  async function openCustomer(id) {
    showView('customer');
    $('#customer-form').hidden = true;
    $('#edit-customer').hidden = false;
    $('#customer-error').hidden = true;
    $('#customer-welcome').hidden = true;
    const fromList = prefetchedCustomer && prefetchedCustomer.id === id ? prefetchedCustomer : null;
    const screen = {
      id,
      customer: null,
      cards: new Map(),
      events: new Map(),
      severalValue: new Map(),
      qrOpen: new Set(),
      highlight: fromList ? highlightCard : null,
      welcome: fromList ? welcomeCard : null,
    };
    prefetchedCustomer = null;
    highlightCard = null;
    welcomeCard = null;
    customerScreen = screen;
    if (fromList) {
      screen.customer = fromList;
      drawCustomer(screen);
    } else {
      $('#customer-name').textContent = 'Loading…';
      $('#customer-contact').replaceChildren();
      $('#customer-cards').replaceChildren();
    }
    focusHeading('customer-name');
    try {
      const [customer] = await Promise.all([
        api('GET', storePath(`/customers/${id}`)),
        loadCatalog(true),
      ]);
      if (customerScreen !== screen) return;
      screen.customer = customer;
      drawCustomer(screen);
      for (const cc of customer.customer_cards) loadEvents(screen, cc.id);
    } catch (e) {
      if (customerScreen !== screen) return;
      const panel = $('#customer-error');
      panel.hidden = false;
      if (e instanceof HttpError && e.status === 404) {
        panel.replaceChildren(h('p', { text: 'This customer is not in this store (any more).' }));
        $('#customer-name').textContent = 'Customer not found';
        $('#edit-customer').hidden = true;
        $('#customer-cards').replaceChildren();
      } else {
        panel.replaceChildren(
          h('p', { text: `Could not load this customer: ${describeError(e)}` }),
          h('button', { type: 'button', class: 'secondary', onclick: () => route(true) }, 'Try again'),
        );
      }
    }
  }

  function drawCustomer(screen) {
    const c = screen.customer;
    drawContact(c);
    for (const cc of c.customer_cards) screen.cards.set(cc.id, cc);
    drawWelcome(screen);
    const container = $('#customer-cards');
    if (!c.customer_cards.length) {
      container.replaceChildren(h('p', { class: 'no-cards', text: 'This customer has no card yet.' }));
      return;
    }
    container.replaceChildren(...c.customer_cards.map((cc) => cardSection(screen, cc.id)));
    for (const cc of c.customer_cards) drawQueue(queueFor(c.id, cc.id));
  }

  function drawContact(c) {
    $('#customer-name').textContent = fullName(c);
    const rows = [];
    const row = (label, value) => { if (value) rows.push(h('dt', { text: label }), h('dd', { text: value })); };
    row('Email', c.email);
    row('Phone', c.phone);
    row('Birthday', formatDate(c.birthday));
    row('Stamps', String(c.stamp_count));
    row('Customer since', formatWhen(c.created_at));
    $('#customer-contact').replaceChildren(...rows);
  }

  function replaceCardSection(screen, ccId) {
    if (customerScreen !== screen) return;
    const old = document.getElementById(`cc-${ccId}`);
    if (!old) return;
    const fid = document.activeElement && old.contains(document.activeElement)
      ? document.activeElement.dataset.fid : null;
    const fresh = cardSection(screen, ccId);
    old.replaceWith(fresh);
    drawQueue(queueFor(screen.id, ccId));
    if (fid) {
      const again = fresh.querySelector(`[data-fid="${fid}"]`);
      if (again) again.focus();
      else {
        const plus = fresh.querySelector('.plus-one');
        if (plus) plus.focus();
      }
    }
  }

  function cardSection(screen, ccId) {
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
    const archived = cc.status === 'archived';
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
      actions.push(h('button', {
        type: 'button',
        class: 'primary plus-one',
        dataset: { fid: 'plus-one' },
        'aria-label': `Give 1 stamp on ${cc.card_name}`,
        onclick: () => stamp(screen, ccId, 1),
      }, '+1'));
      const severalId = `cc-${ccId}-several`;
      const severalError = `cc-${ccId}-several-error`;
      const input = h('input', {
        id: severalId,
        type: 'number',
        min: '1',
        max: '100',
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
        if (!Number.isInteger(n) || n < 1 || n > 100) {
          slot.textContent = 'Enter a whole number from 1 to 100.';
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        slot.textContent = '';
        input.removeAttribute('aria-invalid');
        if (sign > 0) stamp(screen, ccId, n);
        else removeStamps(screen, ccId, n);
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
          onclick: () => undo(screen, ccId),
        }, `Undo +${q.lastStamp.stamps} (${formatWhen(q.lastStamp.at)})`));
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
          onclick: () => redeem(screen, ccId, r),
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
    h('h3', { id: titleId, class: 'visually-hidden', text: `${cc.card_name} card` }),
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
        replaceCardSection(screen, ccId);
      },
    }, qrShown ? 'Hide web card QR code' : 'Show web card QR code')));
  }

  // The QR code of the card's web card link, for the customer's phone.
  function webCardQr(cc, customer, welcome) {
    const url = `${location.origin}/c/${cc.uuid}`;
    return h('div', { class: `cc-qr${welcome ? ' welcome' : ''}` },
      h('h3', { text: welcome ? 'Scan with your phone to get your card' : `Web card: ${cc.card_name}` }),
      h('img', {
        src: `/c/${encodeURIComponent(cc.uuid)}/qr.svg`,
        alt: `QR code of the link to ${fullName(customer)}'s ${cc.card_name} web card`,
        width: '260',
        height: '260',
      }),
      h('p', null, h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: url })));
  }

  function drawWelcome(screen) {
    const box = $('#customer-welcome');
    const cc = screen.welcome && screen.cards.get(screen.welcome);
    if (!cc) {
      box.replaceChildren();
      box.hidden = true;
      return;
    }
    const qr = webCardQr(cc, screen.customer, true);
    qr.append(h('button', {
      type: 'button',
      class: 'secondary',
      onclick: () => {
        const ccId = screen.welcome;
        screen.welcome = null;
        drawWelcome(screen);
        replaceCardSection(screen, ccId);
        const plus = document.querySelector(`#cc-${ccId} .plus-one`);
        if (plus) plus.focus();
      },
    }, 'Done: hide the QR code'));
    box.replaceChildren(qr);
    box.hidden = false;
  }

  function ledgerItem(ev) {
    const sign = ev.stamps > 0 ? 'plus' : 'minus';
    const what = {
      welcome_bonus: 'Welcome stamps',
      stamp: ev.stamps === 1 ? 'Stamp' : 'Stamps',
      adjustment: 'Correction',
      redemption: `Redeemed ${ev.reward_name || 'a reward'}`,
    }[ev.kind] || ev.kind;
    return h('li', { dataset: { kind: ev.kind } },
      h('span', { class: `delta ${sign}`, text: ev.stamps > 0 ? `+${ev.stamps}` : `−${Math.abs(ev.stamps)}` }),
      h('span', { class: 'what' }, what, ev.note ? ` – ${ev.note}` : '', ` (${ev.balance_after} after)`),
      h('time', { class: 'when', datetime: ev.created_at, text: formatWhen(ev.created_at) }));
  }

  const ccPath = (customerId, ccId, rest = '') => storePath(`/customers/${customerId}/customer_cards/${ccId}${rest}`);

  async function loadEvents(screen, ccId) {
    try {
      const data = await api('GET', ccPath(screen.id, ccId, '/events?items=5'));
      screen.events.set(ccId, data.events);
    } catch (e) {
      const list = [];
      list.error = describeError(e);
      screen.events.set(ccId, list);
    }
    replaceCardSection(screen, ccId);
  }

  // Applies a card as stampd returned it, to whichever screen of that customer is open.
  function applyCard(customerId, card) {
    const screen = customerScreen;
    if (!screen || screen.id !== customerId || !screen.customer) return;
    screen.cards.set(card.id, card);
    screen.customer.customer_cards = screen.customer.customer_cards.map((cc) => (cc.id === card.id ? card : cc));
    screen.customer.stamp_count = screen.customer.customer_cards.reduce((n, cc) => n + cc.stamps_count, 0);
    drawContact(screen.customer);
    replaceCardSection(screen, card.id);
    loadEvents(screen, card.id);
  }

  async function refreshCard(q) {
    try {
      const card = await api('GET', ccPath(q.customerId, q.ccId));
      applyCard(q.customerId, card);
    } catch (e) {
      addMessage(q, 'refused', `Could not reload the card: ${describeError(e)}`);
      drawQueue(q);
    }
  }

  function stamp(screen, ccId, n) {
    const q = queueFor(screen.id, ccId);
    enqueue(q, {
      label: n === 1 ? '+1 stamp' : `+${n} stamps`,
      method: 'POST',
      path: ccPath(screen.id, ccId, '/stamp'),
      body: { stamps: n },
      done: async (card) => {
        q.lastStamp = { stamps: n, at: new Date().toISOString() };
        addMessage(q, 'done', `${n === 1 ? '1 stamp' : `${n} stamps`} given: ${card.stamps_count} on the card.`);
        applyCard(screen.id, card);
      },
    });
  }

  async function removeStamps(screen, ccId, n) {
    const cc = screen.cards.get(ccId);
    const ok = await confirmDialog({
      title: `Remove ${plural(n, 'stamp')}?`,
      text: `This corrects ${fullName(screen.customer)}'s ${cc.card_name} card from ${cc.stamps_count} to ${cc.stamps_count - n} stamps.`,
      ok: `Remove ${plural(n, 'stamp')}`,
      danger: true,
    });
    if (!ok) return;
    correction(screen, ccId, n, 'Corrected at the counter', false);
  }

  function undo(screen, ccId) {
    const q = queueFor(screen.id, ccId);
    if (!q.lastStamp) return;
    const { stamps: n } = q.lastStamp;
    q.lastStamp = null;
    correction(screen, ccId, n, 'Undo at the counter', true);
  }

  function correction(screen, ccId, n, note, isUndo) {
    const q = queueFor(screen.id, ccId);
    enqueue(q, {
      label: isUndo ? `Undo of +${n}` : `Removing ${plural(n, 'stamp')}`,
      method: 'POST',
      path: ccPath(screen.id, ccId, '/stamp'),
      body: { stamps: -n, note },
      done: async (card) => {
        addMessage(q, 'done', `${isUndo ? 'Undone' : 'Removed'}: ${plural(n, 'stamp')} taken off, ${card.stamps_count} on the card.`);
        applyCard(screen.id, card);
      },
    });
    replaceCardSection(screen, ccId);
  }

  async function redeem(screen, ccId, reward) {
    const cc = screen.cards.get(ccId);
    const ok = await confirmDialog({
      title: `Redeem ${reward.name}?`,
      text: `${fullName(screen.customer)} gets ${reward.name}${reward.description ? ` (${reward.description})` : ''}. `
        + `${plural(reward.stamps_required, 'stamp')} come off the ${cc.card_name} card: ${cc.stamps_count} → ${cc.stamps_count - reward.stamps_required}.`,
      ok: 'Redeem',
    });
    if (!ok) return;
    const q = queueFor(screen.id, ccId);
    enqueue(q, {
      label: `Redeeming ${reward.name}`,
      method: 'POST',
      path: ccPath(screen.id, ccId, '/redeem'),
      body: { reward_id: reward.id },
      done: async (result) => {
        const r = result.redemption;
        addMessage(q, 'done', `Redeemed ${r.reward_name}: ${plural(r.stamps_spent, 'stamp')} spent, ${r.stamps_remaining} left.`);
        notify(`Redeemed ${r.reward_name} for ${fullName(screen.customer)}.`);
        await refreshCard(q);
      },
    });
  }

  function openCustomerForm() {
    const c = customerScreen && customerScreen.customer;
    if (!c) return;
    clearFieldErrors('edit');
    $('#customer-form-error').textContent = '';
    for (const f of ['first_name', 'last_name', 'email', 'phone', 'birthday']) {
      document.getElementById(`edit-${f}`).value = c[f] || '';
    }
    $('#customer-form').hidden = false;
    $('#edit-customer').hidden = true;
    $('#edit-first_name').focus();
  }

  function closeCustomerForm() {
    $('#customer-form').hidden = true;
    $('#edit-customer').hidden = false;
    $('#edit-customer').focus();
  }

  async function saveCustomer(event) {
    event.preventDefault();
    const screen = customerScreen;
    if (!screen || !screen.customer) return;
    const attrs = {};
    for (const f of ['first_name', 'last_name', 'email', 'phone', 'birthday']) {
      const v = document.getElementById(`edit-${f}`).value.trim();
      attrs[f] = v === '' ? null : v;
    }
    clearFieldErrors('edit');
    $('#customer-form-error').textContent = '';
    const op = { method: 'PATCH', path: storePath(`/customers/${screen.id}`), body: { customer: attrs } };
    const button = $('#customer-form button[type=submit]');
    try {
      const customer = await busy(button, 'Saving…', () => sendReliably(op));
      if (customerScreen !== screen) return;
      screen.customer = customer;
      drawCustomer(screen);
      closeCustomerForm();
      notify('Details saved.');
    } catch (e) {
      if (e instanceof HttpError && e.status === 422) showFieldErrors('edit', e);
      else showFormError('customer-form', `Not saved: ${describeError(e)}`);
    }
  }

  // ---------------------------------------------------------------- enrol

  async function openEnrol() {
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
    const active = [...catalog.cards.values()].filter((c) => !c.archived_at);
    const options = active.map((c) => h('option', { value: c.id }, `${c.name} (${plural(c.stamps_required, 'stamp')})`));
    options.push(h('option', { value: '' }, 'No card for now'));
    select.replaceChildren(...options);
    if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
    $('#enrol-first_name').focus();
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
      if (e instanceof HttpError && e.status === 422) showFieldErrors('enrol', e);
      else showFormError('enrol', `Not enrolled: ${describeError(e)}`);
      return;
    }
    $('#enrol-form').reset();
    $('#enrol-send_card_links').checked = true;
    const newCard = created.customer_card ? created.customer_card.id : null;
    const sent = body.send_card_links && newCard ? ' The card link is on its way.' : '';
    notify(`${fullName(created)} is enrolled.${sent}`);
    openCustomerFrom(created, newCard, true);
  }

  // ---------------------------------------------------------------- cards & rewards

  async function openCards() {
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

  async function setArchived(card, archived) {
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

  let editing = null;
  const CARD_TEXT_FIELDS = ['name', 'header_text', 'card_color', 'text_color', 'stamp_color', 'stamp_background_color'];

  function fillIconSelect() {
    const select = $('#card-stamp_icon');
    if (select.options.length) return;
    for (const [name, g] of Object.entries(GLYPHS)) {
      const label = name.replace(/_/g, ' ');
      select.append(h('option', { value: name }, `${g}  ${label[0].toUpperCase()}${label.slice(1)}`));
    }
  }

  async function openCardEditor(id) {
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
    for (const f of ['stamps_required', 'initial_stamps']) {
      const s = document.getElementById(`card-${f}`).value.trim();
      v[f] = /^-?\d+$/.test(s) ? Number(s) : (s === '' ? null : s);
    }
    v.stamp_icon = $('#card-stamp_icon').value;
    v.expires_at = $('#card-expires_at').value || null;
    v.show_member_field = $('#card-show_member_field').checked;
    v.show_stamps_to_reward_field = $('#card-show_stamps_to_reward_field').checked;
    return v;
  }

  function drawPreview() {
    const v = cardFormValues();
    const design = { ...(editing && editing.card ? editing.card : DEFAULT_DESIGN) };
    for (const [k, value] of Object.entries(v)) {
      if (value === null && k !== 'header_text') continue;
      if (k.endsWith('_color') && !isHexColour(value)) continue;
      design[k] = value;
    }
    if (!Number.isInteger(design.stamps_required) || design.stamps_required < 1 || design.stamps_required > 21) {
      design.stamps_required = (editing && editing.card && editing.card.stamps_required) || DEFAULT_DESIGN.stamps_required;
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

  // ---------------------------------------------------------------- keyboard: scanners anywhere

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
    const input = $('#search');
    input.value = '';
    if ($('#view-find').hidden) {
      currentRoute = '#/find';
      history.pushState(null, '', '#/find');
      showView('find');
      $('#results').replaceChildren();
      $('#find-status').textContent = '';
    }
    input.focus();
  }

  // ---------------------------------------------------------------- start

  function wire() {
    $('.skip').addEventListener('click', (e) => {
      e.preventDefault();
      $('#main').focus();
    });
    $('#signin-form').addEventListener('submit', signIn);
    $('#sign-out').addEventListener('click', signOut);
    $('#change-store').addEventListener('click', changeStore);
    $('#store-cancel').addEventListener('click', () => {
      pendingToken = null;
      $('#store-choice').hidden = true;
      $('#signin-form').hidden = false;
      showApp();
      route(true);
    });
    $('#notice-close').addEventListener('click', clearNotice);
    $('#find-form').addEventListener('submit', onSearchSubmit);
    $('#search').addEventListener('input', onSearchInput);
    $('#search').addEventListener('keydown', onSearchKey);
    $('#results').addEventListener('keydown', onResultsKey);
    $('#scan-button').addEventListener('click', openScanner);
    $('#scanner-cancel').addEventListener('click', closeScanner);
    $('#scanner').addEventListener('close', stopScanner);
    $('#edit-customer').addEventListener('click', openCustomerForm);
    $('#customer-form').addEventListener('submit', saveCustomer);
    $('#customer-form-cancel').addEventListener('click', closeCustomerForm);
    $('#enrol-form').addEventListener('submit', enrol);
    $('#card-form').addEventListener('submit', saveCard);
    $('#card-form').addEventListener('input', (e) => {
      if (e.target.type === 'color') {
        const text = document.getElementById(e.target.dataset.for);
        text.value = e.target.value.toUpperCase();
      } else if (e.target.id.endsWith('_color')) {
        syncColourPickers();
      }
      drawPreview();
    });
    $('#card-form').addEventListener('change', drawPreview);
    $('#card-archive').addEventListener('click', toggleArchiveFromEditor);
    $('#reward-form').addEventListener('submit', saveReward);
    $('#reward-cancel').addEventListener('click', () => {
      resetRewardForm();
      $('#reward-name').focus();
    });
    document.addEventListener('keydown', onGlobalKey);
    window.addEventListener('hashchange', () => route());
    window.addEventListener('beforeunload', (e) => {
      if (pendingCount() > 0) {
        e.preventDefault();
        e.returnValue = '';
      }
    });
  }

  function trackTopBarHeight() {
    const bar = $('#topbar');
    const update = () => {
      document.documentElement.style.setProperty('--topbar', `${bar.offsetHeight}px`);
    };
    if ('ResizeObserver' in window) new ResizeObserver(update).observe(bar);
    window.addEventListener('resize', update);
    update();
  }

  function start() {
    wire();
    trackTopBarHeight();
    setUpScanner();
    if (!session) {
      showSignIn();
      return;
    }
    showApp();
    route(true);
    checkSession();
  }

  start();
})();
