-- 011: the closed loop (接警 → 研判 → 指令 → 处置 → 反馈 → 评估): the incident lifecycle,
-- orders to units, deadlines with their escalation, support requests, diversions to other
-- agencies, and feedback with its evaluation. docs/architecture.md, "The closed loop".

ALTER TABLE incidents
  ADD COLUMN assessed_at   timestamptz,
  ADD COLUMN dispatched_at timestamptz,
  ADD COLUMN arrived_at    timestamptz,
  ADD COLUMN resolved_at   timestamptz,
  ADD COLUMN closed_at     timestamptz,
  ADD COLUMN status_reason text,
  ADD CONSTRAINT incidents_status_check CHECK (status IN
    ('received', 'assessed', 'dispatched', 'on_scene', 'resolved', 'closed', 'cancelled', 'diverted'));

-- Order numbers, like incident numbers, come from a sequence that is never reset.
CREATE SEQUENCE order_serial;

-- One order (指令) per unit. A unit is busy while it holds an order that has not ended.
CREATE TABLE orders (
  id              uuid PRIMARY KEY,
  number          text NOT NULL UNIQUE,
  incident_id     uuid NOT NULL REFERENCES incidents (id),
  station_id      text NOT NULL,
  unit_id         text NOT NULL REFERENCES units (id),
  kind            text NOT NULL CHECK (kind IN ('respond', 'visit', 'video_check', 'search')),
  instruction     text NOT NULL,
  state           text NOT NULL CHECK (state IN
                    ('issued', 'acknowledged', 'en_route', 'on_scene', 'completed', 'declined', 'reassigned')),
  reason          text,              -- decline or reassignment reason
  note            text,              -- the latest note from the unit
  replaced_by     uuid REFERENCES orders (id),
  issued_by       text NOT NULL,     -- user:<id> or key:<id>
  issued_at       timestamptz NOT NULL,
  acknowledged_at timestamptz,
  en_route_at     timestamptz,
  on_scene_at     timestamptz,
  completed_at    timestamptz,
  ended_at        timestamptz,       -- completed, declined or reassigned
  updated_at      timestamptz NOT NULL
);
CREATE INDEX orders_incident_idx ON orders (incident_id, issued_at);
CREATE INDEX orders_unit_active_idx ON orders (unit_id) WHERE ended_at IS NULL;
CREATE INDEX orders_station_idx ON orders (station_id, issued_at DESC);

-- Every timed step of the loop. A row is met when its step happens in time or late; the
-- escalation scheduler fires a row once when due_at passes unmet (fired_at set in the same
-- transaction as the deadline.missed event, under FOR UPDATE SKIP LOCKED, so each fires exactly
-- once however many instances run and whenever they restart).
CREATE TABLE deadlines (
  id           bigserial PRIMARY KEY,
  incident_id  uuid NOT NULL REFERENCES incidents (id),
  station_id   text,
  subject_kind text NOT NULL CHECK (subject_kind IN ('order', 'support', 'diversion', 'incident')),
  subject_id   text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('acknowledge', 'arrive', 'feedback', 'accept', 'answer', 'done')),
  due_at       timestamptz NOT NULL,
  met_at       timestamptz,
  fired_at     timestamptz,
  fired_by     text,               -- the instance that announced it
  late_s       double precision,   -- how late it was when announced
  created_at   timestamptz NOT NULL,
  UNIQUE (subject_kind, subject_id, kind)
);
CREATE INDEX deadlines_due_idx ON deadlines (due_at) WHERE met_at IS NULL AND fired_at IS NULL;
CREATE INDEX deadlines_incident_idx ON deadlines (incident_id);
CREATE INDEX deadlines_fired_idx ON deadlines (station_id, fired_at DESC) WHERE fired_at IS NOT NULL;

CREATE SEQUENCE support_serial;

-- Support requests (支撑请求) from a station to the county, and help requests (协查) from
-- another county (origin set), which open an incident of their own.
CREATE TABLE support_requests (
  id           uuid PRIMARY KEY,
  number       text NOT NULL UNIQUE,
  incident_id  uuid NOT NULL REFERENCES incidents (id),
  station_id   text,
  origin       text,               -- NULL: one of our stations; else who asked (e.g. a county)
  kind         text NOT NULL CHECK (kind IN ('video', 'technical', 'intelligence', 'cross_jurisdiction', 'manpower')),
  detail       text NOT NULL,
  state        text NOT NULL CHECK (state IN ('requested', 'accepted', 'answered', 'closed', 'rejected')),
  answer       text,
  notes        jsonb NOT NULL DEFAULT '[]',
  requested_by text NOT NULL,
  requested_at timestamptz NOT NULL,
  accepted_by  text,
  accepted_at  timestamptz,
  answered_by  text,
  answered_at  timestamptz,
  closed_by    text,
  closed_at    timestamptz,
  updated_at   timestamptz NOT NULL
);
CREATE INDEX support_requests_incident_idx ON support_requests (incident_id);
CREATE INDEX support_requests_state_idx ON support_requests (state, requested_at DESC);

-- Diversions (分流非警务): a non-police incident handed to another agency, tracked.
CREATE TABLE diversions (
  id          uuid PRIMARY KEY,
  incident_id uuid NOT NULL REFERENCES incidents (id),
  station_id  text,
  agency      text NOT NULL CHECK (agency IN ('12345', 'town_platform', 'fire_119', 'medical_120', 'utilities')),
  note        text,
  state       text NOT NULL CHECK (state IN ('sent', 'accepted', 'rejected', 'done')),
  reason      text,
  sent_by     text NOT NULL,
  sent_at     timestamptz NOT NULL,
  accepted_at timestamptz,
  rejected_at timestamptz,
  done_at     timestamptz,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX diversions_incident_idx ON diversions (incident_id);
CREATE INDEX diversions_state_idx ON diversions (state, sent_at DESC);

-- Feedback (反馈) and evaluation (评估): the on-scene result, the caller call-back and the
-- supervisor's review. An incident closes only with a result and a review.
CREATE TABLE incident_feedback (
  incident_id        uuid PRIMARY KEY REFERENCES incidents (id),
  outcome            text,
  summary            text,
  people_involved    integer,
  property_recovered text,
  reported_by        text,
  reported_at        timestamptz,
  callback_reached   boolean,
  satisfaction       smallint CHECK (satisfaction BETWEEN 1 AND 5),
  callback_note      text,
  callback_by        text,
  callback_at        timestamptz,
  review_verdict     text CHECK (review_verdict IN ('good', 'acceptable', 'poor')),
  review_note        text,
  review_by          text,
  review_at          timestamptz,
  updated_at         timestamptz NOT NULL
);
