// The station console: login, then one screen: the live incident queue (left), the map
// (centre) and the one-screen incident view (right). Everything comes from this server.
import './style.css';
import { Api, ApiError } from './api.js';
import { FeedClient } from './feed.js';
import { categoryList, categoryName, formatTime, getLang, label, onLangChange, setCategories, setLang, t } from './i18n.js';
import { ConsoleMap } from './map.js';
import { IncidentQueue, OPEN_STATUSES, formatDuration } from './state.js';
import { SUPPORT_OPEN, actionRequest, deadlineBadge, esc, renderForm, renderSupportPanel, renderView } from './view.js';

const api = new Api();
const app = document.getElementById('app');
let settings = { tile_url: '' };

// ---- sound and flash for a new urgent incident (no audio file: WebAudio) ----
let audio = null;
function unlockAudio() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
  } catch { audio = null; }
}
function beep() {
  if (!audio) return;
  const now = audio.currentTime;
  for (const [i, f] of [[0, 880], [1, 660], [2, 880]]) {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = f;
    o.type = 'square';
    g.gain.setValueAtTime(0.0001, now + i * 0.18);
    g.gain.exponentialRampToValueAtTime(0.15, now + i * 0.18 + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
    o.connect(g).connect(audio.destination);
    o.start(now + i * 0.18);
    o.stop(now + i * 0.18 + 0.17);
  }
}

// ---- login ----
function renderLogin(message = '', policeNumber = '') {
  app.innerHTML = `<div class="login">
    <form id="login-form" data-testid="login-form">
      <h1>${esc(t('app.title'))}</h1>
      <label><span>${esc(t('login.police_number'))}</span><input name="police_number" autocomplete="username" required data-testid="login-user" value="${esc(policeNumber)}"></label>
      <label><span>${esc(t('login.password'))}</span><input name="password" type="password" autocomplete="current-password" required data-testid="login-password"></label>
      <button type="submit" data-testid="login-submit">${esc(t('login.submit'))}</button>
      <button type="button" class="link" id="lang-login">${esc(t('lang.switch'))}</button>
      <p class="error" data-testid="login-error">${esc(message)}</p>
    </form></div>`;
  document.getElementById('lang-login').onclick = () => { setLang(getLang() === 'en' ? 'zh' : 'en'); renderLogin(); };
  document.getElementById('login-form').onsubmit = async (e) => {
    e.preventDefault();
    unlockAudio();
    const f = new FormData(e.target);
    try {
      await api.login(String(f.get('police_number')), String(f.get('password')));
      startConsole();
    } catch (err) {
      renderLogin(err instanceof ApiError && err.status === 429 ? t('login.throttled') : t('login.failed'),
        String(f.get('police_number')));
      document.querySelector('[data-testid="login-password"]')?.focus();
    }
  };
}

// ---- the console ----
const queue = new IncidentQueue();
const filters = { statuses: [], categories: [], priorities: [], text: '', overdueOnly: false };
let feed = null;
let cmap = null;
let selectedId = null;
let selectedView = null;
let renderPending = false;
let viewTimer = null;
let unitsTimer = null;
let tickTimer = null;
let fitted = false;
let snapshotLoading = false;
// The county's support desk (users with support:handle): the open requests, shown in the view's
// place while `supportOpen`; `supportForm` is the answer or reject form being filled in.
let supportOpen = false;
let supportItems = [];
let supportForm = null;
let supportTimer = null;
let buffered = [];
const stats = { rendered: 0, snapshots: 0, alarms: 0, lastRenderMs: 0 };

function shell() {
  const u = api.user || {};
  rowCache.clear();
  app.innerHTML = `<div class="shell">
    <header class="top" id="top">
      <div class="brand">${esc(t('app.title'))}</div>
      <div class="who">${esc(u.name || '')} ${esc(u.police_number || '')} ${u.station_id ? `· ${esc(u.station_id)}` : ''}</div>
      <div class="open-count" data-testid="open-count"></div>
      <div class="feed-status" data-testid="feed-status"></div>
      <div class="clock" id="clock"></div>
      ${api.may('support:handle') ? `<button id="support-toggle" data-testid="support-toggle">${esc(t('support.toggle'))} <span class="count" data-testid="support-count"></span></button>` : ''}
      <button id="lang" data-testid="lang-switch">${esc(t('lang.switch'))}</button>
      <button id="logout">${esc(t('logout'))}</button>
    </header>
    <aside class="queue">
      <div class="filters">
        <input id="f-text" type="search" placeholder="${esc(t('filter.search'))}" value="${esc(filters.text)}">
        <select id="f-cat"><option value="">${esc(t('filter.all_categories'))}</option>
          ${categoryList().map((c) => `<option value="${esc(c.code)}" ${filters.categories[0] === c.code ? 'selected' : ''}>${esc(categoryName(c.code))}</option>`).join('')}</select>
        <select id="f-prio"><option value="">${esc(t('filter.all_priorities'))}</option>
          ${[1, 2, 3, 4].map((p) => `<option value="${p}" ${filters.priorities[0] === p ? 'selected' : ''}>${esc(t('priority.n', { n: p }))}</option>`).join('')}</select>
        <select id="f-status"><option value="">${esc(t('filter.all_statuses'))}</option>
          ${[...OPEN_STATUSES, 'closed', 'cancelled'].map((s) => `<option value="${s}" ${filters.statuses[0] === s ? 'selected' : ''}>${esc(label('status', s))}</option>`).join('')}</select>
        <label class="check"><input id="f-overdue" type="checkbox" ${filters.overdueOnly ? 'checked' : ''}> ${esc(t('filter.overdue'))}</label>
      </div>
      <ul class="rows" id="rows" data-testid="queue"></ul>
    </aside>
    <main class="map" id="map"></main>
    <div class="toasts" id="toasts" data-testid="toasts" aria-live="assertive"></div>
    <section class="view" id="view" data-testid="view"></section>
  </div>`;
  document.getElementById('lang').onclick = () => setLang(getLang() === 'en' ? 'zh' : 'en');
  document.getElementById('logout').onclick = async () => { stopConsole(); await api.logout(); renderLogin(); };
  document.getElementById('f-text').oninput = (e) => { filters.text = e.target.value; scheduleRender(); };
  document.getElementById('f-cat').onchange = (e) => { filters.categories = e.target.value ? [e.target.value] : []; scheduleRender(); };
  document.getElementById('f-prio').onchange = (e) => { filters.priorities = e.target.value ? [Number(e.target.value)] : []; scheduleRender(); };
  document.getElementById('f-status').onchange = (e) => { filters.statuses = e.target.value ? [e.target.value] : []; scheduleRender(); };
  document.getElementById('f-overdue').onchange = (e) => { filters.overdueOnly = e.target.checked; scheduleRender(); };
  document.getElementById('rows').onclick = (e) => {
    const li = e.target.closest('li[data-id]');
    if (li) selectIncident(li.dataset.id);
  };
  document.getElementById('support-toggle')?.addEventListener('click', () => {
    supportOpen = true;
    supportForm = null;
    selectedId = null;
    selectedView = null;
    scheduleRender();
    renderSupport();
    loadSupport();
  });
  document.getElementById('view').addEventListener('click', onViewClick);
  document.getElementById('view').addEventListener('submit', onViewSubmit);
}

function setFeedStatus(s) {
  const el = document.querySelector('.feed-status');
  if (!el) return;
  el.textContent = t(`feed.${s}`);
  el.className = `feed-status ${s}`;
  el.dataset.state = s;
}

function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderQueue();
  });
}

function deadlineHtml(inc, now) {
  const d = queue.nextDeadline(inc, now);
  if (!d) return '';
  return deadlineBadge(d.kind, d.due_at, d.left_s);
}

/** Rows by incident id, with the revision and language they were drawn for. */
const rowCache = new Map();

function rowHtml(inc, now) {
  return `<div class="line1"><span class="prio p${esc(inc.priority)}">${esc(inc.priority)}</span>
        <b class="num">${esc(inc.number)}</b> <span class="cat">${esc(categoryName(inc.category))}</span>
        <span class="st">${esc(label('status', inc.status))}</span></div>
      <div class="line2"><span class="age" data-since="${esc(inc.received_at)}">${esc(formatDuration((now - inc.received_ms) / 1000))}</span>
        <span class="dl">${deadlineHtml(inc, now)}</span> ${inc.alert_count > 1 ? `<span class="tag">${esc(t('alerts.n', { n: inc.alert_count }))}</span>` : ''}
        <span class="where">${esc(inc.address || inc.description || '')}</span></div>`;
}

/**
 * The queue, redrawn incrementally: only rows whose incident changed get new HTML, and rows are
 * moved only where the order changed, so a busy feed with 500 open incidents stays cheap.
 */
function renderQueue() {
  const t0 = performance.now();
  const now = Date.now();
  const rows = queue.view(filters, now);
  const el = document.getElementById('rows');
  if (!el) return;
  const lang = getLang();
  const wanted = new Set();
  let prev = null;
  for (const inc of rows) {
    wanted.add(inc.id);
    let c = rowCache.get(inc.id);
    if (!c) {
      const li = document.createElement('li');
      li.dataset.id = inc.id;
      li.dataset.number = inc.number;
      li.dataset.testid = 'queue-row';
      c = { li, rev: -1, lang: '' };
      rowCache.set(inc.id, c);
    }
    if (c.rev !== inc.rev || c.lang !== lang) {
      c.li.innerHTML = rowHtml(inc, now);
      c.rev = inc.rev;
      c.lang = lang;
    }
    const d = queue.nextDeadline(inc, now);
    const cls = `row p${inc.priority}${inc.id === selectedId ? ' selected' : ''}${d && d.left_s < 0 ? ' overdue' : ''}${inc.flash_until > now ? ' flash' : ''}`;
    if (c.li.className !== cls) c.li.className = cls;
    const expected = prev ? prev.nextSibling : el.firstChild;
    if (expected !== c.li) el.insertBefore(c.li, expected);
    prev = c.li;
  }
  for (const [id, c] of rowCache) {
    if (!wanted.has(id)) {
      c.li.remove();
      rowCache.delete(id);
    }
  }
  let empty = el.querySelector('li.empty');
  if (!rows.length && !empty) {
    empty = document.createElement('li');
    empty.className = 'empty';
    el.appendChild(empty);
  }
  if (empty) {
    if (rows.length) empty.remove(); else empty.textContent = t('queue.empty');
  }
  const oc = document.querySelector('.open-count');
  if (oc) oc.textContent = `${t('queue.open')} ${queue.openCount()}`;
  cmap?.setIncidents([...queue.items.values()].filter((i) => OPEN_STATUSES.includes(i.status)));
  stats.rendered += 1;
  stats.lastRenderMs = performance.now() - t0;
}

/** Every second: clocks, ages and countdowns, without rebuilding anything. */
function tick() {
  const now = Date.now();
  const c = document.getElementById('clock');
  if (c) c.textContent = formatTime(new Date(now).toISOString());
  for (const el of document.querySelectorAll('.age[data-since]')) {
    el.textContent = formatDuration((now - Date.parse(el.dataset.since)) / 1000);
  }
  let newlyOverdue = false;
  for (const el of document.querySelectorAll('.deadline[data-due]')) {
    const left = (Date.parse(el.dataset.due) - now) / 1000;
    const label0 = el.textContent.replace(/\s*[−-]?[\d:]+$/, '');
    el.textContent = `${label0} ${formatDuration(left)}`;
    if (left < 0 && !el.classList.contains('overdue')) { el.classList.add('overdue'); newlyOverdue = true; }
  }
  if (newlyOverdue) scheduleRender();
}

function onEvent(ev) {
  if (snapshotLoading) {
    buffered.push(ev);
    return;
  }
  applyEvent(ev);
}

function applyEvent(ev) {
  const r = queue.apply(ev);
  if (ev.type === 'unit.status' && ev.data) cmap?.setUnitStatus(ev.data.unit_id, ev.data.new_status);
  if (r.alarm) {
    stats.alarms += 1;
    const inc = queue.get(r.id);
    if (inc) {
      inc.flash_until = Date.now() + 5000;
      setTimeout(scheduleRender, 5100);
    }
    const top = document.getElementById('top');
    if (top) {
      top.classList.remove('alarm');
      void top.offsetWidth; // restart the animation
      top.classList.add('alarm');
    }
    beep();
  }
  if (ev.type === 'deadline.missed' && ev.data) escalationToast(ev.data);
  if (ev.type.startsWith('support.') || (ev.type === 'deadline.missed' && ev.data?.subject_kind === 'support')) scheduleSupportLoad();
  // Order frames on the feed carry no deadlines (loop_api): read the order itself for them.
  if (ev.type.startsWith('order.') && ev.data?.id) fetchOrder(ev.data.id);
  if (r.changed) scheduleRender();
  const about = r.id || ev.data?.incident_id || ev.data?.id;
  if (selectedId && about === selectedId) scheduleViewReload();
}

/** A missed deadline (an escalation): a red note that opens the incident, a beep and a flash. */
function escalationToast(d) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const inc = queue.get(d.incident_id);
  const div = document.createElement('div');
  div.className = 'toast';
  div.dataset.incident = d.incident_id || '';
  div.innerHTML = `<b>${esc(t('escalation.title'))}</b> ${esc(d.incident_number || inc?.number || '')}
    · ${esc(label('deadline', d.kind))} · ${esc(t('escalation.late', { s: Math.round(d.late_s || 0) }))}`;
  div.onclick = () => { if (d.incident_id) selectIncident(d.incident_id); div.remove(); };
  box.prepend(div);
  while (box.children.length > 5) box.lastElementChild.remove();
  setTimeout(() => div.remove(), 20000);
  beep();
}

const orderFetches = new Map();
/** GET /api/v1/orders/{id}: the order with its deadlines (met, fired), into the queue. */
function fetchOrder(id) {
  clearTimeout(orderFetches.get(id));
  orderFetches.set(id, setTimeout(async () => {
    orderFetches.delete(id);
    try {
      const o = await api.get(`/api/v1/orders/${encodeURIComponent(id)}`);
      if (o && o.id && queue.apply({ type: 'order.loaded', data: o }).changed) scheduleRender();
    } catch { /* the feed's picture stays */ }
  }, 100));
}

/** Open orders with their deadlines, for the countdowns after a (re)load; none before the loop exists. */
async function loadOpenOrders() {
  try {
    const r = await api.get('/api/v1/escalations?open=true');
    for (const d of (Array.isArray(r) ? r : r?.items || [])) queue.apply({ type: 'deadline.missed', data: d });
  } catch { /* none before the closed loop exists */ }
  for (const state of ['issued', 'acknowledged', 'en_route', 'on_scene']) {
    try {
      const r = await api.get(`/api/v1/orders?state=${state}`);
      for (const o of (Array.isArray(r) ? r : r?.items || [])) queue.apply({ type: 'order.loaded', data: o });
    } catch {
      return;
    }
  }
  scheduleRender();
}

/** The open incidents now; events that arrive meanwhile are applied on top, in order. */
async function loadSnapshot() {
  snapshotLoading = true;
  buffered = [];
  try {
    const items = [];
    let cursor = null;
    for (let page = 0; page < 20; page++) {
      const q = `/api/v1/incidents?status=${OPEN_STATUSES.join(',')}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await api.get(q);
      items.push(...(r.items || []));
      cursor = r.next_cursor;
      if (!cursor) break;
    }
    queue.load(items);
    stats.snapshots += 1;
    await loadOpenOrders();
  } catch (e) {
    console.warn('snapshot failed', e);
  } finally {
    snapshotLoading = false;
    const pending = buffered;
    buffered = [];
    for (const ev of pending) applyEvent(ev);
    scheduleRender();
  }
  if (!fitted) {
    fitted = cmap.fitTo([...queue.items.values()].map((i) => i.location)) || fitted;
  }
}

async function pollUnits() {
  try {
    const r = await api.get('/api/v1/units');
    cmap.setUnits(r.items || []);
    if (!fitted) fitted = cmap.fitTo((r.items || []).map((u) => u.position));
  } catch { /* next poll */ }
}

function scheduleViewReload() {
  clearTimeout(viewTimer);
  viewTimer = setTimeout(() => { if (selectedId) selectIncident(selectedId); }, 250);
}

async function selectIncident(id) {
  supportOpen = false;
  const changed = selectedId !== id;
  selectedId = id;
  if (changed) scheduleRender();
  const el = document.getElementById('view');
  try {
    const v = await api.get(`/api/v1/incidents/${encodeURIComponent(id)}`);
    if (selectedId !== id) return;
    showView(v);
  } catch (e) {
    if (el && selectedId === id) el.innerHTML = `<div class="empty error">${esc(e.message)}</div>`;
  }
}

function showView(v) {
  const el = document.getElementById('view');
  if (!el) return;
  // A form belongs to its incident: a newer picture of the same incident (a feed event, an
  // action's answer, a re-selection) keeps an open form and what was typed in it.
  const slot = el.querySelector('.form-slot');
  const same = el.dataset.incident === (v.incident?.id || '');
  const openForm = same && slot && slot.firstElementChild ? slot.firstElementChild : null;
  const typing = focusIn(openForm);
  selectedView = v;
  el.innerHTML = renderView(v, { may: (p) => api.may(p) });
  el.dataset.incident = v.incident?.id || '';
  if (openForm) el.querySelector('.form-slot').appendChild(openForm);
  typing();
  // The view is newer than the feed's picture of this incident: take its location and status.
  const inc = queue.get(v.incident.id);
  if (inc) {
    if (v.location?.point) inc.location = v.location.point;
    scheduleRender();
  }
  cmap?.select(v);
}

function message(text, error = false) {
  const m = document.querySelector('#view .msg');
  if (!m) return;
  m.textContent = text;
  m.className = `msg ${error ? 'error' : 'ok'}`;
}

// ---- the county's support desk ----
function scheduleSupportLoad() {
  if (!api.may('support:handle') || supportTimer) return;
  supportTimer = setTimeout(() => { supportTimer = null; loadSupport(); }, 200);
}

async function loadSupport() {
  if (!api.may('support:handle')) return;
  try {
    const r = await api.get(`/api/v1/support-requests?state=${SUPPORT_OPEN.join(',')}&limit=200`);
    supportItems = r.items || [];
  } catch (err) {
    if (supportOpen) message(`${t('error.generic')}: ${err.message}`, true);
    return;
  }
  const c = document.querySelector('[data-testid="support-count"]');
  if (c) c.textContent = supportItems.length ? String(supportItems.length) : '';
  renderSupport();
}

// Taking a form out of the page blurs the field being typed in, and the keys after it would
// go nowhere: returns what puts the focus and the caret back once the form is in again.
function focusIn(form) {
  const a = document.activeElement;
  if (!form || !a || !form.contains(a)) return () => {};
  const caret = typeof a.selectionStart === 'number' ? [a.selectionStart, a.selectionEnd] : null;
  return () => {
    a.focus({ preventScroll: true });
    if (caret) a.setSelectionRange(...caret);
  };
}

function renderSupport() {
  if (!supportOpen) return;
  const el = document.getElementById('view');
  if (!el) return;
  // The form being typed in survives a reload of the list (another request changed meanwhile).
  const old = el.querySelector('form[data-support-form]');
  const typing = old && supportForm && old.dataset.id === supportForm.id && old.dataset.supportForm === supportForm.type ? old : null;
  const refocus = focusIn(typing);
  el.innerHTML = renderSupportPanel(supportItems, { form: supportForm });
  el.dataset.incident = '';
  if (typing) el.querySelector('form[data-support-form]')?.replaceWith(typing);
  refocus();
}

async function supportStep(id, body) {
  try {
    await api.call('POST', `/api/v1/support-requests/${encodeURIComponent(id)}/events`, body);
    supportForm = null;
    await loadSupport();
    message(t('act.ok'));
  } catch (err) {
    message(`${t('error.generic')}: ${err.message}${err.field ? ` (${err.field})` : ''}${err.state ? ` [${err.state}]` : ''}`, true);
  }
}

function onViewClick(e) {
  const s = e.target.closest('[data-support-action]');
  if (s) {
    const { supportAction: step, id } = s.dataset;
    if (step === 'accept' || step === 'close') supportStep(id, { type: step });
    else {
      supportForm = step === 'cancel-form' ? null : { id, type: step };
      renderSupport();
      document.querySelector('[data-testid="support-text"]')?.focus();
    }
    return;
  }
  const b = e.target.closest('[data-action]');
  if (!b) return;
  const action = b.dataset.action;
  if (action === 'open') {
    e.preventDefault();
    selectIncident(b.dataset.id);
    return;
  }
  const slot = document.querySelector('#view .form-slot');
  if (action === 'close-form') {
    slot.innerHTML = '';
    return;
  }
  if (action === 'use-address') {
    e.preventDefault();
    runAction(actionRequest('use-address', selectedId, { address_id: b.dataset.address }));
    return;
  }
  if (action === 'relocate') {
    message(t('view.relocate_hint'));
    cmap.setPicking(true);
    return;
  }
  slot.innerHTML = renderForm(action, selectedView, { unit: b.dataset.unit });
}

async function onViewSubmit(e) {
  e.preventDefault();
  const form = e.target;
  if (form.dataset.supportForm) {
    const text = String(new FormData(form).get(form.dataset.supportForm === 'answer' ? 'answer' : 'note') || '');
    const body = form.dataset.supportForm === 'answer' ? { type: 'answer', answer: text } : { type: 'reject', note: text };
    await supportStep(form.dataset.id, body);
    return;
  }
  const action = form.dataset.form;
  const data = {};
  for (const [k, v] of new FormData(form)) {
    if (k in data) data[k] = [].concat(data[k], v);
    else data[k] = k === 'unit_ids' ? [v] : v;
  }
  if (action === 'unmask') {
    try {
      const id = selectedId;
      const v = await api.get(`/api/v1/incidents/${encodeURIComponent(id)}?unmask=true&reason=${encodeURIComponent(data.reason || '')}`);
      const slot = document.querySelector('#view .form-slot');
      if (slot && slot.contains(form)) slot.innerHTML = '';
      if (selectedId === id) showView(v);
    } catch (err) {
      message(`${t('error.generic')}: ${err.message}`, true);
    }
    return;
  }
  const req = actionRequest(action, selectedId, data);
  if (!req) return;
  await runAction(req, form);
}

// `form`: the form that asked for it, closed once the answer comes. Any other form the officer
// opened while waiting stays open with what was typed in it.
async function runAction(req, form = null) {
  try {
    const r = await api.call(req.method, req.path, req.body);
    message(t('act.ok'));
    const slot = document.querySelector('#view .form-slot');
    if (slot && form && slot.contains(form)) slot.innerHTML = '';
    if (r && r.incident && r.incident.id === selectedId) showView(r);
    else scheduleViewReload();
  } catch (err) {
    // Until the server has the closed loop, its routes answer 404 "no such route".
    const text = err instanceof ApiError && err.status === 404 && err.message === 'no such route'
      ? t('act.unavailable') : `${t('error.generic')}: ${err.message}${err.field ? ` (${err.field})` : ''}${err.state ? ` [${err.state}]` : ''}`;
    message(text, true);
  }
}

function onPick(lat, lon) {
  if (!selectedId) return;
  runAction(actionRequest('relocate', selectedId, { lat, lon }));
}

async function startConsole() {
  try {
    const c = await api.get('/api/v1/categories');
    setCategories(c.items || []);
  } catch (e) {
    if (!api.user) return renderLogin();
  }
  shell();
  setFeedStatus('connecting');
  cmap = new ConsoleMap(document.getElementById('map'), { api, tileUrl: settings.tile_url, onSelectIncident: selectIncident, onPick });
  cmap.loadBase();
  window.addEventListener('keydown', (e) => { if (e.key === 'Escape') { cmap?.setPicking(false); message(''); } });
  const countyWide = !api.user?.station_id;
  let opened = false;
  feed = new FeedClient({
    token: () => api.token,
    since: null,
    contiguous: countyWide,
    onEvent,
    onStatus: (s) => setFeedStatus(s),
    onOpen: () => {
      // The first open starts live; the list is read after it, so nothing falls in between.
      if (!opened) {
        opened = true;
        loadSnapshot();
      }
    },
    onGap: () => { loadSnapshot(); scheduleSupportLoad(); },
    onRevoked: () => api.refresh(),
  });
  feed.start();
  loadSupport();
  pollUnits();
  unitsTimer = setInterval(pollUnits, 2000);
  tickTimer = setInterval(tick, 1000);
  tick();
  window.__xiaonao = { queue, feed, stats, api, map: cmap, selectIncident, applyEvent };
}

function stopConsole() {
  feed?.stop();
  feed = null;
  clearInterval(unitsTimer);
  clearInterval(tickTimer);
  clearTimeout(supportTimer);
  supportTimer = null;
  supportOpen = false;
  supportForm = null;
  selectedId = null;
  selectedView = null;
  fitted = false;
  queue.load([]);
}

onLangChange(() => {
  if (!api.user) return renderLogin();
  const map = cmap;
  // Re-render the chrome and the lists in the new language; the map keeps its state.
  const mapEl = document.getElementById('map');
  shell();
  if (map && mapEl) {
    document.getElementById('map').replaceWith(mapEl);
    map.invalidate();
  }
  setFeedStatus(feed?.status || 'connecting');
  scheduleRender();
  if (!supportOpen && selectedView) showView(selectedView);
  loadSupport();  // the desk (when open) and its count in the new header
});

// Browsers start audio only after a gesture: the first click anywhere (or the login) unlocks it.
document.addEventListener('pointerdown', unlockAudio, { once: true });

api.onSignedOut = () => { stopConsole(); renderLogin(); };

(async () => {
  try {
    const r = await fetch('/console.json');
    if (r.ok) settings = await r.json();
  } catch { /* defaults */ }
  document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
  if (api.user) startConsole();
  else renderLogin();
})();
