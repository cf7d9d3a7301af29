-- 005: who sent each alert (the integrator key or user, as "key:<id>" / "user:<id>"). Together
-- with the idempotency key and the time this makes the alerts table the audit record of intake
-- (docs/security.md, "The audit log"). Older rows predate it and stay NULL.
ALTER TABLE alerts ADD COLUMN submitted_by text;
