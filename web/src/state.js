// The incident queue: the console's picture of the open incidents, built from a snapshot
// (GET /api/v1/incidents) and kept current by feed events. Pure: no DOM, no network; time is
// passed in, so node --test can drive it.

/** Lifecycle states (docs: loop_api, "Incident states"); closed and cancelled leave the queue. */
export const OPEN_STATUSES = ['received', 'assessed', 'dispatched', 'on_scene', 'resolved', 'diverted'];
export const CLOSED_STATUSES = ['closed', 'cancelled'];
/** Priority 1 is the highest; an incident this urgent or more sounds the alarm when it opens. */
export const ALARM_PRIORITY = 1;

const ORDER_END = new Set(['completed', 'declined', 'reassigned']);

/** Seconds between two RFC 3339 times (b − a); null if either is missing. */
export function secondsBetween(a, b) {
  if (!a || !b) return null;
  return (Date.parse(b) - Date.parse(a)) / 1000;
}

/** "1:05", "12:00", "1:02:03" (h:mm:ss); negative values get a leading "−". */
export function formatDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '';
  const neg = s < 0;
  let t = Math.floor(Math.abs(s));
  const h = Math.floor(t / 3600);
  t -= h * 3600;
  const m = Math.floor(t / 60);
  const sec = t - m * 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  const body = `${h > 0 ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
  return neg ? `−${body}` : body;
}

export class IncidentQueue {
  constructor() {
    /** id → incident (the list shape plus orders, deadlines, flags) */
    this.items = new Map();
    this.version = 0;
  }

  /** Replaces everything with a snapshot (the list API's items). */
  load(items) {
    this.items.clear();
    for (const it of items) this.upsert(it);
    this.version += 1;
  }

  get(id) {
    return this.items.get(id);
  }

  upsert(data) {
    if (!data || !data.id) return null;
    const old = this.items.get(data.id);
    const inc = {
      orders: {},
      missed: {},
      ...old,
      ...data,
    };
    if (!inc.status) inc.status = 'received';
    inc.rev = (old?.rev || 0) + 1;
    inc.received_ms = Date.parse(inc.received_at) || 0;
    this.items.set(inc.id, inc);
    return inc;
  }

  /**
   * Applies one feed event. Returns {changed, id, alarm}: alarm is true when a new incident of
   * ALARM_PRIORITY or higher opened (a visual and a sound cue).
   */
  apply(ev, nowMs = Date.now()) {
    const d = ev.data || {};
    const out = { changed: false, id: null, alarm: false };
    const t = ev.type || '';
    if (t === 'incident.opened') {
      const isNew = !this.items.has(d.id);
      this.upsert({ ...d, seen_at_ms: isNew ? nowMs : this.items.get(d.id)?.seen_at_ms });
      out.changed = true;
      out.id = d.id;
      out.alarm = isNew && typeof d.priority === 'number' && d.priority <= ALARM_PRIORITY;
    } else if (t === 'alert.received' || t === 'alert.merged') {
      const inc = this.items.get(d.incident_id);
      if (inc) {
        if (d.merged) inc.alert_count = (inc.alert_count || 1) + 1;
        if (typeof d.priority === 'number' && d.priority < inc.priority) inc.priority = d.priority;
        out.changed = true;
        out.id = inc.id;
      }
    } else if (t === 'incident.located') {
      const inc = this.items.get(d.incident_id);
      if (inc) {
        if (d.location) inc.location = d.location;
        if (d.station_id !== undefined) inc.station_id = d.station_id;
        out.changed = true;
        out.id = inc.id;
      }
    } else if (t === 'incident.fused') {
      const inc = this.items.get(d.incident_id);
      if (inc) {
        inc.fused = { cameras: d.cameras || [], units: d.units || [], vulnerable: d.vulnerable_count || 0 };
        out.changed = true;
        out.id = inc.id;
      }
    } else if (t === 'alert.split') {
      const inc = this.items.get(d.from_incident_id);
      if (inc && inc.alert_count > 1) inc.alert_count -= 1;
      out.changed = !!inc;
      out.id = d.from_incident_id;
    } else if (t.startsWith('incident.') && d.to) {
      // A lifecycle transition: incident.assessed, .dispatched, .on_scene, .resolved, ...
      const inc = this.items.get(d.id);
      if (inc) {
        inc.status = d.to;
        inc.updated_at = ev.at;
        if (d.priority !== undefined) inc.priority = d.priority;
        if (d.category !== undefined) inc.category = d.category;
        out.changed = true;
        out.id = inc.id;
      }
    } else if (t.startsWith('order.')) {
      const inc = this.items.get(d.incident_id);
      if (inc && d.id) {
        inc.orders[d.id] = { ...(inc.orders[d.id] || {}), ...d };
        if (ORDER_END.has(d.state)) {
          for (const k of Object.keys(inc.missed)) if (inc.missed[k].subject_id === d.id) delete inc.missed[k];
        }
        out.changed = true;
        out.id = inc.id;
      }
    } else if (t === 'deadline.missed') {
      const inc = this.items.get(d.incident_id);
      if (inc) {
        inc.missed[String(d.deadline_id)] = d;
        out.changed = true;
        out.id = inc.id;
      }
    }
    if (out.changed) {
      this.version += 1;
      // Each incident's own revision: the console redraws only the rows that changed.
      const inc = this.items.get(out.id);
      if (inc && t !== 'incident.opened') inc.rev = (inc.rev || 0) + 1;
    }
    return out;
  }

  /** Deadlines still running or overdue: from the orders (issued with their deadlines) and missed events. */
  deadlines(inc, nowMs = Date.now()) {
    const out = [];
    for (const o of Object.values(inc.orders || {})) {
      if (ORDER_END.has(o.state)) continue;
      for (const dl of o.deadlines || []) {
        if (dl.met_at) continue;
        out.push({ kind: dl.kind, order_id: o.id, due_at: dl.due_at, left_s: (Date.parse(dl.due_at) - nowMs) / 1000 });
      }
    }
    for (const m of Object.values(inc.missed || {})) {
      if (out.some((x) => x.order_id && x.order_id === m.subject_id && x.kind === m.kind)) continue;
      out.push({ kind: m.kind, order_id: m.order_id || null, due_at: m.due_at, left_s: (Date.parse(m.due_at) - nowMs) / 1000 });
    }
    out.sort((a, b) => a.left_s - b.left_s);
    return out;
  }

  /** The next deadline (the most urgent), or null. overdue: left_s < 0. */
  nextDeadline(inc, nowMs = Date.now()) {
    const all = this.deadlines(inc, nowMs);
    return all.length ? all[0] : null;
  }

  /**
   * The queue as shown: open incidents matching `f`, priority first (1 before 4), then the
   * oldest first (it has waited longest), then number for a stable order.
   * f: {statuses?: string[], categories?: string[], priorities?: number[], text?: string, overdueOnly?: bool}
   */
  view(f = {}, nowMs = Date.now()) {
    const statuses = f.statuses && f.statuses.length ? new Set(f.statuses) : new Set(OPEN_STATUSES);
    const cats = f.categories && f.categories.length ? new Set(f.categories) : null;
    const prios = f.priorities && f.priorities.length ? new Set(f.priorities) : null;
    const text = (f.text || '').trim().toLowerCase();
    const out = [];
    for (const inc of this.items.values()) {
      if (!statuses.has(inc.status)) continue;
      if (cats && !cats.has(inc.category)) continue;
      if (prios && !prios.has(inc.priority)) continue;
      if (text) {
        const hay = `${inc.number || ''} ${inc.address || ''} ${inc.description || ''} ${inc.category || ''}`.toLowerCase();
        if (!hay.includes(text)) continue;
      }
      if (f.overdueOnly) {
        const d = this.nextDeadline(inc, nowMs);
        if (!d || d.left_s >= 0) continue;
      }
      out.push(inc);
    }
    out.sort((a, b) => (a.priority ?? 9) - (b.priority ?? 9) ||
      a.received_ms - b.received_ms ||
      String(a.number).localeCompare(String(b.number)));
    return out;
  }

  /** How many incidents are open (any open status). */
  openCount() {
    let n = 0;
    for (const inc of this.items.values()) if (!CLOSED_STATUSES.includes(inc.status)) n += 1;
    return n;
  }
}
