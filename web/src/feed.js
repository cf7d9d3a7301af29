// The feed client: one WebSocket to /ws/feed, resumed with ?since=<last seq> after every drop,
// so that no event is missed; frames at or below the last seq are dropped, so none is doubled.
// Reconnects with exponential backoff (with jitter). Works in the browser and under node --test
// (the WebSocket constructor and the timer functions are injectable).

/** Close codes the server uses (docs/api.md, "The feed"). */
export const CLOSE = { goingAway: 1001, serverError: 1011, tryLater: 1013, tooSlow: 4001, revoked: 4003 };

/** Backoff before reconnect attempt `n` (0-based): 0.5 s doubling up to `max`, ±20 % jitter. */
export function backoffMs(n, random = Math.random, base = 500, max = 15000) {
  const d = Math.min(max, base * 2 ** Math.min(n, 16));
  return Math.round(d * (0.8 + 0.4 * random()));
}

/** The feed URL for a page served at `location` (http → ws, https → wss). */
export function feedUrl(location, since) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = since === null || since === undefined ? '' : `?since=${since}`;
  return `${scheme}//${location.host}/ws/feed${q}`;
}

export class FeedClient {
  /**
   * @param {object} o
   * @param {() => string} o.token      the current access token (asked at every connect)
   * @param {(ev) => void} o.onEvent    one call per new event, in seq order, never twice
   * @param {(s: string, info?) => void} [o.onStatus]  'connecting' | 'live' | 'down' | 'revoked'
   * @param {(expected: number, got: number) => void} [o.onGap]  a county-wide feed skipped seqs
   * @param {() => Promise<boolean>} [o.onRevoked]  4003: refresh the token; true → reconnect
   * @param {boolean} [o.contiguous]   true for county-wide feeds, whose seqs have no holes;
   *   a station role's feed skips other stations' seqs, so gaps mean nothing there
   * @param {number|null} [o.since]    resume after this seq; null: start live
   */
  constructor(o) {
    this.o = o;
    this.lastSeq = o.since ?? null;
    this.WebSocket = o.WebSocket ?? globalThis.WebSocket;
    this.location = o.location ?? globalThis.location;
    this.setTimeout = o.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = o.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.random = o.random ?? Math.random;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.status = 'idle';
    this.stats = { connects: 0, duplicates: 0, gaps: 0, events: 0 };
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.timer) this.clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try { ws.close(1000); } catch { /* already closed */ }
    }
    this.setStatus('down');
  }

  /** Drops the connection now (as a network failure would) and reconnects with backoff. */
  drop() {
    if (this.ws) {
      try { this.ws.close(4000); } catch { /* ignore */ }
    }
  }

  setStatus(s, info) {
    this.status = s;
    this.o.onStatus?.(s, info);
  }

  connect() {
    if (this.stopped) return;
    this.timer = null;
    this.setStatus('connecting');
    const url = feedUrl(this.location, this.lastSeq);
    let ws;
    try {
      // A browser cannot set headers on a WebSocket: the token travels as a subprotocol.
      ws = new this.WebSocket(url, ['xiaonao.v1', `xiaonao.bearer.${this.o.token()}`]);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.stats.connects += 1;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.setStatus('live');
      this.o.onOpen?.();
    };
    ws.onmessage = (m) => {
      if (this.ws !== ws) return;
      this.handleFrame(m.data);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = (c) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (c && c.code === CLOSE.revoked) {
        this.setStatus('revoked');
        Promise.resolve(this.o.onRevoked?.()).then((again) => {
          if (again && !this.stopped) this.scheduleReconnect();
        });
        return;
      }
      this.setStatus('down', { code: c?.code });
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.stopped || this.timer) return;
    const delay = backoffMs(this.attempt, this.random);
    this.attempt += 1;
    this.timer = this.setTimeout(() => this.connect(), delay);
  }

  /** One text frame; exported behaviour for the tests. Returns what happened to it. */
  handleFrame(text) {
    let ev;
    try {
      ev = JSON.parse(text);
    } catch {
      return 'malformed';
    }
    if (!ev || typeof ev.seq !== 'number' || !Number.isInteger(ev.seq) || ev.seq < 1) return 'malformed';
    if (this.lastSeq !== null && ev.seq <= this.lastSeq) {
      this.stats.duplicates += 1;
      return 'duplicate';
    }
    if (this.o.contiguous && this.lastSeq !== null && ev.seq !== this.lastSeq + 1) {
      // The server promises no holes; one means we cannot trust our picture: reload it.
      this.stats.gaps += 1;
      const expected = this.lastSeq + 1;
      this.lastSeq = ev.seq;
      this.stats.events += 1;
      this.o.onGap?.(expected, ev.seq);
      this.o.onEvent(ev);
      return 'gap';
    }
    this.lastSeq = ev.seq;
    this.stats.events += 1;
    this.o.onEvent(ev);
    return 'ok';
  }
}
