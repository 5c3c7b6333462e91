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
import { openInsights, wireInsights } from './insights.js';
import { openPosters, wirePosters } from './posters.js';
import { openSettings } from './webhooks.js';
import { resumeQueues } from './queue.js';
import { route, setRoutes } from './router.js';
import { guardScans } from './scan-guard.js';
import { session } from './session.js';
import { checkSession, showApp, showSignIn, wireSignIn } from './signin.js';
import { $, clearNotice } from './ui.js';

const ROUTES = [
  [/^#(\/(find)?)?$/, () => { openFind(); showLinkWarnings(); }],
  [/^#\/customer\/(\d+)$/, (m) => openCustomer(Number(m[1]))],
  [/^#\/enrol$/, () => openEnrol()],
  [/^#\/cards$/, () => openCards()],
  [/^#\/cards\/new$/, () => openCardEditor(null)],
  [/^#\/cards\/(\d+)$/, (m) => openCardEditor(Number(m[1]))],
  [/^#\/posters$/, () => openPosters()],
  [/^#\/insights$/, () => openInsights()],
  [/^#\/settings$/, () => openSettings()],
];

function wire() {
  $('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    $('#main').focus();
  });
  wireSignIn();
  $('#notice-close').addEventListener('click', clearNotice);
  wireFind();
  guardScans(openScanned);
  wireCustomer();
  wireEnrol();
  wireEnrolment();
  wireCardEditor();
  wirePosters();
  wireInsights();
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
  setRoutes(ROUTES, () => showSignIn());
  wire();
  trackTopBarHeight();
  if (!session) {
    showSignIn();
    return;
  }
  showApp();
  route(true);
  resumeQueues();
  checkSession();
}

start();
