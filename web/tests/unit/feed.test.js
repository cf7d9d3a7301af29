import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeedClient, backoffMs, feedUrl, CLOSE } from '../../src/feed.js';

// A fake WebSocket whose instances the test drives by hand.
function harness(opts = {}) {
  const sockets = [];
  const timers = [];
  class FakeWS {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.closed = null;
      sockets.push(this);
    }
    open() { this.onopen?.(); }
    send() {}
    frame(obj) { this.onmessage?.({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) }); }
    close(code = 1000) { this.closed = code; this.onclose?.({ code }); }
  }
  const events = [];
  const statuses = [];
  const gaps = [];
  const client = new FeedClient({
    token: () => 'xna_TOKEN',
    onEvent: (e) => events.push(e.seq),
    onStatus: (s) => statuses.push(s),
    onGap: (a, b) => gaps.push([a, b]),
    WebSocket: FakeWS,
    location: { protocol: 'http:', host: '127.0.0.1:9' },
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: () => {},
    random: () => 0.5,
    ...opts,
  });
  const fire = () => { const t = timers.shift(); t.fn(); return t.ms; };
  return { client, sockets, events, statuses, gaps, fire, timers };
}

test('connects live without since, with the token as a subprotocol', () => {
  const h = harness();
  h.client.start();
  assert.equal(h.sockets[0].url, 'ws://127.0.0.1:9/ws/feed');
  assert.deepEqual(h.sockets[0].protocols, ['xiaonao.v1', 'xiaonao.bearer.xna_TOKEN']);
  h.sockets[0].open();
  assert.equal(h.client.status, 'live');
});

test('resumes with since=last seq after a drop; replayed frames are not delivered twice', () => {
  const h = harness();
  h.client.start();
  const a = h.sockets[0];
  a.open();
  for (const seq of [5, 6, 7]) a.frame({ seq, type: 'x', data: {} });
  a.close(1006);
  assert.equal(h.client.status, 'down');
  const waited = h.fire();
  assert.ok(waited >= 400 && waited <= 600, `first backoff ${waited}`);
  const b = h.sockets[1];
  assert.equal(b.url, 'ws://127.0.0.1:9/ws/feed?since=7');
  b.open();
  // The server replays from 8, but a stray duplicate (a proxy re-sending, a racing frame) is dropped.
  for (const seq of [6, 7, 8, 9]) b.frame({ seq, type: 'x', data: {} });
  assert.deepEqual(h.events, [5, 6, 7, 8, 9]);
  assert.equal(h.client.stats.duplicates, 2);
});

test('starting from a known seq asks for the replay at once', () => {
  const h = harness({ since: 41 });
  h.client.start();
  assert.equal(h.sockets[0].url, 'ws://127.0.0.1:9/ws/feed?since=41');
  h.sockets[0].frame({ seq: 41, data: {} });
  h.sockets[0].frame({ seq: 42, data: {} });
  assert.deepEqual(h.events, [42]);
});

test('backoff doubles up to the cap and resets after a successful open', () => {
  assert.equal(backoffMs(0, () => 0.5), 500);
  assert.equal(backoffMs(1, () => 0.5), 1000);
  assert.equal(backoffMs(10, () => 0.5), 15000);
  assert.equal(backoffMs(0, () => 0), 400);
  assert.equal(backoffMs(0, () => 1), 600);
  const h = harness();
  h.client.start();
  h.sockets[0].close(1006);
  assert.equal(h.fire(), 500);
  h.sockets[1].close(1006);
  assert.equal(h.fire(), 1000);
  h.sockets[2].open();
  h.sockets[2].close(CLOSE.goingAway);
  assert.equal(h.fire(), 500);
});

test('a county-wide feed reports a hole in seq; a station feed does not', () => {
  const h = harness({ contiguous: true });
  h.client.start();
  h.sockets[0].open();
  h.sockets[0].frame({ seq: 1, data: {} });
  h.sockets[0].frame({ seq: 3, data: {} });
  assert.deepEqual(h.gaps, [[2, 3]]);
  assert.deepEqual(h.events, [1, 3]);
  const s = harness({ contiguous: false });
  s.client.start();
  s.sockets[0].frame({ seq: 1, data: {} });
  s.sockets[0].frame({ seq: 9, data: {} });
  assert.deepEqual(s.gaps, []);
  assert.deepEqual(s.events, [1, 9]);
});

test('malformed frames are ignored', () => {
  const h = harness();
  h.client.start();
  for (const f of ['not json', '{}', '{"seq":"3"}', '{"seq":0}', '{"seq":1.5}', 'null']) {
    assert.equal(h.client.handleFrame(f), 'malformed', f);
  }
  assert.deepEqual(h.events, []);
});

test('4003 asks for a new token and reconnects only when one was got', async () => {
  let refreshed = 0;
  const h = harness({ onRevoked: async () => { refreshed += 1; return refreshed === 1; } });
  h.client.start();
  h.sockets[0].open();
  h.sockets[0].frame({ seq: 3, data: {} });
  h.sockets[0].close(CLOSE.revoked);
  assert.equal(h.client.status, 'revoked');
  await new Promise((r) => setImmediate(r));
  h.fire();
  assert.equal(h.sockets[1].url, 'ws://127.0.0.1:9/ws/feed?since=3');
  h.sockets[1].close(CLOSE.revoked);
  await new Promise((r) => setImmediate(r));
  assert.equal(h.timers.length, 0, 'no reconnect without a token');
});

test('stop closes and never reconnects', () => {
  const h = harness();
  h.client.start();
  h.sockets[0].open();
  h.client.stop();
  assert.equal(h.sockets[0].closed, 1000);
  assert.equal(h.timers.length, 0);
});

test('a random drop/replay schedule delivers every seq exactly once, in order', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const h = harness();
  h.client.start();
  const total = 2000;
  let next = 1;
  while (next <= total) {
    const ws = h.sockets[h.sockets.length - 1];
    ws.open();
    // The server replays from since+1; sometimes a little earlier (a duplicate window).
    const since = h.client.lastSeq ?? 0;
    let seq = Math.max(1, since + 1 - Math.floor(rnd() * 3));
    const burst = 1 + Math.floor(rnd() * 50);
    for (let i = 0; i < burst && seq <= total; i++, seq++) ws.frame({ seq, data: {} });
    next = seq;
    ws.close(1006);
    h.fire();
  }
  assert.equal(h.events.length, total);
  h.events.forEach((s, i) => assert.equal(s, i + 1));
});

test('feedUrl follows the page scheme', () => {
  assert.equal(feedUrl({ protocol: 'https:', host: 'h:1' }, 5), 'wss://h:1/ws/feed?since=5');
  assert.equal(feedUrl({ protocol: 'http:', host: 'h' }, null), 'ws://h/ws/feed');
});
