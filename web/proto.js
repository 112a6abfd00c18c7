// proto.js - one WebSocket session with chatgwd, shared by the widget and
// the desk (the protocol: proto/PROTOCOL.md).
//
// A Session opens the socket, sends the page's greeting frame (a buyer's
// `hello`, an agent's `login`; the page builds it on each attempt, so a
// resume carries the `since` of that moment) and calls the page back with
// every frame. Until a `welcome` arrives, nothing else is sent.
//
// Messages (frames with an `id`) are kept as pending until their `ack`:
// sent at once when the session is up, sent again with the same id after
// every new welcome (the gateway stores an id once, so a resend is never
// doubled), and handed to `persist` on every change so a page reload can
// restore them.
//
// When the socket drops, it is opened again after a back-off that doubles
// from `backoff.min` to `backoff.max`, each wait drawn at random from its
// upper half (jitter: many pages dropped at once do not return at once).
// The page's `onClose(code, reason)` may answer "stop" (a refused token, a
// closed chat) or "now" (start over at once, e.g. with a new chat).
//
// API: Session, newId, features.

// What the gateway's protocol offers today, for the pages to check before
// showing a control. `rate`: the buyer's rating of a closed chat (6).
// `typingShown`/`readShown`: `typing` and `read` reach the other side of
// the chat (6.7, 7.9).
export const features = Object.freeze({
  rate: true,
  typingShown: true,
  readShown: true,
});

// A message id: unique per writer and chat (PROTOCOL.md 6.3), 1-64 bytes.
export function newId() {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return 'm' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Message errors (with `ref`) worth sending the message again for later.
const RETRY_LATER = new Set(['unavailable', 'rate_limited', 'internal', 'no_session']);

export class Session {
  // opts: url, greet() -> frame, onFrame(frame), onStatus(status),
  //       onClose(code, reason) -> "retry" | "stop" | "now",
  //       onFailed(frame, error) (a pending message the gateway refused),
  //       persist(pendingFrames), pending (frames restored after a reload),
  //       backoff {min, max} ms
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.up = false;               // welcome received on this socket
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.pending = new Map();      // id -> frame, in send order
    this.retryTimer = null;
    for (const f of opts.pending || []) this.pending.set(f.id, f);
  }

  start() {
    this.stopped = false;
    if (!this.ws && !this.timer) this.open();
  }

  // Closes for good (no reconnect); pending messages are kept.
  stop() {
    const ws = this.ws;
    this.stopped = true;
    this.up = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.ws = null;                // its close event is not ours any more
    ws?.close(1000);
    this.status('stopped');
  }

  status(s) {
    this.opts.onStatus?.(s);
  }

  open() {
    this.timer = null;
    this.up = false;
    this.status(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.opts.url);
    this.ws = ws;
    ws.onopen = () => this.rawSend(this.opts.greet());
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ws, ev.code, ev.reason);
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.up = false;
    if (this.stopped) {
      this.status('stopped');
      return;
    }
    const next = this.opts.onClose?.(code, reason) || 'retry';
    if (next === 'stop') {
      this.stopped = true;
      this.status('stopped');
      return;
    }
    if (next === 'now') {
      this.attempt = 0;
      this.open();
      return;
    }
    const { min = 500, max = 15000 } = this.opts.backoff || {};
    const top = Math.min(max, min * 2 ** this.attempt);
    this.attempt++;
    this.status('offline');
    this.timer = setTimeout(() => this.open(), top / 2 + Math.random() * (top / 2));
  }

  receive(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (!f || typeof f.t !== 'string') return;
    if (f.t === 'welcome') {
      this.up = true;
      this.attempt = 0;
      this.opts.onFrame(f);
      this.status('online');
      for (const p of this.pending.values()) this.rawSend(p);
      return;
    }
    if (f.t === 'error' && !this.up && f.code === 'unavailable') {
      // the gateway could not check the hello now: try again after a pause
      this.opts.onFrame(f);
      this.ws?.close(4000);
      return;
    }
    if (f.t === 'ack' && this.pending.has(f.id)) {
      this.pending.delete(f.id);
      this.save();
    } else if (f.t === 'error' && f.ref && this.pending.has(f.ref)) {
      const frame = this.pending.get(f.ref);
      if (RETRY_LATER.has(f.code)) {
        this.retrySoon();
      } else {
        this.pending.delete(f.ref);
        this.save();
        this.opts.onFailed?.(frame, f);
      }
    }
    this.opts.onFrame(f);
  }

  // A pending message the gateway could not take now: all of them again
  // after a pause (a resent id is stored once).
  retrySoon() {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.up) for (const p of this.pending.values()) this.rawSend(p);
    }, 1000 + Math.random() * 1000);
  }

  rawSend(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  // A frame without an id (state, typing, transfer, close, bye): sent only
  // while the session is up. Returns whether it went out.
  send(frame) {
    if (!this.up) return false;
    this.rawSend(frame);
    return true;
  }

  // A message with an id: kept until acked, resent after a reconnect.
  sendMsg(frame) {
    this.pending.set(frame.id, frame);
    this.save();
    if (this.up) this.rawSend(frame);
  }

  // Forgets one pending message: the gateway answered it with something
  // other than an ack that ends it (a guard plugin held it, for one); a
  // reconnect must not send it again.
  forget(id) {
    if (this.pending.delete(id)) this.save();
  }

  // Forgets the pending messages (a new chat, a logout).
  dropPending() {
    this.pending.clear();
    this.save();
  }

  save() {
    this.opts.persist?.([...this.pending.values()]);
  }
}
