// Barcode scanners type like a keyboard: a burst of keys far quicker than a person
// types, ending in Enter. This module owns telling such a burst apart wherever the
// focus is (a stamps box, a form field, a button, an open dialog): it takes back what
// the burst typed, keeps its Enter from submitting or confirming anything, and hands
// the scanned text to Find, which opens the scanned card.
import { CARD_CODE } from './vocab.js';

// A person's keystrokes are 80 ms or more apart even when typing fast; a scanner's a
// few milliseconds. A burst is at least a card code long, with no gap above this.
const BURST_GAP_MS = 45;
const BURST_MIN_KEYS = CARD_CODE.length;

let burst = null;
let openScanned = () => {};

const editable = (el) => el && (el.isContentEditable || ['INPUT', 'TEXTAREA'].includes(el.tagName));

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  const now = event.timeStamp;
  if (event.key === 'Enter') {
    const scanned = burst && burst.keys.length >= BURST_MIN_KEYS && now - burst.last <= BURST_GAP_MS * 2
      ? burst : null;
    burst = null;
    if (!scanned) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    takeBack(scanned);
    for (const dlg of document.querySelectorAll('dialog[open]')) dlg.close('cancel');
    openScanned(scanned.keys.join(''));
    return;
  }
  if (event.key.length !== 1) return;
  // Scanned codes and links have no spaces; a scan goes to one place.
  if (/\s/.test(event.key)) {
    burst = null;
    return;
  }
  if (!burst || now - burst.last > BURST_GAP_MS || burst.target !== event.target) {
    const t = event.target;
    burst = { keys: [], target: t, before: editable(t) ? t.value : null };
  }
  burst.keys.push(event.key);
  burst.last = now;
}

// The field the burst typed into gets its earlier value back, as if the scan had never
// reached it; its own listeners hear of it.
function takeBack(scanned) {
  const t = scanned.target;
  if (scanned.before === null || !t || !t.isConnected || t.id === 'search') return;
  if (t.value !== scanned.before) {
    t.value = scanned.before;
    t.dispatchEvent(new Event('input', { bubbles: true }));
  }
  t.blur();
}

// `open(text)` shows the customer of a scanned code; Find gives it.
export function guardScans(open) {
  openScanned = open;
  // Capture, on the window: before any field, form or dialog hears the Enter.
  window.addEventListener('keydown', onKeyDown, true);
}
