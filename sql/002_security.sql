-- 002: principals (officers and integrator keys), login sessions, incident sharing between
-- stations, the hash-chained audit log, and the application's database role.

-- Officers. Log in with the police number (警号); roles as in docs/security.md.
CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  police_number text NOT NULL UNIQUE CHECK (police_number ~ '^[A-Za-z0-9_.-]{1,32}$'),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  station_id    text CHECK (station_id IS NULL OR station_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  roles         text[] NOT NULL CHECK (cardinality(roles) > 0),
  password_hash text NOT NULL,   -- Argon2id, libsodium string form
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Integrator keys "xnk_<id>_<secret>": the id is public, only the secret's SHA-256 is kept
-- (256 random bits need no slow hash). Shown once at creation.
CREATE TABLE api_keys (
  id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{12}$'),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  secret_hash  text NOT NULL,
  scopes       text[] NOT NULL,
  sources      text[] NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);

-- A login: a short-lived access token and a longer-lived refresh token, both kept only as
-- SHA-256. Refresh rotates both; logout, a password change or disabling the user revokes.
CREATE TABLE auth_sessions (
  id                 uuid PRIMARY KEY,
  user_id            bigint NOT NULL REFERENCES users (id),
  access_hash        text NOT NULL UNIQUE,
  access_expires_at  timestamptz NOT NULL,
  refresh_hash       text NOT NULL UNIQUE,
  refresh_expires_at timestamptz NOT NULL,
  address            text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  revoked_at         timestamptz
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;

-- Another station may see an incident only when it is shared with it (support request,
-- cross-station link).
CREATE TABLE incident_shares (
  incident_id uuid NOT NULL REFERENCES incidents (id),
  station_id  text NOT NULL,
  reason      text NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, station_id)
);

-- Append-only, hash-chained: hash = SHA-256 of the row's canonical text, which includes the
-- previous row's hash (docs/security.md gives the exact form). `xiaonaod audit verify` checks it.
CREATE TABLE audit_log (
  seq         bigint PRIMARY KEY,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,        -- user:<id>, key:<id> or cli:<os user>
  actor_name  text NOT NULL,
  station_id  text,                 -- the station the action concerns (for station chiefs' view)
  action      text NOT NULL,        -- e.g. person.unmask, user.create, apikey.revoke, auth.login
  target      text,                 -- whom or what: user:<id>, key:<id>, alert:<id>/caller ...
  incident_id uuid,
  reason      text,
  detail      text NOT NULL,        -- a JSON object, kept as text so its bytes are what was hashed
  prev_hash   text NOT NULL,
  hash        text NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_station_idx ON audit_log (station_id, seq);
CREATE INDEX audit_log_incident_idx ON audit_log (incident_id, seq) WHERE incident_id IS NOT NULL;

-- Even the table owner cannot change history without first disabling this trigger; the hash
-- chain shows it if someone does.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The role xiaonaod switches to on every connection (config db.app_role): it reads and writes
-- the operational tables but may only append to the audit log and the event log, and may not
-- touch the migration record. Roles are per cluster, so create it only once.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'xiaonao_app') THEN
    CREATE ROLE xiaonao_app NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- another database of this cluster created it at the same moment
END $$;
GRANT USAGE ON SCHEMA public TO xiaonao_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO xiaonao_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO xiaonao_app;
-- Tables that later migrations create get the same grants; each migration revokes what its
-- tables must not allow.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO xiaonao_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO xiaonao_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM xiaonao_app;
REVOKE UPDATE, DELETE, TRUNCATE ON events FROM xiaonao_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM xiaonao_app;
