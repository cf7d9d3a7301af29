-- 008: live unit data and the map.
--
-- unit_positions is append-mostly in time order: a BRIN index on `at` lets the retention task
-- (units.track_retention_days) find the oldest rows for almost no write cost per report.
-- The map reads stations and markers by bounding box: they get the spatial indexes 006 left out.
CREATE INDEX IF NOT EXISTS unit_positions_at_brin ON unit_positions USING brin (at);
CREATE INDEX IF NOT EXISTS stations_geog_idx ON stations USING gist (geog);
CREATE INDEX IF NOT EXISTS markers_geog_idx ON markers USING gist (geog);
