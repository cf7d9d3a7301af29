-- 020: an alert joining an incident updates the incident's row (its count, priority, lists and
-- new fusion). That update leaves every indexed column alone, so it can be a HOT update (no new
-- entry in any of the table's indexes, two of them GiST) when the page has room:
--   * the sweep's partial index no longer names fused_at, which every fusion moves; it names
--     `unfused`, which goes from true to false once and then stays;
--   * pages are filled to 70 % on insert, leaving room for a new version of a row;
--   * the fusion document is compressed with lz4, much cheaper than pglz for every new version.
ALTER TABLE incidents ADD COLUMN unfused boolean NOT NULL DEFAULT false;
ALTER TABLE incidents ALTER COLUMN unfused SET DEFAULT true;
-- Only rows the sweep could still look at need the flag (015's window: open, of the last day).
UPDATE incidents SET unfused = true
WHERE fused_at IS NULL AND status NOT IN ('closed', 'cancelled') AND created_at > now() - interval '1 day';
DROP INDEX incidents_unfused_idx;
CREATE INDEX incidents_unfused_idx ON incidents (created_at) WHERE unfused;
ALTER TABLE incidents SET (fillfactor = 70);
ALTER TABLE incidents ALTER COLUMN fusion SET COMPRESSION lz4;
