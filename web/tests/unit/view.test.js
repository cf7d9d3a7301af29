import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionRequest, esc, renderSupportPanel, renderView, renderForm, safeUrl } from '../../src/view.js';
import { setLang } from '../../src/i18n.js';

test('action requests follow the documented API shapes', () => {
  assert.deepEqual(actionRequest('dispatch', 'I1', { unit_ids: ['U1', 'U2'], instruction: '速到', kind: 'visit' }),
    { method: 'POST', path: '/api/v1/incidents/I1/orders', body: { unit_ids: ['U1', 'U2'], instruction: '速到', kind: 'visit' } });
  assert.deepEqual(actionRequest('dispatch', 'I1', { unit_ids: 'U1', instruction: 'x' }).body.unit_ids, ['U1']);
  assert.deepEqual(actionRequest('assess', 'I1', { category: 'fraud', priority: '2', reason: 'ok' }).body,
    { event: 'assess', reason: 'ok', category: 'fraud', priority: 2 });
  assert.deepEqual(actionRequest('resolve', 'I1', { reason: 'done' }),
    { method: 'POST', path: '/api/v1/incidents/I1/transitions', body: { event: 'resolve', reason: 'done' } });
  assert.equal(actionRequest('support', 'I1', { kind: 'video', detail: 'd' }).path, '/api/v1/incidents/I1/support-requests');
  assert.equal(actionRequest('divert', 'I1', { agency: '12345', note: '' }).path, '/api/v1/incidents/I1/diversions');
  assert.equal(actionRequest('feedback', 'I1', { outcome: 'found', summary: 's', people_involved: '2' }).method, 'PUT');
  assert.deepEqual(actionRequest('relocate', 'a/b', { lat: 28.1234567, lon: 119.9876543 }),
    { method: 'PATCH', path: '/api/v1/incidents/a%2Fb', body: { location: { lon: 119.987654, lat: 28.123457 } } });
  assert.deepEqual(actionRequest('callback', 'I1', { reached: 'true', satisfaction: '4', note: 'n' }).body,
    { reached: true, satisfaction: 4, note: 'n' });
  assert.deepEqual(actionRequest('callback', 'I1', { reached: 'false', satisfaction: '4' }).body,
    { reached: false, satisfaction: null, note: '' });
  assert.deepEqual(actionRequest('review', 'I1', { verdict: 'good' }),
    { method: 'POST', path: '/api/v1/incidents/I1/review', body: { verdict: 'good', note: '' } });
  assert.deepEqual(actionRequest('close', 'I1', {}).body, { event: 'close', reason: '' });
  assert.deepEqual(actionRequest('use-address', 'I1', { address_id: 'A000007' }),
    { method: 'PATCH', path: '/api/v1/incidents/I1', body: { address_id: 'A000007' } });
  assert.equal(actionRequest('nonsense', 'I1', {}), null);
});

test('a note becomes POST /notes with a known kind, and reads as a note in the timeline', () => {
  assert.deepEqual(actionRequest('note', 'I1', { text: '  报警人回电\n车已找到 ', kind: 'caller_update' }),
    { method: 'POST', path: '/api/v1/incidents/I1/notes', body: { text: '报警人回电\n车已找到', kind: 'caller_update' } });
  assert.deepEqual(actionRequest('note', 'I1', { text: 'x' }).body, { text: 'x', kind: 'info' });
  assert.equal(actionRequest('note', 'I1', { text: 'x', kind: 'gossip' }).body.kind, 'info');
  setLang('en');
  const html = renderView({
    incident: { id: 'I1', number: 'J1', category: 'theft', priority: 2, status: 'dispatched', received_at: '2026-11-26T00:00:00Z' },
    timeline: [{ seq: 7, type: 'incident.note', at: '2026-11-26T00:01:00Z',
      data: { id: 'I1', text: 'gate <b>east</b>', kind: 'scene_report', actor: 'user:7' } }],
  });
  assert.match(html, /data-testid="timeline-note"/);
  assert.match(html, /Note · Scene report/);
  assert.ok(html.includes('gate &lt;b&gt;east&lt;/b&gt;'));
  assert.match(html, /data-action="note"/);
  const closed = renderView({ incident: { id: 'I1', priority: 2, status: 'closed', received_at: '2026-11-26T00:00:00Z' } });
  assert.doesNotMatch(closed, /data-action="note"/, 'a closed incident offers no note');
  setLang('zh');
});

test('an ambiguous location lists its candidates, each one click away, naming the alias that matched', () => {
  setLang('en');
  const html = renderView({
    incident: { id: 'I1', priority: 3, status: 'received', received_at: '2026-11-26T00:00:00Z' },
    location: { point: { lon: 119.9, lat: 28.4 }, located_by: 'fuzzy', confidence: 0.2,
      candidates: [
        { address_id: 'A5', text: '人民路200号', score: 0.412, lon: 119.9, lat: 28.4, alias: '阳光花园<小区>' },
        { address_id: 'A6', text: '人民路201号', score: 0.4, lon: 119.9, lat: 28.4, alias: null },
      ] },
  });
  assert.match(html, /data-action="use-address" data-address="A5">人民路200号</);
  assert.match(html, /data-address="A6"/);
  assert.equal((html.match(/data-testid="candidate-alias"/g) || []).length, 1, 'only the alias match names one');
  assert.ok(html.includes('matched alias: 阳光花园&lt;小区&gt;'));
  assert.match(html, /41%/);
  setLang('zh');
});

test('the view escapes everything it shows', () => {
  setLang('zh');
  const evil = '<img src=x onerror=alert(1)>';
  const html = renderView({
    incident: { id: 'I1', number: evil, category: evil, priority: 1, status: 'received', received_at: '2026-11-26T00:00:00Z', description: evil },
    alerts: [{ id: 'A', source: evil, description: evil, caller: { name: evil, phone: evil } }],
    cameras: [{ id: 'C"1', name: evil, distance_m: 5, stream_url: 'javascript:alert(1)"' }],
    units: [{ id: 'U1', call_sign: evil, distance_m: 10 }],
    household: [{ person_id: 'P1', name: evil, flags: ['elderly_alone'] }],
    location: { point: null, located_by: evil },
    timeline: [{ seq: 1, type: evil, at: '2026-11-26T00:00:00Z', data: { actor: evil } }],
  });
  assert.ok(!html.includes('<img'), 'no raw tag');
  assert.ok(html.includes('&lt;img'));
  assert.ok(!html.includes('C"1'));
  assert.ok(!html.includes('javascript:'), 'a javascript: stream link is dropped');
  assert.ok(html.includes('class="vulnerable"'));
  assert.equal(esc(`a"b'<>&`), 'a&quot;b&#39;&lt;&gt;&amp;');
});

test('forms exist for every action and the dispatch form pre-selects the clicked unit', () => {
  const v = { incident: { id: 'I1', priority: 2, category: 'theft' }, units: [{ id: 'U1', distance_m: 3 }, { id: 'U2', distance_m: 9 }] };
  for (const a of ['unmask', 'assess', 'dispatch', 'note', 'support', 'divert', 'resolve', 'cancel', 'close', 'feedback', 'callback', 'review']) {
    assert.match(renderForm(a, v), new RegExp(`data-form="${a}"`), a);
  }
  const f = renderForm('dispatch', v, { unit: 'U2' });
  assert.match(f, /value="U2" checked/);
  assert.doesNotMatch(f, /value="U1" checked/);
});

test('stream links keep video and web schemes only', () => {
  assert.equal(safeUrl('rtsp://video.local/yunhe/C1'), 'rtsp://video.local/yunhe/C1');
  assert.equal(safeUrl('https://nvr.local/live/1'), 'https://nvr.local/live/1');
  for (const bad of ['javascript:alert(1)', ' javascript:x', 'data:text/html,x', 'vbscript:x', '', null, '//evil']) {
    assert.equal(safeUrl(bad), '', String(bad));
  }
});

test('the support desk offers each request the steps its state allows, escaped', () => {
  setLang('en');
  const base = { number: 'S1', kind: 'video', station_id: 'S01', incident_id: 'I1', incident_number: 'XN-1', deadlines: [] };
  const html = renderSupportPanel([
    { ...base, id: 'R1', state: 'requested', detail: '<img src=x onerror=alert(1)>' },
    { ...base, id: 'R2', state: 'accepted', deadlines: [{ kind: 'answer', due_at: new Date(Date.now() - 60000).toISOString(), met_at: null }] },
    { ...base, id: 'R3', state: 'answered', answer: '已找到' },
  ], { form: { id: 'R2', type: 'answer' } });
  const row = (id) => html.slice(html.indexOf(`<li data-id="${id}"`), html.indexOf('</li>', html.indexOf(`<li data-id="${id}"`)));
  const steps = (id) => [...row(id).matchAll(/data-support-action="(\w+)"/g)].map((m) => m[1]).filter((s) => s !== 'cancel');
  assert.deepEqual(steps('R1'), ['accept', 'reject']);
  assert.deepEqual(steps('R2'), ['answer']);
  assert.deepEqual(steps('R3'), ['answer', 'close']);
  assert.ok(!html.includes('<img'), 'detail is escaped');
  assert.ok(row('R2').includes('data-support-form="answer"') && row('R2').includes('name="answer"'), 'the open form is R2\'s');
  assert.ok(!row('R1').includes('<form'));
  assert.ok(row('R2').includes('class="deadline overdue"'));
  assert.ok(row('R1').includes('data-action="open" data-id="I1"'), 'each row opens its incident');
  assert.ok(renderSupportPanel([]).includes('None'));
});

test('the incident view labels each support request by its state and says why one was rejected', () => {
  setLang('zh');
  const html = renderView({
    incident: { id: 'I1', priority: 2, category: 'theft' },
    support_requests: [
      { id: 'R1', number: 'S1', kind: 'video', state: 'rejected', detail: 'd',
        notes: [{ type: 'reject', by: 'user:9', at: '2026-11-27T00:00:00Z', note: '<b>请先核实</b>' }] },
      { id: 'R2', number: 'S2', kind: 'video', state: 'closed', detail: 'd', answer: '已调取', notes: [] },
    ],
  });
  const row = (id) => html.slice(html.indexOf(`<li data-id="${id}"`), html.indexOf('</li>', html.indexOf(`<li data-id="${id}"`)));
  assert.ok(row('R1').includes('data-state="rejected"') && row('R1').includes('已驳回'), row('R1'));
  assert.ok(row('R1').includes('驳回理由: &lt;b&gt;请先核实&lt;/b&gt;'), 'the reason, escaped');
  assert.ok(row('R2').includes('已办结') && !row('R2').includes('support-reject-note'));
  setLang('en');
});

test('timeline entries read as what happened in the page language, an unknown type as it is', () => {
  const v = {
    incident: { id: 'I1', priority: 2, category: 'theft' },
    timeline: [{ seq: 1, type: 'incident.opened', at: '2026-11-26T00:00:00Z', data: {} },
      { seq: 2, type: 'support.rejected', at: '2026-11-26T00:01:00Z', data: {} },
      { seq: 3, type: 'future.kind', at: '2026-11-26T00:02:00Z', data: {} }],
  };
  const entry = (html, seq) => html.slice(html.indexOf(`<li data-seq="${seq}"`), html.indexOf('</li>', html.indexOf(`<li data-seq="${seq}"`)));
  setLang('zh');
  let html = renderView(v);
  assert.match(entry(html, 1), /data-type="incident.opened".*<b title="incident.opened">立案<\/b>/s);
  assert.match(entry(html, 2), /<b title="support.rejected">支撑驳回<\/b>/);
  assert.match(entry(html, 3), /<b title="future.kind">future.kind<\/b>/);
  setLang('en');
  html = renderView(v);
  assert.match(entry(html, 1), /<b title="incident.opened">Opened<\/b>/);
});
