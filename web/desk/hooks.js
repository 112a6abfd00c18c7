// hooks.js - where the desk's parts plug in, so that each arrives as a
// module of its own instead of an edit all over desk.js. Registered today:
// quick.js (quick replies, suggestions) and guard.js (the guard's
// warnings and blocks).
//
//   frames      t -> [fn(frame, desk)]: frames after desk.js's own handling
//               (add with hooks.on(t, fn))
//   beforeSend  fn(text, chat, desk) -> null to send as is, or
//               {text} to send that instead, or {hold: reason} to stop and
//               show the reason
//   failed      fn(frame, error, chat, desk) -> true when it showed the
//               refusal of a pending message itself (else a notice does)
//   replyKey    fn(keydownEvent, chat, desk) -> true when it took the key
//               (the composer's own Enter is then skipped)
//   msgExtras   fn(msg, chat, desk) -> Node | null: shown under a message
//   logTail     fn(chat, desk) -> [Node]: after the log's pending messages
//   chatOpened  fn(chat, assistElement, desk): panels beside the open chat
//
// desk.act (set by desk.js) is what a part may do: send(frame),
// sendMsg(chat, frame) (kept and resent until acked), forget(id),
// render(), notice(text), compose(text) (into the reply box).
//
// API: hooks.

export const hooks = {
  frames: new Map(),
  beforeSend: [],
  failed: [],
  replyKey: [],
  msgExtras: [],
  logTail: [],
  chatOpened: [],
  on(t, fn) {
    if (!this.frames.has(t)) this.frames.set(t, []);
    this.frames.get(t).push(fn);
  },
};
