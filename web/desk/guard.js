// guard.js - the guard's verdicts on the agent's own messages (PROTOCOL.md
// 7.5), shown in the chat's log where the message would have gone.
//
// Held (`guard {chat, id, rule, reason}`): nothing was stored or sent. The
// desk shows the text with the rule's reason and two ways on: "Send
// anyway" resends the same frame (same id) with confirm: true; "Edit" puts
// the text back in the reply box. A held message is no longer pending: a
// reconnect does not send it by itself.
//
// Blocked (`error blocked` with ref, rule and reason): nothing was stored
// or sent and confirming does not help; the desk shows the text with the
// rule and reason, and "Edit" or "Discard".
//
// A quick reply has no text of its own until the gateway expands it: its
// "Edit" puts the phrase in the box with what the desk knows filled in.
//
// API: none (registers in hooks.js).

import { hooks } from './hooks.js';
import { t, h } from './ui.js';
import { phrase } from './quick.js';

// chat.held: Map id -> {frame, kind: 'warn'|'block', rule, reason}
function hold(c, frame, kind, rule, reason) {
  c.held ??= new Map();
  c.held.set(frame.id, { frame, kind, rule: rule || '?', reason: reason || '' });
}

hooks.on('guard', (f, desk) => {
  const c = desk.chats.get(f.chat);
  const frame = c?.pending.get(f.id);
  desk.act.forget(f.id);
  if (!c || !frame) return;
  c.pending.delete(f.id);
  hold(c, frame, 'warn', f.rule, f.reason);
  c.scrollDown = true;
  desk.act.render();
});

hooks.failed.push((frame, err, c) => {
  if (err.code !== 'blocked' || !c) return false;
  hold(c, frame, 'block', err.rule, err.reason);
  c.scrollDown = true;
  return true;
});

// the same message sent from another window of this agent: settled there
hooks.on('msg', (f, desk) => {
  if (f.from === 'agent' && f.id) desk.chats.get(f.chat)?.held?.delete(f.id);
});

const textOf = (frame, c) => frame.text ?? (phrase(frame.key, c) || frame.key);

hooks.logTail.push((c, desk) => [...(c.held?.values() || [])].map((x) => {
  const { frame, kind } = x;
  const done = () => { c.held.delete(frame.id); };
  const edit = h('button', { type: 'button', class: 'edit', onclick: () => {
    done();
    desk.act.compose(textOf(frame, c));
    desk.act.render();
  } }, t('d.held.edit'));
  const buttons = kind === 'warn'
    ? [h('button', { type: 'button', class: 'confirm', onclick: () => {
      done();
      desk.act.sendMsg(c, { ...frame, confirm: true });       // the same id
    } }, t('d.held.confirm')), edit]
    : [edit, h('button', { type: 'button', class: 'discard', onclick: () => { done(); desk.act.render(); } },
      t('d.blocked.discard'))];
  return h('li', { class: `msg from-agent ${kind === 'warn' ? 'held' : 'blocked'}`, 'data-id': frame.id,
    'data-rule': x.rule },
  h('span', { class: 'who' }, desk.agent?.name || ''),
  h('p', { class: 'text' }, textOf(frame, c)),
  h('div', { class: 'verdict', role: 'alert' },
    h('p', { class: 'why' }, t(kind === 'warn' ? 'd.held' : 'd.blocked', { rule: x.rule, reason: x.reason }),
      kind === 'block' ? ' ' + t('d.blocked.note') : ''),
    h('div', { class: 'how' }, ...buttons)));
}));
