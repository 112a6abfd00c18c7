// chat.test.mjs - the pages in a real browser: a buyer on the demo store
// and an agent at the desk, each in its own browser context, against a
// real chatgwd and Redis (harness.mjs). Each test saves screenshots under
// tests/web/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, shot, waitFor, openWidget, say, loginDesk, buyerTexts } from './harness.mjs';

test('a buyer and an agent complete a chat: greeting, assignment, quick reply, close sold with the farewell', async (t) => {
  const w = await setup(t);
  const token = w.agent('alice', 'Alice');
  const buyerCtx = await w.context();
  const deskCtx = await w.context();
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();
  await desk.clock.install();          // to move the desk's timers on without waiting

  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Is the red one in stock?');
  // the greeting at once, then the message acknowledged and the queue place
  await buyer.locator('.msg.from-auto .text', { hasText: 'Welcome to Demo Store' }).waitFor();
  await buyer.locator('.banner.queue', { hasText: 'You are number 1 in line.' }).waitFor();
  await waitFor(async () => (await buyer.locator('.msg.pending').count()) === 0, 'the ack');
  assert.deepEqual(await buyerTexts(buyer), ['Is the red one in stock?']);

  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  assert.equal(await desk.locator('#agent-name').textContent(), 'Alice');
  await desk.locator('#ready').click();
  const item = desk.locator('#chat-list .item');
  await item.waitFor();
  assert.equal(await item.locator('.unread').textContent(), '1');
  const alerts = async () => Number(await desk.evaluate(() => document.body.dataset.alerts));
  await waitFor(async () => (await alerts()) === 1, 'alert');
  // waiting: amber from 20 s, red from 30 s; the alert again while it waits
  let before = await alerts();
  await desk.clock.fastForward(21000);
  await item.locator('.timer.amber').waitFor();
  await waitFor(async () => (await alerts()) > before, 'the alert repeated');
  before = await alerts();
  await desk.clock.fastForward(10000);
  await item.locator('.timer.red').waitFor();
  await waitFor(async () => (await alerts()) > before, 'the alert repeated again');
  await shot(desk, 'e2e-desk-waiting');

  await item.click();
  await desk.locator('#chat-log .msg.from-buyer', { hasText: 'Is the red one in stock?' }).waitFor();
  assert.equal(await item.locator('.unread').isHidden(), true);
  // the library by category beside the chat
  await desk.locator('#quick .quick-cat[data-category="greeting"] .phrase[data-key="/hi.en"]').waitFor();
  // "/" and a shortcut in the reply box: the matching phrases; Enter sends the first
  await desk.locator('#reply').fill('/hi');
  const first = desk.locator('#quick-pop li.on');
  await first.waitFor();
  assert.equal(await first.getAttribute('data-key'), '/hi.en');
  await shot(desk, 'e2e-desk-quick-popup');
  await desk.locator('#reply').press('Enter');
  assert.equal(await desk.locator('#reply').inputValue(), '');
  // the gateway fills the placeholders; the ack brings the text that went out
  const hi = "welcome to Demo Store! I'm Alice, how can I help you today?";
  await desk.locator('#chat-log .msg.from-agent:not(.pending)', { hasText: hi }).waitFor();
  // answered: the timer is gone, and the alerts stop
  await waitFor(async () => (await item.locator('.timer').textContent()) === '', 'no timer');
  const n = await alerts();
  await desk.clock.runFor(25000);
  assert.equal(await alerts(), n);
  assert.equal(await desk.title(), 'Agent desk');

  await buyer.locator('.banner.agent', { hasText: 'Alice is serving you.' }).waitFor();
  await buyer.locator('.msg.from-agent .text', { hasText: hi }).waitFor();
  await buyer.locator('.msg.from-agent .who', { hasText: 'Alice' }).waitFor();
  await shot(buyer, 'e2e-buyer-answered');

  // close with outcome sold: the store's farewell reaches the buyer first, then the chat is closed
  await desk.locator('#close-sold').click();
  const farewell = buyer.locator('.log .msg:last-child');
  await buyer.locator('.closed', { hasText: 'This chat has ended.' }).waitFor();
  assert.match(await farewell.getAttribute('class'), /from-auto/);
  assert.equal(await farewell.locator('.text').textContent(),
    'Thank you for your order at Demo Store! Feel free to come back any time.');
  assert.equal(await farewell.locator('.who').textContent(), 'Demo Store');
  assert.equal(await buyer.locator('.composer').isHidden(), true);
  // closed: the buyer is asked for a 1-5 rating (floor.test.mjs sends one)
  assert.equal(await buyer.locator('.rating button[data-score]').count(), 5);
  assert.equal(await buyer.locator('.rating').isVisible(), true);
  await desk.locator('#chat-list .item').waitFor({ state: 'detached' });
  await desk.locator('#toast', { hasText: /The chat with b-[0-9a-f]+ is closed\./ }).waitFor();
  await shot(buyer, 'e2e-buyer-closed');
  await shot(desk, 'e2e-desk-closed');
  assert.deepEqual([...buyerCtx.errors, ...deskCtx.errors], []);
});

test('the widget resumes after a reload and after the gateway restarts, nothing lost or doubled', async (t) => {
  const w = await setup(t);
  const ctx = await w.context({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();

  await openWidget(page, `${w.gw.url}/demo/`);
  // a phone: the open panel takes the whole screen
  const box = await page.locator('.panel').boundingBox();
  assert.ok(box.width >= 370 && box.height >= 660, JSON.stringify(box));
  await say(page, 'first');
  await page.locator('.msg.from-auto').waitFor();
  await waitFor(async () => (await page.locator('.msg.pending').count()) === 0, 'ack of first');
  await say(page, 'second');
  await waitFor(async () => (await page.locator('.msg.pending').count()) === 0, 'ack of second');

  await page.reload();
  // the panel is open again with the whole chat, once
  await page.locator('.msg.from-auto').waitFor();
  await waitFor(async () => (await buyerTexts(page)).length === 2, 'the replay');
  assert.deepEqual(await buyerTexts(page), ['first', 'second']);
  assert.equal(await page.locator('.msg.from-auto').count(), 1);
  await shot(page, 'resume-after-reload-phone');

  // the gateway goes away; a message written meanwhile waits, then goes out once
  await w.gw.stop();
  await page.locator('.status', { hasText: /Offline|Reconnecting/ }).waitFor();
  await say(page, 'third, while the gateway is down');
  await page.locator('.msg.pending', { hasText: 'third' }).waitFor();
  await shot(page, 'resume-gateway-down');
  await w.restartGateway();
  await waitFor(async () => (await page.locator('.msg.pending').count()) === 0, 'the resend acknowledged', 20000);
  assert.deepEqual(await buyerTexts(page), ['first', 'second', 'third, while the gateway is down']);

  // and a reload after all that shows each message once, in order
  await page.reload();
  await waitFor(async () => (await buyerTexts(page)).length === 3, 'the replay after the restart');
  assert.deepEqual(await buyerTexts(page), ['first', 'second', 'third, while the gateway is down']);
  const seqs = await page.locator('.log .msg').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  assert.equal(await page.locator('.msg.from-auto').count(), 1);
  await shot(page, 'resume-after-restart-phone');
  assert.deepEqual(ctx.errors, []);
});

test('HTML typed in a message shows as text on both sides', async (t) => {
  const w = await setup(t);
  const token = w.agent('alice', 'Alice');
  const buyerCtx = await w.context({ locale: 'zh-CN' });
  const deskCtx = await w.context();
  const buyer = await buyerCtx.newPage();
  const desk = await deskCtx.newPage();
  const evil = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold</b>';

  await buyer.goto(`${w.gw.url}/demo/`);
  // a Chinese browser gets the Chinese texts
  assert.equal(await buyer.locator('.launcher').textContent(), '联系客服');
  await buyer.locator('.launcher').click();
  await say(buyer, evil);
  await waitFor(async () => (await buyer.locator('.msg.pending').count()) === 0, 'the ack');
  assert.deepEqual(await buyerTexts(buyer), [evil]);

  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  await desk.locator('#ready').click();
  await desk.locator('#chat-list .item').click();
  const shown = desk.locator('#chat-log .msg.from-buyer .text');
  await shown.waitFor();
  assert.equal(await shown.textContent(), evil);
  await desk.locator('#reply').fill('<i>italic</i> & <a href="javascript:alert(1)">x</a>');
  await desk.locator('#composer button[type=submit]').click();
  const reply = buyer.locator('.msg.from-agent .text');
  await reply.waitFor();
  assert.equal(await reply.textContent(), '<i>italic</i> & <a href="javascript:alert(1)">x</a>');

  for (const page of [buyer, desk]) {
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.locator('.msg b, .msg i, .msg img, .msg script, .msg a').count(), 0);
  }
  await buyer.locator('.banner.agent', { hasText: '客服 Alice 为您服务。' }).waitFor();
  await shot(buyer, 'html-as-text-buyer-zh');
  await shot(desk, 'html-as-text-desk');
});

test('a page of another origin embeds the widget but cannot open an agent session', async (t) => {
  const w = await setup(t);
  const token = w.agent('alice', 'Alice');
  const site = await w.foreignSite(`<!doctype html><title>Other shop</title><h1>Other shop</h1>
    <script type="module" src="${w.gw.url}/widget.js" data-store="demo"></script>
    <script>
      window.agentTry = new Promise((done) => {
        const ws = new WebSocket(${JSON.stringify(w.gw.url.replace('http', 'ws') + '/v1/agent')});
        const seen = [];
        ws.onopen = () => ws.send(JSON.stringify({ t: 'login', token: ${JSON.stringify(token)} }));
        ws.onmessage = (e) => seen.push(JSON.parse(e.data).t);
        ws.onclose = (e) => done({ code: e.code, seen });
      });
    </script>`);
  const ctx = await w.context();
  const page = await ctx.newPage();
  await page.goto(site);
  // the desk endpoint refuses this page before any login
  const tried = await page.evaluate(() => window.agentTry);
  assert.equal(tried.code, 1006);
  assert.deepEqual(tried.seen, []);
  await waitFor(() => w.gw.log().includes('event=upgrade_refused role=agent reason=origin'), 'the refusal logged');

  // the same page's buyer widget works (buyers may come from any store site)
  await page.locator('.launcher').click();
  await say(page, 'hello from another site');
  await page.locator('.msg.from-auto', { hasText: 'Welcome to Demo Store' }).waitFor();
  await shot(page, 'foreign-origin-widget');

  // and the desk from the gateway's own origin logs in with the same token
  const desk = await (await w.context()).newPage();
  await loginDesk(desk, `${w.gw.url}/desk/`, token);
  assert.equal(await desk.locator('#agent-name').textContent(), 'Alice');
  await shot(desk, 'foreign-origin-own-desk');
});

test('an agent transfers a chat with a reason; the other agent gets it with its history', async (t) => {
  const w = await setup(t);
  const alice = w.agent('alice', 'Alice');
  const bob = w.agent('bob', 'Bob');
  const buyer = await (await w.context()).newPage();
  const deskA = await (await w.context()).newPage();
  const deskB = await (await w.context({ locale: 'zh-CN' })).newPage();

  await loginDesk(deskA, `${w.gw.url}/desk/`, alice);
  await deskA.locator('#ready').click();
  await deskA.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'I need a refund');
  await deskA.locator('#chat-list .item').click();
  await deskA.locator('#chat-log .msg.from-buyer', { hasText: 'I need a refund' }).waitFor();

  await loginDesk(deskB, `${w.gw.url}/desk/`, bob);
  await deskB.locator('#ready').click();
  await deskB.locator('#ready.on').waitFor();
  await deskA.locator('#transfer-to').fill('bob');
  await deskA.locator('#transfer-reason').fill('refunds are for Bob');
  await deskA.locator('#transfer button[type=submit]').click();
  await deskA.locator('#toast', { hasText: 'Transferred to bob' }).waitFor();
  await deskA.locator('#chat-list .item').waitFor({ state: 'detached' });
  assert.equal(await deskA.locator('#chat').isHidden(), true);

  await deskB.locator('#chat-list .item').click();
  await deskB.locator('#chat-log .msg.from-buyer', { hasText: 'I need a refund' }).waitFor();
  await deskB.locator('#reply').fill('Bob here, let me help.');
  await deskB.locator('#composer button[type=submit]').click();
  await buyer.locator('.msg.from-agent', { hasText: 'Bob here' }).waitFor();
  await buyer.locator('.banner.agent', { hasText: 'Bob is serving you.' }).waitFor();
  await buyer.locator('.msg.from-system').waitFor();               // the gateway's transfer notice
  await shot(deskB, 'transfer-desk-bob-zh');
  await shot(buyer, 'transfer-buyer');
});
