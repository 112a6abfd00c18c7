// quick.js - quick replies and suggestions at the desk (PROTOCOL.md 7.5).
//
// The store's phrase library comes after each welcome (`quick_list`). It is
// shown beside the open chat by category, filtered by a search over
// shortcut, text and category; a click sends the phrase. In the reply box,
// "/" and a few letters open a list of the matching phrases: arrows move,
// Enter sends the chosen one, Tab puts its text in the box to edit first,
// Escape closes the list. A phrase goes out as `quick {chat, key, id}`:
// the gateway fills its placeholders from the chat and the ack brings the
// text that went out, so the desk shows what the buyer sees.
//
// `suggest {chat, seq, keys}` after a buyer message: the phrases are shown
// under that message, and a click sends one (then the suggestions of that
// message go away: it has its answer).
//
// API: phrase(key, chat): a phrase's text with the placeholders the desk
// knows filled in (for editing before sending); the rest registers in hooks.js.

import { newId } from '../proto.js';
import { hooks } from './hooks.js';
import { t, h, $ } from './ui.js';

const POP_MAX = 8;                   // phrases in the "/" list

const lib = {
  loaded: false,
  categories: [],                    // [{name, phrases: [{key, text}]}]
  byKey: new Map(),                  // key -> {key, text, category}
};
let desk = null;                     // set by the first frame

// ---- the library ------------------------------------------------------------

// asked again on every welcome: a reconnect may reach a gateway that
// reloaded its plugins, and another login another store
hooks.on('welcome', (f, d) => {
  desk = d;
  d.act.send({ t: 'quick_list' });
});

hooks.on('quick_list', (f, d) => {
  desk = d;
  lib.loaded = true;
  lib.categories = Array.isArray(f.categories) ? f.categories : [];
  lib.byKey.clear();
  for (const c of lib.categories)
    for (const p of c.phrases || []) lib.byKey.set(p.key, { ...p, category: c.name });
  drawPanel();
  d.act.render();
});

// The phrase with what the desk knows of the chat filled in (the gateway
// fills the rest when it is sent; here only for editing before sending).
export function phrase(key, chat) {
  const p = lib.byKey.get(key);
  if (!p) return '';
  const vars = { store: desk?.storeName || '', agent: desk?.agent?.name || '', buyer: chat?.buyer?.name || '', product: '' };
  return p.text.replace(/\{\{|\}\}|\{(\w+)\}/g, (m, k) => (m === '{{' ? '{' : m === '}}' ? '}' : vars[k] ?? ''));
}

function matches(q) {
  const s = q.trim().toLowerCase();
  const all = [...lib.byKey.values()];
  if (!s) return all;
  // shortcuts starting with the query first, then any other hit
  const key = (p) => p.key.toLowerCase();
  const first = all.filter((p) => key(p).startsWith(s) || key(p).startsWith('/' + s));
  const rest = all.filter((p) => !first.includes(p) &&
    (key(p).includes(s) || p.text.toLowerCase().includes(s) || p.category.toLowerCase().includes(s)));
  return [...first, ...rest];
}

function sendQuick(chat, key) {
  if (!chat) return;
  desk.act.sendMsg(chat, { t: 'quick', chat: chat.id, key, id: newId() });
}

// An unknown key (the library changed on a reload): say which.
hooks.failed.push((frame, err) => {
  if (frame.t !== 'quick' || err.code !== 'not_found') return false;
  desk?.act.notice(t('d.quick.unknown', { key: frame.key }));
  return true;
});

// ---- the panel beside the chat --------------------------------------------------

const panel = {
  search: h('input', { type: 'search', class: 'quick-search', placeholder: t('d.quick.search'),
    'aria-label': t('d.quick.search'), oninput: () => drawPanel() }),
  list: h('div', { class: 'quick-cats' }),
};
panel.el = h('section', { class: 'quick', id: 'quick' },
  h('h2', {}, t('d.quick')), panel.search, h('p', { class: 'muted hint' }, t('d.quick.hint')), panel.list);

function drawPanel() {
  if (!lib.loaded) return;
  if (!lib.byKey.size) {
    panel.list.replaceChildren(h('p', { class: 'muted' }, t('d.quick.none')));
    return;
  }
  const hits = new Set(matches(panel.search.value));
  const cats = lib.categories.map((c) => {
    const ps = (c.phrases || []).filter((p) => hits.has(lib.byKey.get(p.key)));
    if (!ps.length) return null;
    return h('details', { class: 'quick-cat', open: true, 'data-category': c.name },
      h('summary', {}, c.name, h('span', { class: 'muted' }, ` ${ps.length}`)),
      h('ul', {}, ...ps.map((p) => h('li', {},
        h('button', { type: 'button', class: 'phrase', 'data-key': p.key, title: p.text,
          onclick: () => sendQuick(desk?.open, p.key) },
        h('code', {}, p.key), ' ', h('span', { class: 'ptext' }, p.text))))));
  }).filter(Boolean);
  panel.list.replaceChildren(...(cats.length ? cats : [h('p', { class: 'muted' }, t('d.quick.nomatch'))]));
}

hooks.chatOpened.push((chat, assist, d) => {
  desk = d;
  assist.append(panel.el);
  drawPanel();
});

// ---- suggestions under buyer messages --------------------------------------------

hooks.on('suggest', (f, d) => {
  const c = d.chats.get(f.chat);
  if (!c || !Array.isArray(f.keys) || !f.keys.length) return;
  c.suggest ??= new Map();
  c.suggest.set(f.seq, f.keys);
  d.act.render();
});

hooks.msgExtras.push((m, c) => {
  const keys = m.from === 'buyer' ? c.suggest?.get(m.seq) : null;
  if (!keys) return null;
  return h('div', { class: 'suggest' }, h('span', { class: 'muted' }, t('d.suggest')),
    ...keys.map((key) => h('button', { type: 'button', class: 'chip', 'data-key': key,
      title: phrase(key, c) || key,
      onclick: () => {
        c.suggest.delete(m.seq);
        sendQuick(c, key);
      } },
    h('code', {}, key), lib.byKey.has(key) ? h('span', { class: 'ptext' }, ' ' + phrase(key, c)) : null)));
});

// ---- "/" in the reply box ------------------------------------------------------------

const pop = { el: $('quick-pop'), items: [], at: 0 };

function popQuery() {
  const m = /^\/(\S*)$/.exec($('reply').value);
  return m && lib.byKey.size ? m[1] : null;
}

function drawPop() {
  const q = popQuery();
  pop.items = q === null ? [] : matches(q).slice(0, POP_MAX);
  pop.at = Math.min(pop.at, Math.max(0, pop.items.length - 1));
  pop.el.hidden = !pop.items.length;
  pop.el.replaceChildren(...pop.items.map((p, i) => h('li', {
    role: 'option', class: i === pop.at ? 'on' : '', 'aria-selected': String(i === pop.at), 'data-key': p.key,
    onmousedown: (e) => { e.preventDefault(); pick(i, 'send'); },
  }, h('code', {}, p.key), ' ', h('span', { class: 'ptext' }, p.text))));
}

function pick(i, how) {
  const p = pop.items[i];
  if (!p || !desk?.open) return;
  if (how === 'send') {
    $('reply').value = '';
    sendQuick(desk.open, p.key);
  } else {
    $('reply').value = phrase(p.key, desk.open);
  }
  pop.at = 0;
  drawPop();
  $('reply').focus();
}

$('reply').addEventListener('input', () => { pop.at = 0; drawPop(); });
$('reply').addEventListener('blur', () => { pop.el.hidden = true; });
$('reply').addEventListener('focus', drawPop);

hooks.replyKey.push((e) => {
  if (pop.el.hidden || e.isComposing) return false;
  const n = pop.items.length;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    pop.at = (pop.at + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
  } else if (e.key === 'Enter' && !e.shiftKey) {
    pick(pop.at, 'send');
  } else if (e.key === 'Tab') {
    pick(pop.at, 'edit');
  } else if (e.key === 'Escape') {
    pop.el.hidden = true;
    e.preventDefault();
    return true;
  } else {
    return false;
  }
  e.preventDefault();
  drawPop();
  return true;
});
