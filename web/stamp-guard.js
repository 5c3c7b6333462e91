// What stands between a tap and a stamp: the checks a busy counter needs so that a
// stamp is given only when meant. A second tap on +1 within a moment of the first is
// the same tap; many stamps at once, a stamp on a card that is already full, and a
// stamp while an earlier one still waits to reach stampd are asked about first. It
// also keeps the tally of this visit's stamps, which Undo takes back whole.
import { confirmDialog, fullName, plural } from './ui.js';
import { cardTitle } from './words.js';

// Taps closer together than this are one tap (a double tap, a bouncing finger).
export const SAME_TAP_MS = 800;
// More stamps than this in one go are asked about first.
export const ASK_ABOVE_STAMPS = 5;

// `true` when the stamp should be given. `tap` is set for the +1 button.
export async function stampIsMeant({ screen, cc, q, n, tap }) {
  const now = Date.now();
  if (tap) {
    const last = q.lastTap || 0;
    q.lastTap = now;
    if (now - last < SAME_TAP_MS) return { sameTap: true };
  }
  const who = fullName(screen.customer);
  if (n > ASK_ABOVE_STAMPS) {
    const ok = await confirmDialog({
      title: `Give ${plural(n, 'stamp')}?`,
      text: `${who}'s ${cardTitle(cc.card_name)} goes from ${cc.stamps_count} to ${cc.stamps_count + n} stamps.`,
      ok: `Give ${plural(n, 'stamp')}`,
    });
    if (!ok) return { given: false };
  }
  const waiting = q.ops.filter((op) => op.kind === 'stamp' && op.state !== 'sending' && op.state !== 'queued');
  if (waiting.length) {
    const ok = await confirmDialog({
      title: 'Give another stamp?',
      text: `${waiting.map((op) => op.label).join(', ')} for this card has not reached stampd yet; it is sent by itself when stampd answers. Give ${plural(n, 'more stamp')} as well?`,
      ok: `Give ${plural(n, 'more stamp')}`,
    });
    if (!ok) return { given: false };
  }
  if (cc.stamps_count >= cc.stamps_required) {
    const ready = (cc.available_rewards || []).map((r) => r.name);
    const ok = await confirmDialog({
      title: 'The card is full',
      text: `${who}'s ${cardTitle(cc.card_name)} has ${cc.stamps_count} of ${cc.stamps_required} stamps.`
        + `${ready.length ? ` ${ready.join(', ')} ${ready.length === 1 ? 'is' : 'are'} ready to redeem.` : ''}`
        + ` Give ${plural(n, 'stamp')} anyway?`,
      ok: `Give ${plural(n, 'stamp')} anyway`,
    });
    if (!ok) return { given: false };
  }
  return { given: true };
}

// Adds a stamp that got through to this visit's tally (the customer screen as opened).
export function tallyStamp(q, visit, n) {
  if (q.lastStamp && q.lastStamp.visit === visit) q.lastStamp.stamps += n;
  else q.lastStamp = { stamps: n, visit };
  q.lastStamp.at = new Date().toISOString();
  return q.lastStamp.stamps;
}
