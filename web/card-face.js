// A card's face as customers see it: the store, the card's name and colours, its
// stamps drawn as the template's icon on the strip (a colour strip, laid over the card
// colour at its opacity, as stampd draws it on passes), and its extra lines. The icons
// and a new card's design come from stampd (`vocab.js`).
import { CARD_DEFAULTS, FALLBACK_GLYPH, LIMITS, STAMP_ICONS } from './vocab.js';
import { session } from './session.js';
import { h } from './ui.js';

const GLYPHS = new Map(STAMP_ICONS.map(({ name, glyph: g }) => [name, g]));
const glyph = (icon) => GLYPHS.get(icon) || FALLBACK_GLYPH;

export const DEFAULT_DESIGN = { ...CARD_DEFAULTS, name: 'New card' };

export const isHexColour = (s) => /^#[0-9a-fA-F]{6}$/.test(s || '');

export function cardFace(design, { count = 0, member = null, code = null, next = null, label = null } = {}) {
  const d = { ...DEFAULT_DESIGN, ...design };
  const { min, max } = LIMITS.stamps_required;
  const required = Math.max(min, Math.min(max, Number(d.stamps_required) || min));
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
  const stamps = h('ol', { class: 'stamps', role: 'img', 'aria-label': label || `${count} of ${required} stamps` }, slots);
  const strip = d.strip_type === 'color' && isHexColour(d.strip_color)
    ? h('div', { class: 'face-strip', style: { '--strip': d.strip_color, '--strip-mix': `${Number(d.strip_opacity)}%` } }, stamps)
    : stamps;
  const lines = (d.auxiliary_fields || []).map((line) => h('p', { class: 'face-line', text: line }));
  return h('div', { class: 'face', style },
    h('p', { class: 'face-store', text: session ? session.storeName : '' }),
    h('p', { class: 'face-name', text: d.name || 'Untitled card' }),
    d.header_text ? h('p', { class: 'face-header', text: d.header_text }) : null,
    member && d.show_member_field ? h('p', { class: 'face-member', text: member }) : null,
    strip,
    h('p', { class: 'face-count', text: `${count} / ${required} stamps` }),
    lines,
    next && d.show_stamps_to_reward_field ? h('p', { class: 'face-next', text: next }) : null,
    code ? h('p', { class: 'face-code', text: `Code ${code}` }) : null);
}
