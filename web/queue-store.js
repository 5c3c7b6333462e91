// Where the stamps and redemptions still on their way to stampd are kept on this
// device: the browser's localStorage, so that a reload, a crash or a tablet restart
// loses none of them. Each is kept with its Idempotency-Key, so sending it again after
// a reload is answered from stampd's record and never counted twice.

const QUEUE_KEY = 'stampd.counter.queue';

// What of a request is kept: all it takes to send it again and to say what it was.
const KEPT = ['id', 'key', 'kind', 'label', 'method', 'path', 'body', 'storeId', 'customerId',
  'ccId', 'stamps', 'createdAt', 'attempt', 'state', 'errorText'];

export function loadKeptOps() {
  try {
    const ops = JSON.parse(localStorage.getItem(QUEUE_KEY) || '[]');
    return Array.isArray(ops) ? ops.filter((op) => op && op.key && op.path && op.method) : [];
  } catch (_) {
    return [];
  }
}

// Returns false when the browser would not keep them (private mode, storage full).
export function keepOps(ops) {
  try {
    if (ops.length) {
      localStorage.setItem(QUEUE_KEY, JSON.stringify(ops.map((op) => {
        const kept = {};
        for (const k of KEPT) if (op[k] !== undefined) kept[k] = op[k];
        return kept;
      })));
    } else {
      localStorage.removeItem(QUEUE_KEY);
    }
    return true;
  } catch (_) {
    return false;
  }
}
