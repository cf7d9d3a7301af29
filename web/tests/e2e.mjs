// End-to-end test of the console in headless Chromium against a real xiaonaod and PostgreSQL.
//
//   node tests/e2e.mjs     (ctest runs it as the test "console_e2e", label e2e)
//
// Environment: XIAONAO_TEST_DB (libpq keyword=value conninfo of a maintenance database; the
// test creates and drops its own database), XIAONAOD and XIAONAO_COUNTY (the binaries),
// XIAONAO_WEB_ROOT (the built console), XIAONAO_E2E_ARTIFACTS (screenshots and the server log
// go there), CHROMIUM (default /usr/bin/chromium). XIAONAO_E2E_LOOP=0 leaves out the closed-loop
// steps (assess, dispatch, acknowledge, a note) when debugging the rest.
// Exit 0: passed; 77: skipped (no database or no browser); anything else: failed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const SKIP = 77;
const env = process.env;
const maintenance = env.XIAONAO_TEST_DB;
const chromiumPath = env.CHROMIUM || '/usr/bin/chromium';
const server = env.XIAONAOD;
const countyBin = env.XIAONAO_COUNTY;
const webRoot = env.XIAONAO_WEB_ROOT;
const artifacts = resolve(env.XIAONAO_E2E_ARTIFACTS || 'e2e-artifacts');
const loopSteps = env.XIAONAO_E2E_LOOP !== '0';

if (!maintenance) { console.log('SKIP: XIAONAO_TEST_DB is not set (bash scripts/test.sh sets it)'); process.exit(SKIP); }
if (!existsSync(chromiumPath)) { console.log(`SKIP: no browser at ${chromiumPath} (bash scripts/setup.sh installs chromium)`); process.exit(SKIP); }
for (const [k, v] of Object.entries({ XIAONAOD: server, XIAONAO_COUNTY: countyBin, XIAONAO_WEB_ROOT: webRoot })) {
  if (!v || !existsSync(v)) { console.error(`${k} must name an existing path (got ${v})`); process.exit(2); }
}
mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'xiaonao-e2e-'));
const dbName = `xn_e2e_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
const conninfo = (db) => `${maintenance.replace(/(^|\s)dbname=\S+/, '')} dbname=${db}`;
const psql = (db, sql) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', conninfo(db), '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });

const results = [];
function step(name) {
  const t0 = Date.now();
  console.log(`--- ${name}`);
  return (extra = '') => {
    const line = `ok   ${name} (${Date.now() - t0} ms)${extra ? ` ${extra}` : ''}`;
    results.push(line);
    console.log(line);
  };
}
function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

let serverProc = null;
let browser = null;

async function cleanup() {
  try { await browser?.close(); } catch { /* ignore */ }
  if (serverProc && serverProc.exitCode === null) {
    serverProc.kill('SIGTERM');
    await new Promise((r) => { serverProc.once('exit', r); setTimeout(r, 5000); });
  }
  try { psql('postgres', `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } catch (e) { console.error(`could not drop ${dbName}: ${e.message}`); }
  rmSync(work, { recursive: true, force: true });
}

// ---- the database and the county --------------------------------------------------------------

function setupDatabase() {
  const done = step('database and the small county');
  psql('postgres', `CREATE DATABASE ${dbName}`);
  psql(dbName, 'CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm;');
  const dir = join(work, 'county');
  execFileSync(countyBin, ['--scale', 'small', '--seed', '1', '--out', dir, '--quiet']);
  // 300 units for the load step: the county's own plus generated ones, all of station S01.
  const units = JSON.parse(readFileSync(join(dir, 'units.geojson'), 'utf8'));
  const zones = JSON.parse(readFileSync(join(dir, 'zones.geojson'), 'utf8'));
  const s01 = zones.features.filter((f) => f.properties.station_id === 'S01');
  const extra = [];
  const own = units.features.filter((f) => f.properties.station_id === 'S01').length;
  for (let i = units.features.length; i < units.features.length + 300 - own; i++) {
    const p = randomPointIn(s01, i);
    extra.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
      properties: { id: `E2E${String(i).padStart(3, '0')}`, call_sign: `测试${i}`, kind: 'patrol_car', station_id: 'S01', status: 'available' } });
  }
  units.features.push(...extra);
  writeFileSync(join(dir, 'units.geojson'), JSON.stringify(units));
  const dbEnv = { ...env, XIAONAO_DB: conninfo(dbName) };
  for (const kind of ['stations', 'zones', 'grids', 'addresses', 'persons', 'cameras', 'units', 'markers']) {
    execFileSync(server, ['import', '--kind', kind, join(dir, `${kind}.geojson`), '--replace'], { env: dbEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  }
  execFileSync(server, ['user', 'add', '--police-number', '000001', '--name', '陈明', '--station', 'S01', '--roles', 'duty_officer',
    '--password-stdin'], { env: dbEnv, input: 'e2e-duty-officer\n', stdio: ['pipe', 'ignore', 'pipe'] });
  execFileSync(server, ['user', 'add', '--police-number', '000009', '--name', '周局', '--roles', 'county_commander',
    '--password-stdin'], { env: dbEnv, input: 'e2e-county-commander\n', stdio: ['pipe', 'ignore', 'pipe'] });
  const key = execFileSync(server, ['apikey', 'create', '--name', 'e2e', '--sources', '*', '--scopes', 'alerts:write,units:write'],
    { env: dbEnv, stdio: ['ignore', 'pipe', 'pipe'] }).toString().match(/xnk_[A-Za-z0-9_-]+/)[0];
  const samples = JSON.parse(readFileSync(join(dir, 'samples.json'), 'utf8'));
  done(`${units.features.length} units`);
  const cameras = JSON.parse(readFileSync(join(dir, 'cameras.geojson'), 'utf8')).features;
  return { key, s01, samples, cameras, units: units.features.filter((f) => f.properties.station_id === 'S01') };
}

// A deterministic point inside one of the polygons (rejection sampling in the bounding box).
function randomPointIn(features, seed) {
  let x = (seed * 2654435761) % 4294967296;
  const rnd = () => ((x = (x * 1664525 + 1013904223) % 4294967296) / 4294967296);
  const f = features[seed % features.length];
  const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
  const lons = ring.map((c) => c[0]), lats = ring.map((c) => c[1]);
  const [a, b, c, d] = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  for (let k = 0; k < 1000; k++) {
    const p = { lon: a + (c - a) * rnd(), lat: b + (d - b) * rnd() };
    if (inside(ring, p)) return { lon: Number(p.lon.toFixed(6)), lat: Number(p.lat.toFixed(6)) };
  }
  throw new Error('no point found inside the zone');
}
function inside(ring, p) {
  let c = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > p.lat) !== (yj > p.lat) && p.lon < ((xj - xi) * (p.lat - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

// ---- the server ---------------------------------------------------------------------------------

async function startServer() {
  const done = step('xiaonaod on 127.0.0.1:0');
  const portFile = join(work, 'port');
  const log = join(artifacts, 'xiaonaod.log');
  writeFileSync(log, '');
  const { openSync } = await import('node:fs');
  const fd = openSync(log, 'a');
  serverProc = spawn(server, ['--port-file', portFile], {
    env: { ...env, XIAONAO_DB: conninfo(dbName), XIAONAO_LISTEN: '127.0.0.1:0', XIAONAO_WEB_ROOT: webRoot,
      XIAONAO_SECURITY_RATE_PER_ADDRESS: '1000000', XIAONAO_SECURITY_BURST_PER_ADDRESS: '1000000',
      // Every alert of the load step is its own incident.
      XIAONAO_FUSION_MERGE_RADIUS_M: '0' },
    stdio: ['ignore', fd, fd],
  });
  const until = Date.now() + 60000;
  while (Date.now() < until) {
    if (serverProc.exitCode !== null) throw new Error(`xiaonaod exited with ${serverProc.exitCode}; see ${log}`);
    const text = existsSync(portFile) ? readFileSync(portFile, 'utf8') : '';
    if (/^\d+\s*$/.test(text) && text.endsWith('\n')) {
      const base = `http://127.0.0.1:${text.trim()}`;
      try {
        const r = await fetch(`${base}/readyz`);
        if (r.ok) { done(base); return base; }
      } catch { /* not yet */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('xiaonaod did not become ready within 60 s');
}

// ---- REST helpers ------------------------------------------------------------------------------

let base = '';
async function rest(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}
let alertSerial = 0;
async function postAlert(key, fields) {
  alertSerial += 1;
  const r = await rest('POST', '/api/v1/alerts', { token: key, body: {
    source: '110', source_ref: `e2e-${process.pid}-${alertSerial}`, received_at: new Date().toISOString(), category: 'theft', ...fields } });
  check(r.status === 201, `POST /api/v1/alerts answered ${r.status}: ${r.text}`);
  return r.json;
}
async function postPositions(key, units, jitter = 0) {
  const now = new Date().toISOString();
  for (let i = 0; i < units.length; i += 1000) {
    const positions = units.slice(i, i + 1000).map((u, k) => ({
      unit_id: u.properties.id,
      lon: Number((u.geometry.coordinates[0] + jitter * Math.sin(k + jitter * 1000)).toFixed(6)),
      lat: Number((u.geometry.coordinates[1] + jitter * Math.cos(k + jitter * 1000)).toFixed(6)),
      at: now, speed: 8, heading: (k * 37) % 360 }));
    const r = await rest('POST', '/api/v1/units/positions', { token: key, body: { positions } });
    check(r.status === 200, `positions answered ${r.status}: ${r.text}`);
  }
}
async function waitFor(what, fn, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); }
  }));
  return out;
}

// ---- the test ------------------------------------------------------------------------------------

async function main() {
  const county = setupDatabase();
  base = await startServer();
  const { key } = county;

  let done = step('static files: /, assets, content types, traversal refused');
  const index = await rest('GET', '/');
  check(index.status === 200 && index.text.includes('<div id="app">'), `GET / → ${index.status}`);
  check(index.headers.get('content-type').startsWith('text/html'), 'index content type');
  check(index.headers.get('content-security-policy').includes("script-src 'self'"), 'index CSP');
  const js = index.text.match(/\/assets\/main-[A-Z2-7]{8}\.js/)[0];
  const jsr = await fetch(base + js);
  check(jsr.status === 200 && jsr.headers.get('content-type').startsWith('text/javascript'), 'bundle served');
  check(jsr.headers.get('cache-control').includes('immutable'), 'hashed bundle is immutable');
  for (const bad of ['/assets/../index.html', '/assets/%2e%2e/index.html', '/assets/..%2f..%2fetc%2fpasswd', '/assets/.hidden', '/assets/nope.js']) {
    const r = await fetch(base + bad);
    check(r.status === 404 || r.status === 400, `${bad} → ${r.status}`);
  }
  done();

  done = step('units report positions');
  await postPositions(key, county.units);
  done(`${county.units.length} units`);

  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'] });
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // Failed loads, by URL (the console message alone does not say which); the wrong password is expected.
  const failed = [];
  // With XIAONAO_E2E_LOOP=0 the closed-loop routes' 404s are tolerated (a server built without them).
  const loopRoute = (u) => /\/api\/v1\/(orders|support-requests|diversions|escalations)/.test(u);
  page.on('response', (r) => {
    if (r.status() < 400) return;
    if (r.status() === 401 && r.url().endsWith('/auth/login')) return;
    if (r.status() === 404 && !loopSteps && loopRoute(r.url())) return;
    failed.push(`${r.status()} ${r.url()}`);
  });
  // Nothing may be fetched from anywhere but this server.
  const foreign = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('ws://127.0.0.1')) foreign.push(r.url()); });

  done = step('login through the page');
  await page.goto(base + '/');
  await page.getByTestId('login-user').fill('000001');
  await page.getByTestId('login-password').fill('wrong-password');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('login-error').filter({ hasText: /\S/ }).waitFor();
  await page.getByTestId('login-password').fill('e2e-duty-officer');
  await page.getByTestId('login-submit').click();
  await page.locator('.feed-status.live').waitFor({ timeout: 10000 });
  done();

  done = step('an alert posted over REST appears in the queue within 1 s');
  const near = (a, c) => Math.hypot((a.lon - c[0]) * 98000, (a.lat - c[1]) * 111000) < 150;
  const addr = county.samples.addresses.find((a) => county.samples.residents.some((p) => p.address_id === a.id) &&
    county.cameras.some((c) => near(a, c.geometry.coordinates)) &&
    county.s01.some((z) => inside(z.geometry.type === 'Polygon' ? z.geometry.coordinates[0] : z.geometry.coordinates[0][0], a)));
  check(addr, 'an S01 address with residents');
  const first = await postAlert(key, { priority: 1, address: addr.text, caller: { phone: '13800001111', name: '李芳' },
    description: '家中被盗，门锁被撬' });
  const t0 = Date.now();
  await page.locator(`li[data-id="${first.incident_id}"]`).waitFor({ timeout: 5000 });
  const appeared = Date.now() - t0;
  check(appeared < 1000, `row appeared after ${appeared} ms`);
  check(await page.locator('.top.alarm').count() === 1, 'a priority-1 alert flashes the header');
  done(`${appeared} ms after the POST answered`);

  done = step('the one-screen view shows the cameras, units and residents the API returns');
  const fused = await waitFor('fusion', async () => {
    const r = await rest('GET', `/api/v1/incidents/${first.incident_id}`, { token: (await officerToken()) });
    return r.json && r.json.fused_at ? r.json : null;
  });
  await page.locator(`li[data-id="${first.incident_id}"]`).click();
  await page.getByTestId('view-number').filter({ hasText: first.incident_number }).waitFor();
  const ids = async (testid) => page.getByTestId(testid).locator('li[data-id]').evaluateAll((els) => els.map((e) => e.dataset.id));
  await waitFor('the view to show the fused units', async () => (await ids('view-units')).length === fused.units.length);
  const shown = { cameras: await ids('view-cameras'), units: await ids('view-units'), household: await ids('view-household') };
  check(JSON.stringify(shown.cameras) === JSON.stringify(fused.cameras.map((c) => c.id)), `cameras ${shown.cameras} vs ${fused.cameras.map((c) => c.id)}`);
  check(JSON.stringify(shown.units) === JSON.stringify(fused.units.map((u) => u.id)), `units ${shown.units} vs ${fused.units.map((u) => u.id)}`);
  check(JSON.stringify(shown.household) === JSON.stringify(fused.household.map((p) => p.person_id)), 'residents');
  check(fused.household.length > 0 && fused.units.length > 0 && fused.cameras.length > 0,
    `fusion found residents (${fused.household.length}), units (${fused.units.length}) and cameras (${fused.cameras.length})`);
  const maskedName = fused.household[0].name;
  check(await page.getByTestId('view-household').innerText().then((t) => t.includes(maskedName)), 'residents shown masked as the API masks them');
  // The duty officer may see them in full with a reason (audited by the server).
  await page.getByTestId('act-unmask').click();
  await page.locator('form[data-form="unmask"] input[name="reason"]').fill('核实住户身份');
  await page.getByTestId('form-submit').click();
  await waitFor('the residents unmasked', async () => {
    const names = await page.getByTestId('view-household').locator('li[data-id] b').allInnerTexts();
    return names.length === fused.household.length && names.every((n) => n && !n.includes('*'));
  }, 5000);
  done(`${shown.cameras.length} cameras, ${shown.units.length} units, ${shown.household.length} residents (unmasked on request)`);

  await page.screenshot({ path: join(artifacts, 'console-1920x1080.png') });

  done = step('relocate by clicking the map');
  await page.getByTestId('act-relocate').click();
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width / 2 + 80, box.y + box.height / 2 + 60);
  await page.getByTestId('view-located-by').filter({ hasText: 'manual' }).waitFor({ timeout: 5000 });
  const moved = await rest('GET', `/api/v1/incidents/${first.incident_id}`, { token: await officerToken() });
  check(moved.json.location.located_by === 'manual', 'the server has the manual location');
  done(`now at ${JSON.stringify(moved.json.location.point)}`);

  done = step('a missed deadline shows as an escalation and the row turns overdue (the frame is simulated in the page)');
  // The escalation scheduler is issue 5's; here the console's handling of its feed frame is
  // checked by handing the page the documented frame directly.
  await page.evaluate((d) => window.__xiaonao.applyEvent({ seq: 0, type: 'deadline.missed', at: new Date().toISOString(), data: d }), {
    deadline_id: 999999, subject_kind: 'order', subject_id: 'sim-order', order_id: 'sim-order', incident_id: first.incident_id,
    incident_number: first.incident_number, station_id: 'S01', kind: 'acknowledge', due_at: new Date(Date.now() - 5000).toISOString(), late_s: 5 });
  await page.getByTestId('toasts').locator('.toast').filter({ hasText: first.incident_number }).waitFor({ timeout: 3000 });
  await page.locator(`li.overdue[data-id="${first.incident_id}"]`).waitFor({ timeout: 3000 });
  await page.screenshot({ path: join(artifacts, 'console-escalation-1920x1080.png') });
  await page.getByTestId('toasts').locator('.toast').first().click();
  done();

  if (loopSteps) {
    done = step('[loop] assess and dispatch from the view, see the order acknowledged');
    await page.getByTestId('act-assess').click();
    await page.locator('form[data-form="assess"] input[name="reason"]').fill('核实为入室盗窃');
    await page.getByTestId('form-submit').click();
    await page.getByTestId('view-status').filter({ hasText: '已研判' }).waitFor({ timeout: 5000 });
    // The relocation above fused the incident again: dispatch the first unit the view recommends now.
    const dispatchButton = page.getByTestId('view-units').locator('button[data-action="dispatch"]').first();
    const unit = await dispatchButton.getAttribute('data-unit');
    await dispatchButton.click();
    await page.locator('form[data-form="dispatch"] textarea[name="instruction"]').fill('立即前往现场');
    // A newer picture of the incident (a feed event, an action's answer) keeps the form, what was
    // typed in it and the focus: the officer types on.
    await page.evaluate((id) => window.__xiaonao.selectIncident(id), first.incident_id);
    const typing = await page.evaluate(() => ({ name: document.activeElement?.name, value: document.activeElement?.value }));
    check(typing.name === 'instruction' && typing.value === '立即前往现场', `the dispatch form kept its text and focus over a reload (${JSON.stringify(typing)})`);
    await page.getByTestId('form-submit').click();
    await page.getByTestId('view-orders').locator('li[data-id]').first().waitFor({ timeout: 5000 });
    const orderId = await page.getByTestId('view-orders').locator('li[data-id]').first().getAttribute('data-id');
    const ack = await rest('POST', `/api/v1/orders/${orderId}/events`, { token: await officerToken(), body: { type: 'ack', note: 'e2e' } });
    check(ack.status === 200, `ack answered ${ack.status}: ${ack.text}`);
    check(ack.json?.unit_id === unit, `the order went to the unit dispatched in the view (${ack.json?.unit_id} vs ${unit})`);
    await page.locator(`[data-testid="view-orders"] li[data-id="${orderId}"][data-state="acknowledged"]`).waitFor({ timeout: 5000 });
    await page.locator(`li[data-id="${first.incident_id}"] .st`).filter({ hasText: '已派警' }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: join(artifacts, 'console-loop-1920x1080.png') });
    done(`order ${orderId}`);

    done = step('[loop] add a note through the page and see it in the timeline');
    const noteText = `现场报告：门锁被撬，已通知技术队 ${Date.now()}`;
    await page.getByTestId('act-note').click();
    await page.locator('form[data-form="note"] select[name="kind"]').selectOption('scene_report');
    await page.getByTestId('note-text').fill(noteText);
    await page.getByTestId('form-submit').click();
    await page.getByTestId('view-timeline').getByTestId('timeline-note').filter({ hasText: noteText })
      .filter({ hasText: '现场报告' }).waitFor({ timeout: 5000 });
    const noted = await rest('GET', `/api/v1/incidents/${first.incident_id}`, { token: await officerToken() });
    const entry = noted.json.timeline.find((e) => e.type === 'incident.note' && e.data.text === noteText);
    check(entry && entry.data.kind === 'scene_report' && entry.data.actor, `the server's timeline has the note: ${JSON.stringify(entry)}`);
    done(`seq ${entry.seq}`);

    done = step('[loop] the station asks for support; the county commander accepts, answers and closes it on the support desk, and rejects a second with a reason');
    const detail = `请调取周边视频，追踪嫌疑人去向 ${Date.now()}`;
    const answerText = '已调取：嫌疑人沿中山街向东步行离开';
    // The station asks through its view's form; the request's id as its row in the view says.
    const askSupport = async (kind, text) => {
      await page.getByTestId('act-support').click();
      await page.locator('form[data-form="support"] select[name="kind"]').selectOption(kind);
      await page.locator('form[data-form="support"] textarea[name="detail"]').fill(text);
      await page.getByTestId('form-submit').click();
      const asked = page.getByTestId('view-support').locator('li[data-id]').filter({ hasText: text });
      await asked.waitFor({ timeout: 5000 });
      return asked.getAttribute('data-id');
    };
    const requestId = await askSupport('video', detail);
    // The commander in a browser of their own (a separate login).
    const desk = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    const cp = await desk.newPage();
    cp.on('pageerror', (e) => consoleErrors.push(`desk: ${e}`));
    await cp.goto(base + '/');
    await cp.getByTestId('login-user').fill('000009');
    await cp.getByTestId('login-password').fill('e2e-county-commander');
    await cp.getByTestId('login-submit').click();
    await cp.locator('.feed-status.live').waitFor({ timeout: 10000 });
    await cp.getByTestId('support-count').filter({ hasText: /^[1-9]/ }).waitFor({ timeout: 5000 });
    await cp.getByTestId('support-toggle').click();
    const row = () => cp.locator(`[data-testid="support-row"][data-id="${requestId}"]`);
    await row().filter({ hasText: detail }).waitFor({ timeout: 5000 });
    await row().getByTestId('support-accept').click();
    await cp.locator(`[data-testid="support-row"][data-id="${requestId}"][data-state="accepted"]`).waitFor({ timeout: 5000 });
    await row().getByTestId('support-answer').click();
    await cp.getByTestId('support-text').fill(answerText);
    await cp.getByTestId('support-submit').click();
    await cp.locator(`[data-testid="support-row"][data-id="${requestId}"][data-state="answered"]`).waitFor({ timeout: 5000 });
    await cp.screenshot({ path: join(artifacts, 'console-support-desk-1920x1080.png') });
    // The station hears the answer on its own feed, in the incident's view.
    await page.getByTestId('view-support').filter({ hasText: answerText }).waitFor({ timeout: 5000 });
    const stored = await rest('GET', `/api/v1/support-requests/${requestId}`, { token: await officerToken() });
    check(stored.json?.state === 'answered' && stored.json?.answer === answerText, `the server has the answer: ${stored.text}`);
    // The commander closes it: it leaves the desk, and the station sees it closed.
    await row().getByTestId('support-close').click();
    await row().waitFor({ state: 'detached', timeout: 5000 });
    await page.locator(`[data-testid="view-support"] li[data-id="${requestId}"][data-state="closed"]`)
      .filter({ hasText: '已办结' }).waitFor({ timeout: 5000 });
    // A second request, rejected with a reason that the station reads in its own view.
    const detail2 = `请增派警力协助布控 ${Date.now()}`;
    const why = '本所警力足够，请自行处置';
    const rejectId = await askSupport('manpower', detail2);
    const row2 = () => cp.locator(`[data-testid="support-row"][data-id="${rejectId}"]`);
    await row2().filter({ hasText: detail2 }).waitFor({ timeout: 5000 });  // the desk hears it on the feed
    await row2().getByTestId('support-reject').click();
    await cp.getByTestId('support-text').fill(why);
    await cp.getByTestId('support-submit').click();
    await row2().waitFor({ state: 'detached', timeout: 5000 });
    await page.locator(`[data-testid="view-support"] li[data-id="${rejectId}"][data-state="rejected"]`)
      .getByTestId('support-reject-note').filter({ hasText: why }).waitFor({ timeout: 5000 });
    const closed = await rest('GET', `/api/v1/support-requests/${requestId}`, { token: await officerToken() });
    const rejected = await rest('GET', `/api/v1/support-requests/${rejectId}`, { token: await officerToken() });
    check(closed.json?.state === 'closed', `the server has the first closed: ${closed.text}`);
    check(rejected.json?.state === 'rejected' && rejected.json?.notes?.some((n) => n.type === 'reject' && n.note === why),
      `the server has the second rejected with its reason: ${rejected.text}`);
    await page.screenshot({ path: join(artifacts, 'console-support-closed-rejected-1920x1080.png') });
    await desk.close();
    done(`request ${requestId} closed, ${rejectId} rejected`);
  } else {
    console.log('--- [loop] steps skipped (XIAONAO_E2E_LOOP=0)');
  }

  done = step('the feed dropped and restored: no row missed or doubled');
  const before = await page.evaluate(() => ({ snapshots: window.__xiaonao.stats.snapshots, connects: window.__xiaonao.feed.stats.connects }));
  await context.setOffline(true);
  await page.evaluate(() => window.__xiaonao.feed.drop());
  await page.locator('.feed-status:not(.live)').waitFor();
  const during = [];
  for (let i = 0; i < 8; i++) {
    const p = randomPointIn(county.s01, 1000 + i);
    during.push(await postAlert(key, { priority: 3, location: p, description: `断线期间 ${i}` }));
  }
  await context.setOffline(false);
  for (const a of during) await page.locator(`li[data-id="${a.incident_id}"]`).waitFor({ timeout: 20000 });
  const after = await page.evaluate(() => ({ snapshots: window.__xiaonao.stats.snapshots, connects: window.__xiaonao.feed.stats.connects }));
  check(after.snapshots === before.snapshots, 'restored by the feed replay, not by reloading the list');
  check(after.connects > before.connects, 'the feed reconnected');
  const rowIds = await page.locator('li[data-testid="queue-row"]').evaluateAll((els) => els.map((e) => e.dataset.id));
  check(new Set(rowIds).size === rowIds.length, 'no row doubled');
  const listed = await rest('GET', '/api/v1/incidents?limit=500', { token: await officerToken() });
  const expected = listed.json.items.map((i) => i.id).sort();
  check(JSON.stringify([...rowIds].sort()) === JSON.stringify(expected), `queue rows equal the server's open incidents (${rowIds.length} vs ${expected.length})`);
  done(`${during.length} alerts while offline, ${after.connects - before.connects} reconnect(s)`);

  done = step('500 open incidents and 300 moving units: frame time');
  const have = expected.length;
  const more = Array.from({ length: 500 - have }, (_, i) => i);
  await pool(more, 8, async (i) => postAlert(key, { priority: 1 + (i % 4), location: randomPointIn(county.s01, 5000 + i),
    category: ['theft', 'fraud', 'dispute', 'traffic_accident'][i % 4], description: `负载 ${i}` }));
  await waitFor('500 rows', async () => (await page.locator('li[data-testid="queue-row"]').count()) >= 500, 30000);
  await waitFor('300 units on the map', async () => page.evaluate(() => window.__xiaonao.map.unitMarkers.size >= 300), 10000);
  let moving = true;
  const mover = (async () => {
    let k = 1;
    while (moving) {
      await postPositions(key, county.units, 0.0005 * (k % 7));
      k += 1;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const frames = await page.evaluate(() => new Promise((res) => {
    const deltas = [];
    let last = performance.now();
    const end = last + 6000;
    const f = (t) => {
      deltas.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(f); else res(deltas);
    };
    requestAnimationFrame(f);
  }));
  moving = false;
  await mover;
  frames.sort((a, b) => a - b);
  const pct = (p) => frames[Math.min(frames.length - 1, Math.floor(frames.length * p))];
  const figure = `${frames.length} frames in 6 s: median ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms, max ${frames[frames.length - 1].toFixed(1)} ms`;
  const renderMs = await page.evaluate(() => window.__xiaonao.stats.lastRenderMs);
  console.log(`FRAME TIME (500 incidents, 300 units moving every 0.5 s, 1920x1080): ${figure}; queue render ${renderMs.toFixed(1)} ms`);
  writeFileSync(join(artifacts, 'frame-time.txt'), `${figure}; queue render ${renderMs.toFixed(1)} ms\n`);
  check(pct(0.5) < 100, `median frame ${pct(0.5)} ms`);
  done(figure);

  await page.locator(`li[data-id="${first.incident_id}"]`).click();
  await page.getByTestId('view-number').filter({ hasText: first.incident_number }).waitFor();
  await page.screenshot({ path: join(artifacts, 'console-500-1920x1080.png') });

  done = step('1366x768 and the English switch');
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.waitForTimeout(300); // the map re-measures on resize; a screenshot right away shows the old size
  await page.screenshot({ path: join(artifacts, 'console-1366x768.png') });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight);
  check(!overflow, 'the page fits 1366x768 without scrolling');
  await page.getByTestId('lang-switch').click();
  await page.getByTestId('view').getByText('Recommended units').waitFor();
  await page.screenshot({ path: join(artifacts, 'console-1366x768-en.png') });
  done();

  check(foreign.length === 0, `requests to other hosts: ${foreign.join(', ')}`);
  check(failed.length === 0, `failed requests: ${failed.join(', ')}`);
  const relevant = consoleErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|net::ERR_|WebSocket|Failed to load resource/.test(e));
  check(relevant.length === 0, `browser console errors: ${relevant.join(' | ')}`);
}

let tokenCache = null;
async function officerToken() {
  if (tokenCache) return tokenCache;
  const r = await rest('POST', '/api/v1/auth/login', { body: { police_number: '000001', password: 'e2e-duty-officer' } });
  check(r.status === 200, `login ${r.status}`);
  tokenCache = r.json.access_token;
  return tokenCache;
}

let rc = 0;
try {
  await main();
  console.log(`\nconsole e2e: ${results.length} steps passed; screenshots in ${artifacts}`);
} catch (e) {
  rc = 1;
  console.error(`\nconsole e2e FAILED: ${e.stack || e}`);
  try {
    const pages = browser?.contexts()[0]?.pages() || [];
    if (pages[0]) await pages[0].screenshot({ path: join(artifacts, 'failure.png') });
  } catch { /* ignore */ }
} finally {
  await cleanup();
}
process.exit(rc);
