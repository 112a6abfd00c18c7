// typing.test.mjs - typing and read state in a real browser (PROTOCOL.md
// 6.7, 7.8): the widget shows the agent typing and "Read" on the buyer's
// messages the agent has read, also after a reload; the desk shows the
// buyer typing, in the chat list and under the open chat, and "Read" on
// the agent's messages the buyer has seen. Screenshots under
// tests/web/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, shot, waitFor, openWidget, say, loginDesk } from './harness.mjs';

test('the widget shows the agent typing and Read; the desk shows the buyer typing and Read', async (t) => {
  const w = await setup(t);
  const token = w.agent('alice', 'Alice');
  const buyerCtx = await w.context();
  const deskCtx = await w.context();
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();
  await buyer.clock.install();         // to let the typing indicator run out without waiting

  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Is the red one in stock?');
  await buyer.locator('.msg.from-auto').waitFor();
  await waitFor(async () => (await buyer.locator('.msg.pending').count()) === 0, 'the ack');
  const mine = buyer.locator('.msg.from-buyer', { hasText: 'Is the red one in stock?' });
  assert.equal(await mine.locator('.state').textContent(), '');      // not read yet

  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  await desk.locator('#ready').click();
  const item = desk.locator('#chat-list .item');
  await item.waitFor();
  await buyer.locator('.banner.agent', { hasText: 'Alice is serving you.' }).waitFor();

  // the buyer types: the desk's list shows it, before the chat is opened
  // (its first message's keystrokes were typing too: the next one goes out
  // once the widget's and the gateway's 2 s have passed)
  const listTyping = item.locator('.typing', { hasText: 'typing…' });
  await buyer.locator('.panel textarea').pressSequentially('And in blue');
  await waitFor(async () => {
    await buyer.locator('.panel textarea').press('!');
    return listTyping.isVisible();
  }, 'the buyer typing on the desk', 8000);
  await shot(desk, 'typing-desk-list');

  // the agent opens the chat: the desk says read, the buyer's message is Read
  await item.click();
  await desk.locator('#chat-typing:not([hidden])', { hasText: 'is typing…' }).waitFor();
  await mine.locator('.state', { hasText: 'Read' }).waitFor();
  assert.match(await mine.getAttribute('class'), /\bseen\b/);
  await shot(buyer, 'typing-buyer-read');

  // the buyer's message ends its typing on the desk at once
  await buyer.locator('.panel .send').click();
  await desk.locator('#chat-log .msg.from-buyer', { hasText: 'And in blue' }).waitFor();
  await waitFor(() => desk.locator('#chat-typing').isHidden(), 'the desk typing indicator gone');
  assert.equal(await item.locator('.typing').isHidden(), true);
  // seen in the open chat: that one is Read at once too
  await buyer.locator('.msg.from-buyer.seen', { hasText: 'And in blue' }).waitFor();

  // the agent types: the widget shows it with the agent's name ...
  await desk.locator('#reply').pressSequentially('Yes, both');
  const typing = buyer.locator('.typing');
  await buyer.locator('.typing:not([hidden])', { hasText: 'Alice is typing…' }).waitFor();
  await shot(buyer, 'typing-buyer-agent-typing');
  // ... until the time the gateway gave runs out (3 x typing_relay = 6 s)
  await buyer.clock.fastForward(7000);
  await waitFor(() => typing.isHidden(), 'the widget typing indicator gone');

  // typing on: shown again once the desk and the gateway let the next one
  // through (each at most once per 2 s); then the message ends it at once
  await waitFor(async () => {
    await desk.locator('#reply').press('!');
    return typing.isVisible();
  }, 'the agent typing again', 8000);
  await desk.locator('#reply').press('Enter');
  await buyer.locator('.msg.from-agent', { hasText: 'Yes, both!' }).waitFor();
  assert.equal(await typing.isHidden(), true);

  // the widget, open and visible, says read: the desk marks the agent's message Read
  const answer = desk.locator('#chat-log .msg.from-agent', { hasText: 'Yes, both!' });
  await answer.locator('.seen', { hasText: 'Read' }).waitFor();
  await shot(desk, 'typing-desk-read');
  // kept in the chat: the buyer read up to the answer (4), the agent up to the buyer's last (3)
  const key = `cg:chat:{${await chatId(buyer)}}`;
  assert.equal(w.redis('HGET', key, 'rdb'), '4');
  assert.equal(w.redis('HGET', key, 'rda'), '3');

  // after a reload the widget still shows how far the agent has read
  await buyer.reload();
  await buyer.locator('.msg.from-agent', { hasText: 'Yes, both!' }).waitFor();
  await buyer.locator('.msg.from-buyer.seen', { hasText: 'Is the red one in stock?' }).waitFor();
  await buyer.locator('.msg.from-buyer.seen', { hasText: 'And in blue' }).waitFor();
  // and a desk logging in again shows Read on its message at once
  await desk.reload();
  await desk.locator('#chat-list .item').click();
  await desk.locator('#chat-log .msg.from-agent .seen', { hasText: 'Read' }).waitFor();
  assert.deepEqual([...buyerCtx.errors, ...deskCtx.errors], []);
});

// the chat id, from the widget's resume token in sessionStorage
async function chatId(page) {
  return page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      if (k.endsWith(':resume')) return JSON.parse(sessionStorage.getItem(k)).slice(0, 32);
    }
    return '';
  });
}

test('the agent reads a chat in one desk window: its other window clears the unread count', async (t) => {
  const w = await setup(t);
  const token = w.agent('alice', 'Alice');
  const [buyerCtx, ctx1, ctx2] = [await w.context(), await w.context(), await w.context()];
  const buyer = await buyerCtx.newPage();
  const desk1 = await ctx1.newPage();
  const desk2 = await ctx2.newPage();

  await loginDesk(desk1, `${w.gw.url}/desk/`, token);
  await loginDesk(desk2, `${w.gw.url}/desk/`, token);
  await desk1.locator('#ready').click();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Anyone there?');
  // neither window has opened it: both count it unread
  for (const d of [desk1, desk2]) await d.locator('#chat-list .item .unread:not([hidden])', { hasText: '1' }).waitFor();
  await desk1.locator('#chat-list .item').click();
  await desk2.locator('#chat-list .item .unread').waitFor({ state: 'hidden' });
  await shot(desk2, 'read-in-another-window');
  assert.deepEqual([...buyerCtx.errors, ...ctx1.errors, ...ctx2.errors], []);
});
