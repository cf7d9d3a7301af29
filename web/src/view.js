// The one-screen incident view (一屏显示): everything about one incident in one panel, from
// GET /api/v1/incidents/{id}. Pure rendering to HTML strings (every value escaped); main.js
// wires the buttons (data-action) to the API.
import { categoryList, categoryName, formatTime, label, t } from './i18n.js';
import { formatDuration } from './state.js';

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

/** A camera stream link only for video schemes and the web; anything else (javascript:, data:) is dropped. */
export function safeUrl(u) {
  return /^(rtsp|rtsps|rtmp|https?):\/\//i.test(String(u ?? '')) ? String(u) : '';
}

const VULNERABLE = new Set(['elderly_alone', 'mental_illness', 'disabled', 'minor']);
export const ORDER_KINDS = ['respond', 'visit', 'video_check', 'search'];
export const SUPPORT_KINDS = ['video', 'technical', 'intelligence', 'cross_jurisdiction', 'manpower'];
/** Note kinds (POST /api/v1/incidents/{id}/notes); the first is the server's default. */
export const NOTE_KINDS = ['info', 'caller_update', 'scene_report'];
export const AGENCIES = ['12345', 'town_platform', 'fire_119', 'medical_120', 'utilities'];
const OPEN_ORDER = new Set(['issued', 'acknowledged', 'en_route', 'on_scene']);

function section(key, count, body, testid) {
  const n = count === null || count === undefined ? '' : ` <span class="count">${count}</span>`;
  return `<section class="block" data-testid="${testid}"><h3>${esc(t(key))}${n}</h3>${body}</section>`;
}

const none = () => `<p class="muted">${esc(t('view.none'))}</p>`;

function alertsBlock(v) {
  const rows = (v.alerts || []).map((a) => `<li data-id="${esc(a.id)}">
    <span class="src">${esc(a.source)}</span> <span class="time">${esc(formatTime(a.received_at))}</span>
    ${a.merged ? '<span class="tag">+</span>' : ''}
    <div>${esc(a.description || '')}</div>
    <div class="muted">${a.caller ? `${esc(t('view.caller'))}: ${esc(a.caller.name || '')} ${esc(a.caller.phone || '')}` : ''}
    ${a.address ? ` · ${esc(a.address)}` : ''}${a.marker ? ` · ${esc(t('map.markers'))} ${esc(a.marker)}` : ''}</div></li>`).join('');
  return section('view.alerts', (v.alerts || []).length, rows ? `<ul class="list">${rows}</ul>` : none(), 'view-alerts');
}

function locationBlock(v) {
  const l = v.location || {};
  const p = l.point;
  const where = p ? `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}` : `<span class="warn">${esc(t('view.needs_location'))}</span>`;
  // An ambiguous fuzzy match: one click takes a candidate as the location (PATCH address_id).
  // A candidate matched by one of its aliases says which (the alert's text may name a landmark).
  const cands = (l.candidates || []).map((c) => `<li><a href="#" data-action="use-address" data-address="${esc(c.address_id)}">${esc(c.text)}</a>
    ${c.alias ? `<span class="muted" data-testid="candidate-alias">${esc(t('view.matched_alias'))}: ${esc(c.alias)}</span>` : ''}
    <span class="muted">${Math.round(c.score * 100)}%</span></li>`).join('');
  return section('view.location', null, `
    <div class="kv"><span>${esc(l.address_text || '')}</span> <span class="muted" data-testid="view-point">${where}</span></div>
    <div class="kv muted">${esc(t('view.located_by'))}: <b data-testid="view-located-by">${esc(l.located_by || '—')}</b>
      · ${esc(t('view.confidence'))}: ${l.confidence === null || l.confidence === undefined ? '—' : Math.round(l.confidence * 100) + '%'}
      ${l.owner_flag ? ` · ${esc(l.owner_flag)}` : ''}</div>
    ${cands ? `<ul class="list small">${cands}</ul>` : ''}
    <button data-action="relocate" data-testid="act-relocate">${esc(t('view.relocate'))}</button>`, 'view-location');
}

function ownerBlock(v) {
  const s = v.station, z = v.zone, g = v.grid;
  return section('view.owner', null, `<div class="kv">${esc(t('view.station'))}: <b>${esc(s?.name || '—')}</b> ${esc(s?.phone || '')}</div>
    <div class="kv">${esc(t('view.zone'))}: <b>${esc(z?.name || '—')}</b> ${z?.area_type ? `<span class="tag">${esc(z.area_type)}</span>` : ''}</div>
    <div class="kv">${esc(t('view.officer'))}: ${esc(z?.officer_name || '—')} ${esc(z?.officer_phone || '')}</div>
    <div class="kv">${esc(t('view.grid'))}: ${esc(g?.name || '—')} · ${esc(t('view.worker'))}: ${esc(g?.worker_name || '—')} ${esc(g?.worker_phone || '')}</div>`,
  'view-owner');
}

function camerasBlock(v) {
  const rows = (v.cameras || []).map((c) => `<li data-id="${esc(c.id)}">
    <b>${esc(c.name)}</b> <span class="muted">${Math.round(c.distance_m)} m</span>
    ${c.in_view ? `<span class="tag ok">${esc(t('view.in_view'))}</span>` : ''}
    ${safeUrl(c.stream_url) ? `<a href="${esc(safeUrl(c.stream_url))}" target="_blank" rel="noopener noreferrer">${esc(t('view.camera_open'))}</a>` : ''}</li>`).join('');
  return section('view.cameras', (v.cameras || []).length, rows ? `<ul class="list">${rows}</ul>` : none(), 'view-cameras');
}

function unitsBlock(v, canDispatch) {
  const rows = (v.units || []).map((u) => `<li data-id="${esc(u.id)}">
    <b>${esc(u.call_sign || u.id)}</b> <span class="muted">${esc(label('kind', u.kind))} · ${Math.round(u.distance_m)} m</span>
    ${canDispatch ? `<button class="small" data-action="dispatch" data-unit="${esc(u.id)}" data-testid="dispatch-${esc(u.id)}">${esc(t('view.dispatch'))}</button>` : ''}</li>`).join('');
  const stale = v.units_stale_skipped ? `<p class="muted small">+${v.units_stale_skipped} stale</p>` : '';
  return section('view.units', (v.units || []).length, (rows ? `<ul class="list">${rows}</ul>` : none()) + stale, 'view-units');
}

function householdBlock(v, canUnmask) {
  const rows = (v.household || []).map((p) => {
    const flags = (p.flags || []).map((f) => `<span class="tag ${VULNERABLE.has(f) ? 'vuln' : ''}">${esc(label('flag', f))}</span>`).join(' ');
    const vulnerable = (p.flags || []).some((f) => VULNERABLE.has(f));
    return `<li data-id="${esc(p.person_id)}" class="${vulnerable ? 'vulnerable' : ''}">
      <b>${esc(p.name || '')}</b> <span class="muted">${esc(p.id_number || '')} ${esc((p.phones || []).join(', '))}</span> ${flags}</li>`;
  }).join('');
  // Unmasking needs a reason and is audited per person (docs/security.md).
  const masked = v.masked ? ` <span class="tag">${esc(t('view.masked'))}</span>${canUnmask && (v.household || []).length
    ? ` <button class="small" data-action="unmask" data-testid="act-unmask">${esc(t('act.unmask'))}</button>` : ''}` : '';
  return section('view.household', (v.household || []).length, (masked ? `<div>${masked}</div>` : '') + (rows ? `<ul class="list">${rows}</ul>` : none()), 'view-household');
}

function historyBlock(v) {
  const rows = (v.history || []).map((h) => `<li data-id="${esc(h.id)}"><a href="#" data-action="open" data-id="${esc(h.id)}">${esc(h.number)}</a>
    ${esc(categoryName(h.category))} · ${esc(label('status', h.status))} · ${esc(formatTime(h.received_at))}
    <span class="muted">${esc((h.reasons || []).join(', '))}</span></li>`).join('');
  return section('view.history', (v.history || []).length, rows ? `<ul class="list">${rows}</ul>` : none(), 'view-history');
}

/** One deadline with the seconds left (negative: overdue); the console counts it down by data-due. */
export function deadlineBadge(kind, dueAt, leftS) {
  return `<span class="deadline ${leftS < 0 ? 'overdue' : ''}" data-due="${esc(dueAt)}">${esc(label('deadline', kind))} ${esc(formatDuration(leftS))}</span>`;
}

/** The deadlines not met yet. */
function deadlineBadges(deadlines, nowMs) {
  return (deadlines || []).filter((d) => !d.met_at)
    .map((d) => deadlineBadge(d.kind, d.due_at, (Date.parse(d.due_at) - nowMs) / 1000)).join(' ');
}

function ordersBlock(v) {
  const now = Date.now();
  const rows = (v.orders || []).map((o) => {
    const dls = OPEN_ORDER.has(o.state) ? deadlineBadges(o.deadlines, now) : '';
    return `<li data-id="${esc(o.id)}" data-state="${esc(o.state)}"><b>${esc(o.number || '')}</b> ${esc(o.unit_call_sign || o.unit_id)}
      · ${esc(label('order', o.kind))} · <span class="state" data-testid="order-state">${esc(label('order', o.state))}</span> ${dls}
      ${o.reason ? `<div class="muted">${esc(o.reason)}</div>` : ''}</li>`;
  }).join('');
  return section('view.orders', (v.orders || []).length, rows ? `<ul class="list">${rows}</ul>` : none(), 'view-orders');
}

/** Why the county rejected a support request: the note of its latest reject step. */
function rejectNote(s) {
  if (s.state !== 'rejected') return '';
  const n = (s.notes || []).filter((x) => x.type === 'reject').pop();
  return n?.note ? `<div data-testid="support-reject-note">${esc(t('support.rejected_because'))}: ${esc(n.note)}</div>` : '';
}

function supportBlock(v) {
  const rows = (v.support_requests || []).map((s) => `<li data-id="${esc(s.id)}" data-state="${esc(s.state)}">${esc(s.number || '')} ${esc(label('support', s.kind))}
    · <b>${esc(label('supstate', s.state))}</b> <div class="muted">${esc(s.detail || '')}</div>${s.answer ? `<div>${esc(s.answer)}</div>` : ''}${rejectNote(s)}</li>`).join('');
  return section('view.support', (v.support_requests || []).length, rows ? `<ul class="list">${rows}</ul>` : none(), 'view-support');
}

function diversionsBlock(v) {
  const rows = (v.diversions || []).map((d) => `<li data-id="${esc(d.id)}">${esc(label('agency', d.agency))} · <b>${esc(d.state)}</b>
    <span class="muted">${esc(d.note || '')} ${esc(d.reason || '')}</span></li>`).join('');
  return section('view.diversions', (v.diversions || []).length, rows ? `<ul class="list">${rows}</ul>` : none(), 'view-diversions');
}

function feedbackBlock(v) {
  const f = v.feedback;
  const r = v.response;
  let body = '';
  if (f) {
    body += `<div class="kv">${esc(t('form.outcome'))}: <b>${esc(f.outcome || '')}</b> · ${esc(f.summary || '')}</div>
      <div class="kv muted">${esc(t('form.people'))}: ${esc(f.people_involved ?? '—')} · ${esc(t('form.property'))}: ${esc(typeof f.property_recovered === 'object' ? JSON.stringify(f.property_recovered) : f.property_recovered ?? '—')}</div>
      <div class="kv muted">satisfaction: ${esc(f.satisfaction ?? '—')} · review: ${esc(f.review_verdict ?? '—')} ${esc(f.review_note || '')}</div>`;
  }
  if (r) {
    const cell = (k) => (r[k] === null || r[k] === undefined ? '—' : formatDuration(r[k]));
    body += `<div class="kv small">${esc(t('view.response'))}: 接→派 ${cell('received_to_dispatched_s')} · 派→签 ${cell('dispatched_to_acknowledged_s')}
      · 派→到 ${cell('dispatched_to_arrived_s')} · 到→处 ${cell('arrived_to_resolved_s')}</div>`;
  }
  return section('view.feedback', null, body || none(), 'view-feedback');
}

function timelineBlock(v) {
  const rows = [...(v.timeline || [])].reverse().map((e) => {
    const d = e.data || {};
    const who = d.actor ? ` · ${esc(d.actor)}` : '';
    if (e.type === 'incident.note') {
      // A note reads as what it is, its kind and its text (kept on its own lines).
      return `<li data-seq="${esc(e.seq)}" class="note" data-testid="timeline-note"><span class="time">${esc(formatTime(e.at))}</span>
        <b>${esc(t('timeline.note'))} · ${esc(label('note', d.kind || 'info'))}</b>${who}<div class="note-text">${esc(d.text || '')}</div></li>`;
    }
    const why = d.reason ? ` · ${esc(d.reason)}` : '';
    return `<li data-seq="${esc(e.seq)}" data-type="${esc(e.type)}"><span class="time">${esc(formatTime(e.at))}</span> <b title="${esc(e.type)}">${esc(label('ev', e.type))}</b>${who}${why}</li>`;
  }).join('');
  return section('view.timeline', (v.timeline || []).length, rows ? `<ul class="list small">${rows}</ul>` : none(), 'view-timeline');
}

/** The header line and the action buttons. */
function header(v, nowMs, may) {
  const i = v.incident || {};
  const age = formatDuration((nowMs - Date.parse(i.received_at)) / 1000);
  const closed = i.status === 'closed' || i.status === 'cancelled';
  const btn = (a, perm = 'incidents:write') => (may(perm) && !closed
    ? `<button data-action="${a}" data-testid="act-${a}">${esc(t(`act.${a}`))}</button>` : '');
  return `<header class="view-head p${esc(i.priority)}">
    <div class="title"><span class="prio p${esc(i.priority)}">${esc(t('priority.n', { n: i.priority }))}</span>
      <b data-testid="view-number">${esc(i.number)}</b> ${esc(categoryName(i.category))}
      <span class="status" data-testid="view-status">${esc(label('status', i.status))}</span></div>
    <div class="muted">${esc(t('view.received_at'))} ${esc(formatTime(i.received_at))} · ${esc(t('age'))} <span class="age" data-since="${esc(i.received_at)}">${esc(age)}</span>
      ${v.shared_with?.length ? ` · shared ${esc(v.shared_with.join(','))}` : ''}</div>
    ${i.description ? `<div class="desc">${esc(i.description)}</div>` : ''}
    <div class="actions" data-testid="view-actions">
      ${btn('assess')}${btn('dispatch', 'orders:write')}${btn('note')}${btn('support')}${btn('divert')}${btn('resolve')}${btn('feedback')}${btn('callback')}${btn('review', 'incidents:review')}${btn('close')}${btn('cancel')}
    </div>
    <div class="form-slot" data-testid="form-slot"></div>
    <div class="msg" data-testid="view-msg" role="status"></div>
  </header>`;
}

/** States in which a support request still asks something of the county. */
export const SUPPORT_OPEN = ['requested', 'accepted', 'answered'];

/**
 * The county's support desk (支撑请求处理): the open support requests of every station, newest
 * first, each with the steps its state allows (POST /api/v1/support-requests/{id}/events).
 * `form`: {id, type} of the answer or reject form being filled in, kept across re-renders.
 */
export function renderSupportPanel(items, { form = null, nowMs = Date.now() } = {}) {
  const rows = items.map((s) => {
    const step = (type) => `<button data-support-action="${type}" data-id="${esc(s.id)}" data-testid="support-${type}">${esc(t(`support.act.${type}`))}</button>`;
    const steps = s.state === 'requested' ? step('accept') + step('reject')
      : s.state === 'accepted' ? step('answer')
      : step('answer') + step('close');
    const dls = deadlineBadges(s.deadlines, nowMs);
    const open = form && form.id === s.id;
    const answer = form?.type === 'answer';
    const formHtml = !open ? '' : `<form data-support-form="${esc(form.type)}" data-id="${esc(s.id)}">
      <label><span>${esc(t(answer ? 'support.answer' : 'form.reason'))}</span><textarea name="${answer ? 'answer' : 'note'}" maxlength="2000" required data-testid="support-text"></textarea></label>
      <div class="form-buttons"><button type="submit" data-testid="support-submit">${esc(t('act.submit'))}</button>
      <button type="button" data-support-action="cancel-form" data-id="${esc(s.id)}">${esc(t('act.close_form'))}</button></div></form>`;
    return `<li data-id="${esc(s.id)}" data-state="${esc(s.state)}" data-testid="support-row">
      <b>${esc(s.number || '')}</b> ${esc(label('support', s.kind))} · ${esc(s.station_id || '')}
      · <a href="#" data-action="open" data-id="${esc(s.incident_id)}">${esc(s.incident_number || '')}</a>
      · <span class="state" data-testid="support-state">${esc(label('supstate', s.state))}</span> ${dls}
      <div class="muted">${esc(s.origin ? `${s.origin} · ` : '')}${esc(s.detail || '')}</div>
      ${s.answer ? `<div>${esc(s.answer)}</div>` : ''}
      <div class="actions">${steps}</div>${formHtml}</li>`;
  }).join('');
  return `<div class="support-panel" data-testid="support-panel">
    ${section('support.panel', items.length, rows ? `<ul class="list">${rows}</ul>` : none(), 'support-list')}
    <div class="msg" data-testid="view-msg" role="status"></div></div>`;
}

/** The whole view. `may(permission)`: whether the signed-in officer holds it. */
export function renderView(v, { nowMs = Date.now(), may = () => true } = {}) {
  if (!v) return `<div class="empty">${esc(t('view.empty'))}</div>`;
  return `${header(v, nowMs, may)}
    <div class="view-body">
      <div class="col">${locationBlock(v)}${ownerBlock(v)}${camerasBlock(v)}${unitsBlock(v, may('orders:write'))}${householdBlock(v, may('persons:unmask'))}</div>
      <div class="col">${alertsBlock(v)}${ordersBlock(v)}${supportBlock(v)}${diversionsBlock(v)}${feedbackBlock(v)}${historyBlock(v)}${timelineBlock(v)}</div>
    </div>`;
}

const options = (items, prefix, selected) => items.map((c) => `<option value="${esc(c)}" ${c === selected ? 'selected' : ''}>${esc(label(prefix, c))}</option>`).join('');

/** The small form of one action. */
export function renderForm(action, v, extra = {}) {
  const i = v?.incident || {};
  const submit = `<div class="form-buttons"><button type="submit" data-testid="form-submit">${esc(t('act.submit'))}</button>
    <button type="button" data-action="close-form">${esc(t('act.close_form'))}</button></div>`;
  const field = (key, html) => `<label><span>${esc(t(key))}</span>${html}</label>`;
  switch (action) {
    case 'unmask':
      return `<form data-form="unmask">${field('form.reason', '<input name="reason" maxlength="500" required>')}${submit}</form>`;
    case 'assess': {
      const cats = categoryList().map((c) => `<option value="${esc(c.code)}" ${c.code === i.category ? 'selected' : ''}>${esc(categoryName(c.code))}</option>`).join('');
      const prios = [1, 2, 3, 4].map((p) => `<option value="${p}" ${p === i.priority ? 'selected' : ''}>${esc(t('priority.n', { n: p }))}</option>`).join('');
      return `<form data-form="assess">${field('form.category', `<select name="category">${cats}</select>`)}
        ${field('priority', `<select name="priority">${prios}</select>`)}${field('form.reason', '<input name="reason" maxlength="500">')}${submit}</form>`;
    }
    case 'dispatch': {
      const units = (v.units || []).map((u) => `<label class="check"><input type="checkbox" name="unit_ids" value="${esc(u.id)}" ${extra.unit === u.id ? 'checked' : ''}>
        ${esc(u.call_sign || u.id)} <span class="muted">${Math.round(u.distance_m)} m</span></label>`).join('');
      return `<form data-form="dispatch">${units || none()}
        ${field('form.order_kind', `<select name="kind">${options(ORDER_KINDS, 'order', extra.kind || 'respond')}</select>`)}
        ${field('form.instruction', `<textarea name="instruction" maxlength="2000" required>${esc(extra.instruction || '')}</textarea>`)}${submit}</form>`;
    }
    case 'note':
      return `<form data-form="note">${field('form.kind', `<select name="kind">${options(NOTE_KINDS, 'note')}</select>`)}
        ${field('form.note_text', '<textarea name="text" maxlength="2000" required data-testid="note-text"></textarea>')}${submit}</form>`;
    case 'support':
      return `<form data-form="support">${field('form.kind', `<select name="kind">${options(SUPPORT_KINDS, 'support')}</select>`)}
        ${field('form.detail', '<textarea name="detail" maxlength="2000" required></textarea>')}${submit}</form>`;
    case 'divert':
      return `<form data-form="divert">${field('form.agency', `<select name="agency">${options(AGENCIES, 'agency')}</select>`)}
        ${field('form.note', '<textarea name="note" maxlength="2000"></textarea>')}${submit}</form>`;
    case 'resolve':
    case 'cancel':
    case 'close':
      return `<form data-form="${action}">${field('form.reason', `<input name="reason" maxlength="500" ${action === 'close' ? '' : 'required'}>`)}${submit}</form>`;
    case 'callback': {
      const sat = [5, 4, 3, 2, 1].map((n) => `<option value="${n}">${n}</option>`).join('');
      return `<form data-form="callback">${field('form.reached', `<select name="reached"><option value="true">${esc(t('form.yes'))}</option><option value="false">${esc(t('form.no'))}</option></select>`)}
        ${field('form.satisfaction', `<select name="satisfaction">${sat}<option value="">—</option></select>`)}
        ${field('form.note', '<textarea name="note" maxlength="2000"></textarea>')}${submit}</form>`;
    }
    case 'review':
      return `<form data-form="review">${field('form.verdict', `<select name="verdict">${options(['good', 'acceptable', 'poor'], 'verdict')}</select>`)}
        ${field('form.note', '<textarea name="note" maxlength="2000"></textarea>')}${submit}</form>`;
    case 'feedback':
      return `<form data-form="feedback">${field('form.outcome', '<input name="outcome" maxlength="64" required>')}
        ${field('form.summary', '<textarea name="summary" maxlength="4000" required></textarea>')}
        ${field('form.people', '<input name="people_involved" type="number" min="0" max="10000" value="0">')}
        ${field('form.property', '<input name="property_recovered" maxlength="500">')}${submit}</form>`;
    default:
      return '';
  }
}

/**
 * The request an action form turns into (loop_api.md), or null. `form`: {name: value | value[]}.
 * Kept pure so that the request shapes are unit-tested.
 */
export function actionRequest(action, incidentId, form) {
  const id = encodeURIComponent(incidentId);
  switch (action) {
    case 'assess':
      return { method: 'POST', path: `/api/v1/incidents/${id}/transitions`,
        body: { event: 'assess', reason: form.reason || '', category: form.category, priority: Number(form.priority) } };
    case 'dispatch': {
      const ids = [].concat(form.unit_ids || []);
      return { method: 'POST', path: `/api/v1/incidents/${id}/orders`,
        body: { unit_ids: ids, instruction: form.instruction || '', kind: form.kind || 'respond' } };
    }
    case 'note':
      return { method: 'POST', path: `/api/v1/incidents/${id}/notes`,
        body: { text: String(form.text || '').trim(), kind: NOTE_KINDS.includes(form.kind) ? form.kind : 'info' } };
    case 'support':
      return { method: 'POST', path: `/api/v1/incidents/${id}/support-requests`, body: { kind: form.kind, detail: form.detail || '' } };
    case 'divert':
      return { method: 'POST', path: `/api/v1/incidents/${id}/diversions`, body: { agency: form.agency, note: form.note || '' } };
    case 'resolve':
    case 'cancel':
    case 'close':
      return { method: 'POST', path: `/api/v1/incidents/${id}/transitions`, body: { event: action, reason: form.reason || '' } };
    case 'callback': {
      const reached = form.reached !== 'false';
      return { method: 'POST', path: `/api/v1/incidents/${id}/callback`,
        body: { reached, satisfaction: reached && form.satisfaction ? Number(form.satisfaction) : null, note: form.note || '' } };
    }
    case 'review':
      return { method: 'POST', path: `/api/v1/incidents/${id}/review`, body: { verdict: form.verdict, note: form.note || '' } };
    case 'feedback':
      return { method: 'PUT', path: `/api/v1/incidents/${id}/feedback`,
        body: { outcome: form.outcome, summary: form.summary || '', people_involved: Number(form.people_involved || 0),
          property_recovered: form.property_recovered || '' } };
    case 'use-address':
      return { method: 'PATCH', path: `/api/v1/incidents/${id}`, body: { address_id: String(form.address_id) } };
    case 'relocate':
      return { method: 'PATCH', path: `/api/v1/incidents/${id}`,
        body: { location: { lon: Number(Number(form.lon).toFixed(6)), lat: Number(Number(form.lat).toFixed(6)) } } };
    default:
      return null;
  }
}
