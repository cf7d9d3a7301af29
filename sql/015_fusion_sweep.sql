-- 015: the fusion worker's sweep finds open incidents still unfused (fused_at IS NULL) by their
-- creation time without scanning the table.
CREATE INDEX incidents_unfused_idx ON incidents (created_at) WHERE fused_at IS NULL;
