// REST calls with the officer's token; a 401 triggers one refresh (rotation) and a retry.
// Tokens live in sessionStorage: gone with the tab, never in a URL.

const KEY = 'xiaonao.session';

export class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
    this.state = e.state || (body && body.state) || '';
    this.body = body;
  }
}

export class Api {
  constructor() {
    this.session = null;
    this.onSignedOut = null;
    this.refreshing = null;
    try {
      const s = sessionStorage.getItem(KEY);
      if (s) this.session = JSON.parse(s);
    } catch { this.session = null; }
  }

  get user() { return this.session?.user ?? null; }
  get token() { return this.session?.access_token ?? ''; }

  save(s) {
    this.session = s;
    try {
      if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
      else sessionStorage.removeItem(KEY);
    } catch { /* storage blocked: the session lasts as long as the page */ }
  }

  may(permission) { return !!this.user?.permissions?.includes(permission); }

  async login(policeNumber, password) {
    const r = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ police_number: policeNumber, password }),
    });
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, body);
    this.save(body);
    return body;
  }

  /** A new token pair from the refresh token; false (and signed out) if that fails. */
  async refresh() {
    if (!this.session?.refresh_token) return false;
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const r = await fetch('/api/v1/auth/refresh', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ refresh_token: this.session.refresh_token }),
          });
          if (!r.ok) return false;
          const body = await r.json();
          this.save({ ...this.session, ...body, user: body.user || this.session.user });
          return true;
        } catch {
          return false;
        } finally {
          setTimeout(() => { this.refreshing = null; }, 0);
        }
      })();
    }
    const ok = await this.refreshing;
    if (!ok) this.signedOut();
    return ok;
  }

  signedOut() {
    this.save(null);
    this.onSignedOut?.();
  }

  async logout() {
    try { await this.call('POST', '/api/v1/auth/logout'); } catch { /* gone anyway */ }
    this.save(null);
  }

  async call(method, path, body, retried = false) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401 && !retried && this.session?.refresh_token) {
      if (await this.refresh()) return this.call(method, path, body, true);
    }
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!r.ok) throw new ApiError(r.status, json);
    return json;
  }

  get(path) { return this.call('GET', path); }
  post(path, body) { return this.call('POST', path, body ?? {}); }
  patch(path, body) { return this.call('PATCH', path, body); }
  put(path, body) { return this.call('PUT', path, body); }
}
