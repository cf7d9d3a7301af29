import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncidentQueue, formatDuration, ALARM_PRIORITY } from '../../src/state.js';

const T0 = Date.parse('2026-11-26T08:00:00Z');
const iso = (s) => new Date(T0 + s * 1000).toISOString();
const inc = (id, priority, recvS, extra = {}) => ({
  id, number: `XN-${id}`, priority, received_at: iso(recvS), status: 'received', category: 'theft', alert_count: 1, ...extra,
});

test('orders by priority, then the oldest first', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 3, 0), inc('b', 1, 50), inc('c', 1, 10), inc('d', 2, 5)]);
  assert.deepEqual(q.view().map((i) => i.id), ['c', 'b', 'd', 'a']);
});

test('opened events add incidents; only a new high-priority one raises the alarm', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 1, 0)]);
  let r = q.apply({ seq: 1, type: 'incident.opened', data: inc('b', ALARM_PRIORITY, 1) });
  assert.equal(r.alarm, true);
  r = q.apply({ seq: 2, type: 'incident.opened', data: inc('b', ALARM_PRIORITY, 1) });
  assert.equal(r.alarm, false, 'the same incident again (a replay) is not a new alarm');
  r = q.apply({ seq: 3, type: 'incident.opened', data: inc('c', ALARM_PRIORITY + 1, 2) });
  assert.equal(r.alarm, false);
  r = q.apply({ seq: 4, type: 'incident.opened', data: inc('a', 1, 0) });
  assert.equal(r.alarm, false, 'already in the snapshot');
  assert.equal(q.view().length, 3);
});

test('merged alerts count; priority only rises', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 3, 0)]);
  q.apply({ type: 'alert.received', data: { incident_id: 'a', merged: false, priority: 3 } });
  assert.equal(q.get('a').alert_count, 1);
  q.apply({ type: 'alert.merged', data: { incident_id: 'a', merged: true, priority: 2 } });
  assert.equal(q.get('a').alert_count, 2);
  assert.equal(q.get('a').priority, 2);
  q.apply({ type: 'alert.merged', data: { incident_id: 'a', merged: true, priority: 4 } });
  assert.equal(q.get('a').priority, 2);
});

test('lifecycle transitions move incidents; closed and cancelled leave the queue', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 2, 0), inc('b', 2, 1)]);
  q.apply({ type: 'incident.assessed', at: iso(5), data: { id: 'a', from: 'received', to: 'assessed', priority: 1 } });
  assert.equal(q.get('a').status, 'assessed');
  assert.equal(q.get('a').priority, 1);
  q.apply({ type: 'incident.cancelled', data: { id: 'b', from: 'received', to: 'cancelled' } });
  assert.deepEqual(q.view().map((i) => i.id), ['a']);
  assert.equal(q.openCount(), 1);
  assert.deepEqual(q.view({ statuses: ['cancelled'] }).map((i) => i.id), ['b']);
});

test('relocation moves the marker and may change the owner', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 2, 0, { location: null, station_id: null })]);
  q.apply({ type: 'incident.located', data: { incident_id: 'a', location: { lon: 120, lat: 28 }, station_id: 'S02' } });
  assert.deepEqual(q.get('a').location, { lon: 120, lat: 28 });
  assert.equal(q.get('a').station_id, 'S02');
});

test('filters: category, priority, text, overdue', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 1, 0, { category: 'fraud', address: '中山街12号' }), inc('b', 2, 0), inc('c', 3, 0)]);
  assert.deepEqual(q.view({ categories: ['fraud'] }).map((i) => i.id), ['a']);
  assert.deepEqual(q.view({ priorities: [2, 3] }).map((i) => i.id), ['b', 'c']);
  assert.deepEqual(q.view({ text: '中山' }).map((i) => i.id), ['a']);
  assert.deepEqual(q.view({ text: 'xn-c' }).map((i) => i.id), ['c']);
  q.apply({ type: 'order.issued', data: { id: 'o1', incident_id: 'b', state: 'issued',
    deadlines: [{ kind: 'acknowledge', due_at: iso(60), met_at: null }, { kind: 'arrive', due_at: iso(300), met_at: null }] } });
  assert.deepEqual(q.view({ overdueOnly: true }, T0 + 30e3).map((i) => i.id), []);
  assert.deepEqual(q.view({ overdueOnly: true }, T0 + 61e3).map((i) => i.id), ['b']);
});

test('deadlines count down, go overdue, and stop with the order', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 2, 0)]);
  q.apply({ type: 'order.issued', data: { id: 'o1', incident_id: 'a', state: 'issued',
    deadlines: [{ kind: 'acknowledge', due_at: iso(60) }, { kind: 'arrive', due_at: iso(300) }] } });
  let d = q.nextDeadline(q.get('a'), T0 + 20e3);
  assert.equal(d.kind, 'acknowledge');
  assert.equal(d.left_s, 40);
  d = q.nextDeadline(q.get('a'), T0 + 90e3);
  assert.equal(d.left_s, -30);
  // The order event without deadlines (the feed's shape) keeps those already known.
  q.apply({ type: 'order.acknowledged', data: { id: 'o1', incident_id: 'a', state: 'acknowledged' } });
  assert.equal(q.deadlines(q.get('a'), T0).length, 2);
  q.apply({ type: 'order.completed', data: { id: 'o1', incident_id: 'a', state: 'completed' } });
  assert.equal(q.nextDeadline(q.get('a'), T0), null);
});

test('a missed deadline from the feed shows as overdue', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 2, 0)]);
  q.apply({ type: 'deadline.missed', data: { deadline_id: 7, subject_kind: 'order', subject_id: 'o9', order_id: 'o9',
    incident_id: 'a', kind: 'acknowledge', due_at: iso(60), late_s: 1 } });
  const d = q.nextDeadline(q.get('a'), T0 + 61e3);
  assert.equal(d.kind, 'acknowledge');
  assert.ok(d.left_s < 0);
});

test('events for unknown incidents change nothing', () => {
  const q = new IncidentQueue();
  const v = q.version;
  assert.equal(q.apply({ type: 'alert.merged', data: { incident_id: 'zz', merged: true } }).changed, false);
  assert.equal(q.apply({ type: 'incident.resolved', data: { id: 'zz', to: 'resolved' } }).changed, false);
  assert.equal(q.apply({ type: 'unit.status', data: {} }).changed, false);
  assert.equal(q.version, v);
});

test('a snapshot plus the events buffered while it loaded ends in the latest state', () => {
  // The console opens the feed live, then loads the list; events from that window are applied
  // on top, in order, so an older event is always followed by the newer ones.
  const q = new IncidentQueue();
  q.load([inc('a', 2, 0, { status: 'dispatched' })]);
  for (const ev of [
    { type: 'incident.opened', data: inc('a', 2, 0) },
    { type: 'incident.dispatched', data: { id: 'a', from: 'assessed', to: 'dispatched' } },
  ]) q.apply(ev);
  assert.equal(q.get('a').status, 'dispatched');
});

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(65), '1:05');
  assert.equal(formatDuration(3723), '1:02:03');
  assert.equal(formatDuration(-30), '−0:30');
  assert.equal(formatDuration(null), '');
});

test('500 incidents sort in well under a frame', () => {
  const q = new IncidentQueue();
  const items = [];
  for (let i = 0; i < 500; i++) items.push(inc(`i${i}`, 1 + (i % 4), (i * 7919) % 1000));
  q.load(items);
  const t = performance.now();
  for (let k = 0; k < 20; k++) q.view();
  const ms = (performance.now() - t) / 20;
  assert.ok(ms < 25, `view() took ${ms.toFixed(2)} ms`);
});

test('an order read back after its event updates the deadlines (met ones stop counting)', () => {
  const q = new IncidentQueue();
  q.load([inc('a', 2, 0)]);
  q.apply({ type: 'order.issued', data: { id: 'o1', incident_id: 'a', state: 'issued' } });
  assert.equal(q.nextDeadline(q.get('a'), T0), null, 'the feed frame has no deadlines');
  q.apply({ type: 'order.loaded', data: { id: 'o1', incident_id: 'a', state: 'issued',
    deadlines: [{ kind: 'acknowledge', due_at: iso(60), met_at: null }, { kind: 'arrive', due_at: iso(300), met_at: null }] } });
  assert.equal(q.nextDeadline(q.get('a'), T0).kind, 'acknowledge');
  q.apply({ type: 'order.acknowledged', data: { id: 'o1', incident_id: 'a', state: 'acknowledged' } });
  q.apply({ type: 'order.loaded', data: { id: 'o1', incident_id: 'a', state: 'acknowledged',
    deadlines: [{ kind: 'acknowledge', due_at: iso(60), met_at: iso(20) }, { kind: 'arrive', due_at: iso(300), met_at: null }] } });
  assert.equal(q.nextDeadline(q.get('a'), T0).kind, 'arrive');
});
