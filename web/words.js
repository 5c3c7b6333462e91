// How the page words stampd's data for people: a card's name as a title, the API's
// field names as the labels staff see, phone numbers grouped as they are read aloud,
// and the day someone became a customer.

// "Coffee" → "Coffee card"; a name that already says "card" keeps it once.
export function cardTitle(name) {
  return /\bcard$/i.test(String(name).trim()) ? String(name).trim() : `${name} card`;
}

// The label the page's own forms give a field (`<label for="card-stamps_required">`):
// the one place the page words its fields.
function formLabel(field) {
  for (const label of document.querySelectorAll('label[for]')) {
    if (label.htmlFor.endsWith(`-${field}`) && label.firstChild) {
      const text = label.firstChild.textContent.trim();
      if (text) return text;
    }
  }
  return null;
}

// An API field name (`stamps_required`) as the label staff know it by ("Stamps for a
// full card"); one no form has, with its underscores as spaces.
export function fieldLabel(field) {
  const name = String(field).split('.').pop();
  const known = formLabel(name);
  if (known) return known;
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// An API message with the field names in it said as their labels.
export function humanise(message) {
  return String(message).replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (name) => {
    const label = formLabel(name);
    return label ? `“${label}”` : name.replace(/_/g, ' ');
  });
}

// Calling codes of one and two digits (ITU-T E.164); all others have three.
const SHORT_CODES = new Set(['1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40',
  '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58',
  '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94',
  '95', '98']);

// "+14155550132" → "+1 415 555 0132"; "+442079460958" → "+44 207 946 0958": the
// calling code apart, the rest in groups of three with four at the end.
export function formatPhone(e164) {
  const m = /^\+(\d{6,15})$/.exec(String(e164 || ''));
  if (!m) return e164 || '';
  const digits = m[1];
  const ccLen = SHORT_CODES.has(digits[0]) ? 1 : (SHORT_CODES.has(digits.slice(0, 2)) ? 2 : 3);
  const code = digits.slice(0, ccLen);
  const rest = digits.slice(ccLen);
  const groups = [];
  let i = 0;
  while (rest.length - i > 4) {
    groups.push(rest.slice(i, i + 3));
    i += 3;
  }
  groups.push(rest.slice(i));
  return `+${code} ${groups.join(' ')}`;
}

// The day a record was made, never its time of day: "12 May 2025", or "today".
export function formatDay(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '';
  if (d.toDateString() === new Date().toDateString()) return 'today';
  return d.toLocaleDateString([], { dateStyle: 'medium' });
}
