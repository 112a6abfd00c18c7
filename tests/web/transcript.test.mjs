// transcript.test.mjs - the floor's transcript viewer in a real browser
// against a real chatgwd and Redis (harness.mjs): a live chat's transcript
// from the watched chat; a closed chat's by its id, with the buyer's and
// the agent's messages, a private note marked private, the outcome and
// the buyer's rating with its comment, as text (HTML stays text), copied
// as text, printed alone; the id of an unknown chat or of another store's
// chat answers with an error; a long transcript in pages of 100.
// Screenshots under tests/web/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, shot, waitFor, openWidget, say, loginDesk, loginFloor } from './harness.mjs';

// a second store, with its own chats the demo store's supervisor must not read
const OTHER = ['store other', '    name "Other Shop"', '    groups sales'];

// the ids of the chats in Redis: their records are cg:chat:{<32 hex>}
const chatIds = (w) => w.redis('--scan', '--pattern', 'cg:chat:*').split('\n')
  .map((k) => /^cg:chat:\{([0-9a-f]{32})\}$/.exec(k)?.[1]).filter(Boolean);
const chatKey = (id) => `cg:chat:{${id}}`;

test('the floor shows a transcript: live from the watched chat, closed by its id, private notes marked', async (t) => {
  const w = await setup(t, { store: OTHER });
  const aliceTok = w.agent('alice', 'Alice');
  const supTok = w.supervisor('sue', 'Sue');
  const [floorCtx, buyerCtx, deskCtx] = [await w.context(), await w.context(), await w.context()];
  const [floor, buyer, desk] = [await floorCtx.newPage(), await buyerCtx.newPage(), await deskCtx.newPage()];

  await loginDesk(desk, `${w.gw.url}/desk/`, aliceTok);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'Is the <b>blue</b> one in stock?');
  await desk.locator('#chat-list .item').click();
  await desk.locator('#reply').fill('Yes, two left.');
  await desk.locator('#composer button[type=submit]').click();
  await buyer.locator('.msg.from-agent .text', { hasText: 'Yes, two left.' }).waitFor();
  await desk.locator('#reply').fill('Asked twice about resale prices');
  await desk.locator('#note').click();
  await desk.locator('#chat-log .msg.private:not(.pending) .text', { hasText: 'resale' }).waitFor();
  const [chat] = await waitFor(() => { const ids = chatIds(w); return ids.length === 1 && ids; }, 'the chat in Redis');

  // live: watch the chat's row, then its transcript from the watch panel
  await loginFloor(floor, `${w.gw.url}/floor/`, supTok);
  await floor.locator(`#chats tr[data-chat="${chat}"]`).click();
  await floor.locator('#watch-log .msg.from-buyer').waitFor();
  await floor.locator('#tr-watched').click();
  const viewer = floor.locator('#transcript');
  await viewer.locator('.tr-log .msg.from-agent .text', { hasText: 'Yes, two left.' }).waitFor();
  await viewer.locator('.tr-record dd[data-f="state"]', { hasText: 'open' }).waitFor();
  await viewer.locator('.tr-x').click();
  assert.equal(await viewer.isHidden(), true);

  // the agent closes it, sold
  await desk.locator('#close-sold').click();
  await buyer.locator('.closed').waitFor();
  await waitFor(() => w.redis('hget', chatKey(chat), 'state') === 'closed', 'the chat closed');
  // the buyer rates it, with a comment
  await buyer.locator('.rating button[data-score="2"]').click();
  await buyer.locator('.rating textarea.comment').fill('<i>Slow</i> answer');
  await buyer.locator('.rating .rate-send').click();
  await buyer.locator('.rating .thanks').waitFor();

  // closed: by its id, typed with spaces and in capitals as pasted from elsewhere
  await floor.locator('#tr-chat').fill(`  ${chat.toUpperCase()} `);
  await floor.locator('#tr-open button[type=submit]').click();
  await viewer.locator('.tr-record dd[data-f="outcome"]', { hasText: 'sold' }).waitFor();
  assert.equal(await viewer.locator('.tr-title').textContent(), `Transcript of chat ${chat}`);
  assert.equal(await viewer.locator('.tr-record dd[data-f="state"]').textContent(), 'closed');
  assert.equal(await viewer.locator('.tr-record dd[data-f="agent"]').textContent(), 'Alice');   // closed: the record keeps the name only
  assert.equal(await viewer.locator('.tr-record dd[data-f="reason"]').textContent(), 'the agent');
  assert.equal(await viewer.locator('.tr-record dd[data-f="rating"]').textContent(), '★★☆☆☆ (2/5)');
  assert.equal(await viewer.locator('.tr-record dd[data-f="comment"]').textContent(), '<i>Slow</i> answer');
  assert.equal(await viewer.locator('.tr-record i').count(), 0);
  // each record: time, writer, text; the buyer's HTML is text
  const buyerMsg = viewer.locator('.tr-log .msg.from-buyer');
  assert.equal(await buyerMsg.locator('.text').textContent(), 'Is the <b>blue</b> one in stock?');
  assert.equal(await buyerMsg.locator('.text b').count(), 0);
  assert.match(await buyerMsg.locator('.writer').textContent(), /^Buyer\b/);
  assert.match(await buyerMsg.locator('time').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const agentMsg = viewer.locator('.tr-log .msg.from-agent:not(.private)');
  assert.equal(await agentMsg.locator('.writer').textContent(), 'Agent Alice');
  assert.equal(await agentMsg.locator('.tag').count(), 0);
  // the note: marked private, and only it
  const note = viewer.locator('.tr-log .msg.private');
  assert.equal(await note.count(), 1);
  assert.equal(await note.locator('.text').textContent(), 'Asked twice about resale prices');
  assert.equal(await note.locator('.private-tag').textContent(), 'private note');
  assert.ok(await viewer.locator('.tr-log .msg.from-auto .text', { hasText: 'Welcome to Demo Store' }).count());
  const n = Number(w.redis('hget', chatKey(chat), 'n'));
  assert.equal(await viewer.locator('.tr-count').textContent(), `${n} of ${n} records`);
  assert.equal(await viewer.locator('.tr-more').isHidden(), true);
  await shot(floor, 'transcript-closed');

  // copy as text: one line per record, the note marked
  await floorCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: w.gw.url });
  await viewer.locator('.tr-copy').click();
  const text = await viewer.locator('.tr-plain').inputValue();
  assert.match(text, /^Transcript of chat [0-9a-f]{32}\n/);
  assert.match(text, /Outcome: sold/);
  assert.match(text, /Rating comment: <i>Slow<\/i> answer/);
  assert.match(text, /Buyer [^\n]*: Is the <b>blue<\/b> one in stock\?/);
  assert.match(text, /Agent Alice \[private note\]: Asked twice about resale prices/);
  assert.equal(await floor.evaluate(() => navigator.clipboard.readText()), text);
  // printed: the viewer alone
  await floor.emulateMedia({ media: 'print' });
  assert.equal(await floor.locator('.board').isVisible(), false);
  assert.equal(await viewer.locator('.tr-log').isVisible(), true);
  await floor.emulateMedia({ media: 'screen' });

  // an unknown chat, another store's chat, not a chat id: each says so in the viewer
  await floor.locator('#tr-chat').fill('0123456789abcdef0123456789abcdef');
  await floor.locator('#tr-open button[type=submit]').click();
  await viewer.locator('.tr-error', { hasText: 'No chat 0123456789abcdef0123456789abcdef in your stores' }).waitFor();
  assert.equal(await viewer.locator('.tr-log .msg').count(), 0);
  const other = await buyer.evaluate((url) => new Promise((done, fail) => {
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send(JSON.stringify({ t: 'hello', store: 'other' }));
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (f.t === 'welcome') ws.send(JSON.stringify({ t: 'msg', id: 'o1', text: 'other store here' }));
      if (f.t === 'ack') done(f.chat || ws.chat);
      if (f.t === 'welcome') ws.chat = f.chat;
      if (f.t === 'error') fail(new Error(f.code));
    };
  }), w.gw.url.replace('http', 'ws') + '/v1/buyer');
  assert.equal(w.redis('hget', chatKey(other), 'store'), 'other');
  await floor.locator('#tr-chat').fill(other);
  await floor.locator('#tr-open button[type=submit]').click();
  await viewer.locator('.tr-error', { hasText: `No chat ${other} in your stores` }).waitFor();
  assert.equal(await viewer.locator('.tr-log .msg').count(), 0);
  await floor.locator('#tr-chat').fill('not-a-chat');
  await floor.locator('#tr-open button[type=submit]').click();
  await viewer.locator('.tr-error', { hasText: 'A chat id is 32 hexadecimal characters.' }).waitFor();
  await shot(floor, 'transcript-not-found');
  assert.deepEqual([...floorCtx.errors, ...buyerCtx.errors, ...deskCtx.errors], []);
});

test('a long transcript comes in pages of 100: "Load more" shows the rest, in order', async (t) => {
  const w = await setup(t);
  const aliceTok = w.agent('alice', 'Alice');
  const supTok = w.supervisor('sue', 'Sue');
  const [floorCtx, buyerCtx, deskCtx] = [await w.context(), await w.context(), await w.context()];
  const [floor, buyer, desk] = [await floorCtx.newPage(), await buyerCtx.newPage(), await deskCtx.newPage()];
  await loginDesk(desk, `${w.gw.url}/desk/`, aliceTok);
  await desk.locator('#ready').click();
  await desk.locator('#ready.on').waitFor();
  await openWidget(buyer, `${w.gw.url}/demo/`);
  await say(buyer, 'A long story');
  await desk.locator('#chat-list .item').waitFor();
  const [chat] = await waitFor(() => { const ids = chatIds(w); return ids.length === 1 && ids; }, 'the chat in Redis');
  // 120 notes from a second session of the agent, each acked before the next
  const acked = await desk.evaluate(({ url, token, chat }) => new Promise((done, fail) => {
    const ws = new WebSocket(url);
    let k = 0;
    const next = () => ws.send(JSON.stringify({ t: 'note', chat, id: `n${k}`, text: `note ${k}` }));
    ws.onopen = () => ws.send(JSON.stringify({ t: 'login', token }));
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (f.t === 'welcome') next();
      else if (f.t === 'ack' && f.id === `n${k}`) { if (++k === 120) { ws.close(); done(k); } else next(); }
      else if (f.t === 'error' && f.code === 'rate_limited') setTimeout(next, 100);   // past the burst: again
      else if (f.t === 'error') fail(new Error(f.code));
    };
  }), { url: w.gw.url.replace('http', 'ws') + '/v1/agent', token: aliceTok, chat });
  assert.equal(acked, 120);
  const n = Number(w.redis('hget', chatKey(chat), 'n'));
  assert.ok(n > 120, `n=${n}`);

  await loginFloor(floor, `${w.gw.url}/floor/`, supTok);
  await floor.locator('#tr-chat').fill(chat);
  await floor.locator('#tr-open button[type=submit]').click();
  const viewer = floor.locator('#transcript');
  await viewer.locator('.tr-count', { hasText: `100 of ${n} records` }).waitFor();
  assert.equal(await viewer.locator('.tr-log .msg').count(), 100);
  await viewer.locator('.tr-more').click();
  await viewer.locator('.tr-count', { hasText: `${n} of ${n} records` }).waitFor();
  assert.equal(await viewer.locator('.tr-more').isHidden(), true);
  const seqs = (await viewer.locator('.tr-log .msg').evaluateAll((els) => els.map((e) => Number(e.dataset.seq))));
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1));
  assert.equal(await viewer.locator('.tr-log .msg.private').count(), 120);
  await viewer.locator('.tr-log .msg.private .text', { hasText: /^note 119$/ }).waitFor();
  assert.deepEqual([...floorCtx.errors, ...buyerCtx.errors, ...deskCtx.errors], []);
});
