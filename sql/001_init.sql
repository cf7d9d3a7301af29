-- 001: categories, incidents, alerts and the ordered event log behind the feed.
CREATE EXTENSION IF NOT EXISTS postgis;

-- Alert categories: code, names, default priority, and whether the matter is non-police
-- (such incidents are candidates for diversion to another agency).
CREATE TABLE categories (
  code             text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
  name_zh          text NOT NULL,
  name_en          text NOT NULL,
  default_priority smallint NOT NULL CHECK (default_priority BETWEEN 1 AND 4),
  non_police       boolean NOT NULL DEFAULT false
);

INSERT INTO categories (code, name_zh, name_en, default_priority, non_police) VALUES
  ('fraud',            '诈骗',       'Fraud',              2, false),
  ('theft',            '盗窃',       'Theft',              3, false),
  ('burglary',         '入室盗窃',   'Burglary',           2, false),
  ('robbery',          '抢劫',       'Robbery',            1, false),
  ('assault',          '殴打伤害',   'Assault',            1, false),
  ('gambling',         '赌博',       'Gambling',           3, false),
  ('dispute',          '纠纷',       'Dispute',            3, false),
  ('noise',            '噪音扰民',   'Noise',              4, true),
  ('traffic_accident', '交通事故',   'Traffic accident',   2, false),
  ('fire',             '火警',       'Fire',               1, true),
  ('medical',          '医疗急救',   'Medical emergency',  1, true),
  ('missing_person',   '人员走失',   'Missing person',     2, false),
  ('lost_property',    '物品遗失',   'Lost property',      4, false),
  ('suicide_risk',     '轻生',       'Suicide risk',       1, false),
  ('help',             '求助',       'Request for help',   3, false),
  ('other',            '其他',       'Other',              4, false);

-- Incident numbers come from this sequence; it is never reset, so a number is never reused.
CREATE SEQUENCE incident_serial;

CREATE TABLE incidents (
  id          uuid PRIMARY KEY,
  number      text NOT NULL UNIQUE,
  status      text NOT NULL DEFAULT 'received',
  category    text NOT NULL REFERENCES categories (code),
  priority    smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
  received_at timestamptz NOT NULL,
  location    geometry(Point, 4326),
  address     text,
  description text,
  station_id  text,
  alert_count integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX incidents_received_idx ON incidents (received_at DESC, id DESC);
CREATE INDEX incidents_status_idx ON incidents (status, received_at DESC);
CREATE INDEX incidents_location_idx ON incidents USING gist (location);

-- Every alert as received. (source, source_ref) is the integrator's idempotency key.
-- The incident reference is checked at commit so that one statement can write both.
CREATE TABLE alerts (
  id                uuid PRIMARY KEY,
  incident_id       uuid NOT NULL REFERENCES incidents (id) DEFERRABLE INITIALLY DEFERRED,
  source            text NOT NULL,
  source_ref        text NOT NULL,
  received_at       timestamptz NOT NULL,
  category          text NOT NULL REFERENCES categories (code),
  priority          smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
  caller_phone      text,
  caller_name       text,
  location          geometry(Point, 4326),
  address           text,
  marker            text,
  subject_phone     text,
  subject_id_number text,
  description       text,
  merged            boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL,
  UNIQUE (source, source_ref)
);
CREATE INDEX alerts_incident_idx ON alerts (incident_id);

-- The feed's sequence. Writers take this row's lock with UPDATE ... RETURNING as the last step
-- before COMMIT, so seqs are handed out in commit order: once seq N is visible, every seq
-- below N is visible too. A rolled-back transaction also rolls back its seqs: no gaps.
CREATE TABLE feed_seq (
  id   boolean PRIMARY KEY DEFAULT true CHECK (id),
  last bigint NOT NULL
);
INSERT INTO feed_seq (id, last) VALUES (true, 0);

-- Every state change, appended in the same transaction as the change. The feed replays from here.
CREATE TABLE events (
  seq         bigint PRIMARY KEY,
  type        text NOT NULL,
  at          timestamptz NOT NULL,
  incident_id uuid,
  category    text,
  station_id  text,
  data        jsonb NOT NULL
);
CREATE INDEX events_incident_idx ON events (incident_id, seq);
