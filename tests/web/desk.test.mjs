// desk.test.mjs - the desk's parts that work with the gateway's plugins and
// clock, in a real browser against a real chatgwd (with the shipped
// quickreply and guard plugins) and Redis (harness.mjs): the guard's
// warnings and blocks, suggestions, quick replies found by search,
// holding replies, breach flags, a chat reassigned, close without a sale.
// Screenshots under tests/web/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHmac } from 'node:crypto';
import { setup, shot, waitFor, openWidget, say, loginDesk } from './harness.mjs';

const agentTexts = (page) => page.locator('.log .msg.from-agent .text').allTextContents();

// a buyer who asked something, and an agent ready with that chat open
async function openChat(w, question, deskOpts = {}) {
  const token = w.agent('alice', 'Alice');
  const buyerCtx = await w.context();
  const deskCtx = await w.context(deskOpts);
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();
  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, question);
  await desk.locator('#chat-list .item').click();
  await desk.locator('#chat-log .msg.from-buyer', { hasText: question }).waitFor();
  return { buyer, desk, errors: () => [...buyerCtx.errors, ...deskCtx.errors] };
}

async function reply(desk, text) {
  await desk.locator('#reply').fill(text);
  await desk.locator('#composer button[type=submit]').click();
}

test('the guard: a held message is edited or confirmed, a blocked one never reaches the buyer', async (t) => {
  const w = await setup(t);
  const { buyer, desk, errors } = await openChat(w, 'Is shipping free?');

  // held (warn): shown with the rule's reason, nothing sent
  await reply(desk, 'Yes, free shipping for you!');
  const held = desk.locator('#chat-log .msg.held');
  await held.waitFor();
  assert.equal(await held.getAttribute('data-rule'), 'free_shipping_en');
  assert.equal(await held.locator('.text').textContent(), 'Yes, free shipping for you!');
  await held.locator('.why', { hasText: 'Held by rule free_shipping_en: Promise free shipping only if the listing offers it' }).waitFor();
  assert.equal(await desk.locator('#chat-log .msg.pending').count(), 0);
  await shot(desk, 'guard-held');
  // edit: the text back in the box, the warning gone
  await held.locator('button.edit').click();
  assert.equal(await desk.locator('#reply').inputValue(), 'Yes, free shipping for you!');
  assert.equal(await held.count(), 0);
  // changed, still held; this time confirmed: the same id goes out with confirm: true
  await reply(desk, 'Yes, free shipping to Shanghai.');
  await held.waitFor();
  const id = await held.getAttribute('data-id');
  await held.locator('button.confirm').click();
  const sent = desk.locator(`#chat-log .msg.from-agent:not(.pending)[data-id="${id}"]`);
  await sent.waitFor();
  assert.equal(await sent.locator('.text').textContent(), 'Yes, free shipping to Shanghai.');
  await buyer.locator('.msg.from-agent .text', { hasText: 'Yes, free shipping to Shanghai.' }).waitFor();

  // blocked: the rule and the reason; confirming is not offered; nothing stored or sent
  await reply(desk, 'Sorry, we cannot issue an invoice for sale items.');
  const blocked = desk.locator('#chat-log .msg.blocked');
  await blocked.waitFor();
  assert.equal(await blocked.getAttribute('data-rule'), 'invoice_refused_en');
  await blocked.locator('.why', { hasText: 'Blocked by rule invoice_refused_en: Refusing an invoice costs the store 6 points' }).waitFor();
  await blocked.locator('.why', { hasText: 'Nothing was sent.' }).waitFor();
  assert.equal(await blocked.locator('button.confirm').count(), 0);
  await shot(desk, 'guard-blocked');
  await blocked.locator('button.discard').click();
  assert.equal(await blocked.count(), 0);
  await reply(desk, 'Invoices are free, for every order.');
  await buyer.locator('.msg.from-agent .text', { hasText: 'Invoices are free' }).waitFor();
  // the buyer got exactly the two messages that passed
  assert.deepEqual(await agentTexts(buyer), ['Yes, free shipping to Shanghai.', 'Invoices are free, for every order.']);
  assert.equal(await w.gw.log().includes('event=agent_msg_blocked'), true);
  await shot(buyer, 'guard-buyer');
  assert.deepEqual(errors(), []);
});

test('a suggestion beside the buyer message is sent with a click; a phrase found by search too (Chinese desk)', async (t) => {
  const w = await setup(t);
  const { buyer, desk, errors } = await openChat(w, 'hello', { locale: 'zh-CN' });

  await say(buyer, 'Do you have a coupon for me?');
  const msg = desk.locator('#chat-log .msg.from-buyer', { hasText: 'coupon' });
  const chip = msg.locator('.suggest .chip[data-key="/coupon.en"]');
  await chip.waitFor();
  await msg.locator('.suggest', { hasText: '推荐：' }).waitFor();
  await shot(desk, 'suggest-desk-zh');
  await chip.click();
  const coupon = "There are coupons on our store's home page: take one before you order to save a little more.";
  await buyer.locator('.msg.from-agent .text', { hasText: coupon }).waitFor();
  // used: that message's suggestions are gone
  await desk.locator('#chat-log .msg.from-agent:not(.pending)', { hasText: coupon }).waitFor();
  assert.equal(await msg.locator('.suggest').count(), 0);

  // the library beside the chat, searched by a word: one category left, its phrase sent by a click
  await desk.locator('#quick h2', { hasText: '快捷回复' }).waitFor();
  await desk.locator('#quick .quick-search').fill('refund');
  await waitFor(async () => (await desk.locator('#quick .quick-cat').count()) === 1, 'the search');
  assert.equal(await desk.locator('#quick .quick-cat').getAttribute('data-category'), 'after-sales');
  await shot(desk, 'quick-search-desk-zh');
  await desk.locator('#quick .phrase[data-key="/refund.en"]').click();
  await buyer.locator('.msg.from-agent .text', { hasText: 'the refund goes back to your account' }).waitFor();
  // Tab in the "/" list puts the phrase in the box to edit, with the names the desk knows
  await desk.locator('#reply').fill('/bye');
  await desk.locator('#quick-pop li.on[data-key="/bye.en"]').waitFor();
  await desk.locator('#reply').press('Tab');
  assert.equal(await desk.locator('#reply').inputValue(),
    'Thank you for visiting Demo Store! Bookmark us for new arrivals, and ask Alice anytime.');
  await shot(buyer, 'suggest-buyer');
  assert.deepEqual(errors(), []);
});

test('the clock: a holding reply from the store, a breach flag, a chat reassigned, closed without a sale', async (t) => {
  const w = await setup(t, { store: ['    hold_after 300ms', '    breach_after 1s', '    reassign_after 3s'] });
  const bob = w.agent('bob', 'Bob');
  const { buyer, desk, errors } = await openChat(w, 'Anyone there?');

  // unanswered: the store's holding reply, in its name, to the buyer and to the desk
  const hold = buyer.locator('.msg.from-auto', { hasText: 'Thanks for waiting!' });
  await hold.waitFor();
  assert.equal(await hold.locator('.who').textContent(), 'Demo Store');
  await desk.locator('#chat-log .msg.from-auto', { hasText: 'Thanks for waiting!' }).waitFor();
  // still unanswered at breach_after: the chat is flagged in the list
  const flag = desk.locator('#chat-list .item .breach');
  await flag.waitFor();
  assert.match(await flag.getAttribute('title'), /Waited \d+ s without an answer/);
  await shot(desk, 'clock-breach-desk');
  await shot(buyer, 'clock-hold-buyer');

  // a free colleague: at reassign_after the chat moves to Bob, and Alice is told why
  const deskB = await (await w.context()).newPage();
  await loginDesk(deskB, `${w.gw.url}/desk/`, bob);
  await deskB.locator('#ready').click();
  await desk.locator('#toast', { hasText: /Not answered in time: a colleague took over the chat with b-/ }).waitFor();
  await desk.locator('#chat-list .item').waitFor({ state: 'detached' });
  await shot(desk, 'clock-reassigned-desk');
  await buyer.locator('.banner.agent', { hasText: 'Bob is serving you.' }).waitFor();

  // Bob closes without a sale: the other farewell, then the closed state
  await deskB.locator('#chat-list .item').click();
  await deskB.locator('#close-nosale').click();
  const last = buyer.locator('.log .msg:last-child');
  await buyer.locator('.closed').waitFor();
  assert.equal(await last.locator('.text').textContent(),
    'Thank you for visiting Demo Store! We are here whenever you need us.');
  assert.equal(await last.locator('.who').textContent(), 'Demo Store');
  await shot(buyer, 'clock-closed-buyer');
  assert.deepEqual(errors(), []);
});

test('a signed context: the product and priority in the chat head; a private note never reaches the buyer', async (t) => {
  const secret = 'test-context-secret';
  const w = await setup(t, { store: [`    context_secret "${secret}"`] });
  const token = w.agent('alice', 'Alice');
  const b64 = Buffer.from(JSON.stringify({
    exp: Math.floor(Date.now() / 1000) + 600, buyer: { id: 'u-1001', name: 'Ann' }, priority: 'vip',
    product: { id: 'sku-42', title: 'Blue kettle', price: '39.90 EUR', url: 'https://shop.example/kettle' },
  })).toString('base64url');
  const context = `${b64}.${createHmac('sha256', secret).update(b64).digest('hex')}`;
  const buyerCtx = await w.context();
  const deskCtx = await w.context();
  // the demo page as a store's site renders it for a logged-in buyer: the
  // context in the widget's tag (set as the tag is parsed, before it runs)
  await buyerCtx.addInitScript((ctx) => {
    new MutationObserver((records, obs) => {
      const tag = document.querySelector('script[data-store]');
      if (tag) { tag.dataset.context = ctx; obs.disconnect(); }
    }).observe(document, { childList: true, subtree: true });
  }, context);
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();
  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Is the kettle in stock?');
  await desk.locator('#chat-list .item').click();
  await desk.locator('#chat-priority', { hasText: 'VIP' }).waitFor();
  assert.equal(await desk.locator('#chat-buyer').textContent(), 'Ann');
  assert.equal(await desk.locator('#chat-product').textContent(), 'Viewing: Blue kettle · 39.90 EUR');
  assert.equal(await desk.locator('#chat-product').getAttribute('href'), 'https://shop.example/kettle');

  // a note: shown as private, acked, never sent as a msg; the chat still waits
  await desk.locator('#reply').fill('Ann asked about stock last week too');
  await desk.locator('#note').click();
  const note = desk.locator('#chat-log .msg.private:not(.pending)', { hasText: 'Ann asked about stock' });
  await note.waitFor();
  assert.equal(await note.locator('.tag').textContent(), 'private');
  assert.ok(await desk.locator('#chat-wait').textContent());
  await desk.locator('#reply').fill('Yes, it is.');
  await desk.locator('#composer button[type=submit]').click();
  await buyer.locator('.msg.from-agent .text', { hasText: 'Yes, it is.' }).waitFor();
  assert.ok(!(await buyer.locator('.log .msg .text').allTextContents()).some((s) => s.includes('stock last week')));
  // a note on the signed buyer: listed under the head ("about this buyer"), never the buyer's
  assert.equal(await desk.locator('#chat-about').isVisible(), false);
  await desk.locator('#reply').fill('Regular: prefers email');
  await desk.locator('#note-buyer').click();
  await desk.locator('#chat-about li', { hasText: 'Regular: prefers email' }).waitFor();
  assert.ok(!(await buyer.locator('.log .msg .text').allTextContents()).some((s) => s.includes('prefers email')));
  await shot(desk, 'desk-context-note');
  assert.deepEqual([...buyerCtx.errors, ...deskCtx.errors], []);
});
