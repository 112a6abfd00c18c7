// ui.js - what the desk's modules share for drawing: the page's texts (t,
// English or Chinese: ?lang=en|zh, else the browser's language), h() to
// build elements (strings always become text nodes, never HTML), $,
// saved() for what a page keeps in sessionStorage, and notice() for the
// page's passing notices (the floor uses them too).
//
// API: t, h, $, saved, notice.

import { pickLang, texts } from '../i18n.js';

export const t = texts(pickLang(new URLSearchParams(location.search).get('lang')));

export const $ = (id) => document.getElementById(id);

// This tab's stored values under 'chatgw:<page>:<key>', as JSON.
export function saved(page) {
  const key = (k) => 'chatgw:' + page + ':' + k;
  return {
    get: (k) => { try { return JSON.parse(sessionStorage.getItem(key(k))); } catch { return null; } },
    set: (k, v) => sessionStorage.setItem(key(k), JSON.stringify(v)),
    del: (k) => sessionStorage.removeItem(key(k)),
  };
}

// h('li', {class: 'x', onclick: fn}, 'text', child): an element.
export function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k != null) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

// A passing notice in the page's #toast: the newest last, each gone after
// 8 s, at most 4 at once.
export function notice(text) {
  const box = $('toast');
  const p = h('span', { class: 'notice' }, text);
  box.append(p);
  while (box.childElementCount > 4) box.firstElementChild.remove();
  box.hidden = false;
  setTimeout(() => {
    p.remove();
    box.hidden = !box.childElementCount;
  }, 8000);
}
