-- 014: who answered a diversion, and the notes of each step (docs/architecture.md, "The closed
-- loop", "Support requests, diversion, feedback"); the station's support requests listed fast.
ALTER TABLE diversions
  ADD COLUMN accepted_by text,
  ADD COLUMN rejected_by text,
  ADD COLUMN done_by     text,
  ADD COLUMN notes       jsonb NOT NULL DEFAULT '[]';

CREATE INDEX support_requests_station_idx ON support_requests (station_id, requested_at DESC);
