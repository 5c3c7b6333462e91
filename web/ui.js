// What every screen of the counter page draws with: the element builder `h()`, text
// formats, the notice bar, the confirmation dialog and the API's messages beside form
// fields. It knows nothing of stampd's data.
import { fieldLabel, humanise } from './words.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function h(tag, attrs, ...children) {
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

export const plural = (n, one, many = `${one}s`) => `${n} ${Math.abs(n) === 1 ? one : many}`;

export function fullName(c) {
  return [c.first_name, c.last_name].filter(Boolean).join(' ');
}

export function formatWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '';
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(ymd) {
  if (!ymd) return '';
  const d = new Date(`${ymd}T12:00:00Z`);
  return Number.isNaN(d.getTime()) ? ymd : d.toLocaleDateString([], { dateStyle: 'long' });
}

export const focusHeading = (id) => { const el = document.getElementById(id); if (el) el.focus(); };

// ---------------------------------------------------------------- notices & dialogs

let noticeTimer = null;

export function notify(text, bad = false) {
  const box = $('#notice');
  $('#notice-text').textContent = text;
  box.classList.toggle('bad', bad);
  box.setAttribute('role', bad ? 'alert' : 'status');
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (!bad) noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

export function clearNotice() {
  $('#notice').hidden = true;
}

export function confirmDialog({ title, text, ok = 'OK', cancel = 'Cancel', danger = false }) {
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

// ---------------------------------------------------------------- forms

// Shows the API's 422 messages beside the fields of a form whose inputs are named
// `<prefix>-<field>`; messages for fields the form does not have go to `<prefix>-form-error`.
export function showFieldErrors(prefix, err) {
  clearFieldErrors(prefix);
  const loose = [];
  const marked = [];
  for (const [field, messages] of Object.entries(err.fieldErrors || {})) {
    const input = document.getElementById(`${prefix}-${field}`);
    const slot = document.getElementById(`${prefix}-${field}-error`);
    const label = input && input.labels && input.labels[0]
      ? input.labels[0].firstChild.textContent.trim() : fieldLabel(field);
    const text = messages.map((m) => `${label} ${humanise(m)}`).join('. ');
    if (input && slot) {
      input.setAttribute('aria-invalid', 'true');
      slot.textContent = text;
      marked.push(input);
    } else {
      loose.push(text);
    }
  }
  // The API lists fields alphabetically; staff fix them top to bottom.
  marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  const first = marked[0] || null;
  const formError = document.getElementById(`${prefix}-form-error`);
  if (formError) {
    const summary = first ? 'Please correct the marked fields.' : err.message || 'Not saved.';
    formError.textContent = [summary, ...loose].join(' ');
  }
  (first || formError).focus?.();
}

export function clearFieldErrors(prefix) {
  $$(`[id^="${prefix}-"][aria-invalid]`).forEach((el) => el.removeAttribute('aria-invalid'));
  $$(`[id^="${prefix}-"].error`).forEach((el) => { el.textContent = ''; });
}

export function showFormError(prefix, text) {
  clearFieldErrors(prefix);
  const slot = document.getElementById(`${prefix}-form-error`);
  if (slot) slot.textContent = text;
}

// Disables a form's submit button while a request is out.
export async function busy(button, label, work) {
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
