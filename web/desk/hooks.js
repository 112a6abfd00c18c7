// hooks.js - where the desk's later parts plug in, so that each arrives as
// a module of its own instead of an edit all over desk.js. Nothing is
// registered today; the desk calls whatever is.
//
//   frames      t -> fn(frame, desk): frames of later issues (quick replies,
//               suggestions, the guard's warnings, whispers, shift status)
//   beforeSend  fn(text, chat, desk) -> null to send as is, or
//               {text} to send that instead, or {hold: reason} to stop and
//               show the reason (the guard's confirm-or-edit)
//   chatOpened  fn(chat, assistElement, desk): panels beside the open chat
//               (quick replies by category and shortcut, notes, product)
//
// API: hooks.

export const hooks = {
  frames: new Map(),
  beforeSend: [],
  chatOpened: [],
};
