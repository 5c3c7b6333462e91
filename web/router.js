// Which screen shows: the address after `#` names it (`#/find`, `#/customer/7`, ...),
// and the screen named opens itself. The screens are given by `app.js`.
import { session } from './session.js';
import { $, $$ } from './ui.js';

const views = ['signin', 'picker', 'find', 'customer', 'enrol', 'cards', 'card', 'posters', 'settings', 'staff', 'flags', 'owners', 'missing'];
let currentRoute = '';
let routes = [];
let signInScreen = () => {};
let pickerScreen = () => {};

// `table` is a list of [pattern of the hash, open(match)]; `signIn` shows while no one
// is signed in, `picker` while a paired tablet has nobody signed in on it.
export function setRoutes(table, signIn, picker) {
  routes = table;
  signInScreen = signIn;
  pickerScreen = picker;
}

export function showView(name) {
  for (const v of views) $(`#view-${v}`).hidden = v !== name;
  const nav = { find: 'find', customer: 'find', enrol: 'enrol', cards: 'cards', card: 'cards', posters: 'posters', settings: 'settings', staff: 'staff', flags: 'staff' }[name];
  $$('[data-nav]').forEach((a) => {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

export function go(hash) {
  if (location.hash === hash) route(true);
  else location.hash = hash;
}

export function route(force = false) {
  if (!session) {
    signInScreen();
    return;
  }
  if (session.device && !session.staff) {
    pickerScreen();
    return;
  }
  const hash = location.hash || '#/find';
  if (!force && hash === currentRoute) return;
  currentRoute = hash;
  for (const [pattern, open] of routes) {
    const m = hash.match(pattern);
    if (m) {
      open(m);
      return;
    }
  }
  showView('missing');
  $('#missing-title').focus();
}

// Records a screen shown without `route` (the sign-in screen as '', or Find opened by a
// scan typed on another screen), so that `route` knows what is on show.
export function markRoute(hash) {
  currentRoute = hash;
}
