-- 003: cheaper durable intake. Every alert appends two events; their payload is written once
-- by the server as compact JSON, stored as is and read back only as text (feed replay, the
-- incident timeline). Nothing queries inside it, so `json` (checked, stored verbatim) replaces
-- `jsonb` (parsed into a binary tree on every insert and printed back on every replay). A
-- replayed frame is now byte-identical to the live one.
ALTER TABLE events ALTER COLUMN data TYPE json USING data::json;
