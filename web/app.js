// stampd counter page: find, stamp, redeem and enrol at the shop counter. It speaks only
// the public JSON API under /api/v1 with the token the staff signed in with.
//
// This module starts the page: it names the screen behind each address and wires what
// belongs to no one screen. Each screen is its own module; `vocab.js` is written by
// stampd from its own definitions (stamp icons, field limits, card links).
import { openCardEditor, wireCardEditor } from './card-editor.js';
import { openCards } from './cards.js';
import { openCustomer, wireCustomer } from './customer.js';
import { openEnrol, wireEnrol } from './enrol.js';
import { showLinkWarnings, wireEnrolment } from './enrolment.js';
import { openFind, openScanned, wireFind } from './find.js';
import { openFlags } from './flags.js';
import { openPosters, wirePosters } from './posters.js';
import { openSettings } from './webhooks.js';
import { resumeQueues } from './queue.js';
import { route, setRoutes, showView } from './router.js';
import { guardScans } from './scan-guard.js';
import { role, session } from './session.js';
import { checkSession, showApp, showSignIn, wireSignIn } from './signin.js';
import { openStaff } from './staff-admin.js';
import { pairFromAddress, showPicker, startTablet, wireTablet } from './tablet.js';
import { $, clearNotice, focusHeading } from './ui.js';

// Screens only owners use: staff at the counter see why they cannot open them.
const owners = (open) => (m) => {
  if (role() === 'owner') open(m);
  else {
    showView('owners');
    focusHeading('owners-title');
  }
};

const ROUTES = [
  [/^#(\/(find)?)?$/, () => { openFind(); showLinkWarnings(); }],
  [/^#\/customer\/(\d+)$/, (m) => openCustomer(Number(m[1]))],
  [/^#\/enrol$/, () => openEnrol()],
  [/^#\/cards$/, owners(() => openCards())],
  [/^#\/cards\/new$/, owners(() => openCardEditor(null))],
  [/^#\/cards\/(\d+)$/, owners((m) => openCardEditor(Number(m[1])))],
  [/^#\/posters$/, owners(() => openPosters())],
  [/^#\/settings$/, owners(() => openSettings())],
  [/^#\/staff$/, owners(() => openStaff())],
  [/^#\/flags$/, owners(() => openFlags())],
];

function wire() {
  $('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    $('#main').focus();
  });
  wireSignIn();
  wireTablet();
  $('#notice-close').addEventListener('click', clearNotice);
  wireFind();
  guardScans(openScanned);
  wireCustomer();
  wireEnrol();
  wireEnrolment();
  wireCardEditor();
  wirePosters();
  window.addEventListener('hashchange', () => route());
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
  setRoutes(ROUTES, () => showSignIn(), () => showPicker());
  wire();
  trackTopBarHeight();
  if (pairFromAddress()) return;
  if (!session) {
    showSignIn();
    return;
  }
  if (session.device) {
    startTablet();
    resumeQueues();
    return;
  }
  showApp();
  route(true);
  resumeQueues();
  checkSession();
}

start();
