-- 006: the county's reference data (jurisdictions, the standard-address and population
-- register, resources, cameras, alarm-pillar markers) and the fusion columns of incidents.
--
-- Points are stored as geography (metres on the sphere): the nearest-camera and nearest-unit
-- searches order by true distance through a GiST index (KNN `<->` on geography), and radius
-- filters (ST_DWithin in metres) use the same index. Polygons are stored as geometry, where
-- point-in-polygon (ST_Covers) is exact and indexed. Every reference row carries the
-- integrator's own id (`properties.id` of the imported feature) as its primary key.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE stations (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  phone      text,
  geog       geography(Point, 4326) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Police zones (警务区). area_type sets the arrival deadlines of the closed loop.
CREATE TABLE zones (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  station_id    text NOT NULL,
  area_type     text NOT NULL CHECK (area_type IN ('urban', 'suburban', 'rural')),
  officer_name  text,
  officer_phone text,
  geom          geometry(MultiPolygon, 4326) NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zones_geom_idx ON zones USING gist (geom);
CREATE INDEX zones_station_idx ON zones (station_id);

-- Community grids (网格) and their grid workers.
CREATE TABLE grids (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  zone_id      text NOT NULL,
  worker_name  text,
  worker_phone text,
  geom         geometry(MultiPolygon, 4326) NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX grids_geom_idx ON grids USING gist (geom);

-- Standard addresses (标准地址). `norm` and `alias_norms` are the normalised texts
-- (domain::normalize_address) that the exact and alias matches compare; the trigram index
-- serves the fuzzy match.
CREATE TABLE addresses (
  id          text PRIMARY KEY,
  text        text NOT NULL,
  norm        text NOT NULL,
  aliases     text[] NOT NULL DEFAULT '{}',
  alias_norms text[] NOT NULL DEFAULT '{}',
  geog        geography(Point, 4326) NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_norm_idx ON addresses (norm);
CREATE INDEX addresses_alias_idx ON addresses USING gin (alias_norms);
CREATE INDEX addresses_trgm_idx ON addresses USING gin (norm gin_trgm_ops);
CREATE INDEX addresses_geog_idx ON addresses USING gist (geog);

-- The actual population (实有人口). A person may have several phone numbers (the import takes
-- `phone` as a string or an array); they are stored normalised (domain::normalize_phone).
CREATE TABLE persons (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  id_number  text,
  phones     text[] NOT NULL DEFAULT '{}',
  address_id text,
  flags      text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX persons_address_idx ON persons (address_id);
CREATE INDEX persons_id_number_idx ON persons (id_number);
CREATE INDEX persons_phones_idx ON persons USING gin (phones);

-- Cameras (视频监控). bearing_deg NULL: a 360° dome.
CREATE TABLE cameras (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  bearing_deg double precision CHECK (bearing_deg >= 0 AND bearing_deg < 360),
  fov_deg     double precision NOT NULL DEFAULT 360 CHECK (fov_deg > 0 AND fov_deg <= 360),
  range_m     double precision NOT NULL CHECK (range_m > 0),
  stream_url  text,
  online      boolean NOT NULL DEFAULT true,
  geog        geography(Point, 4326) NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cameras_geog_idx ON cameras USING gist (geog);
CREATE INDEX cameras_online_geog_idx ON cameras USING gist (geog) WHERE online;

-- Resources: patrol cars, police-light kiosks (警灯岗亭), PTU staging points, officers on foot,
-- drones, with their status and last reported position.
CREATE TABLE units (
  id          text PRIMARY KEY,
  call_sign   text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('patrol_car', 'kiosk', 'ptu', 'officer', 'drone')),
  station_id  text,
  status      text NOT NULL CHECK (status IN ('available', 'busy', 'off_duty', 'out_of_service')),
  geog        geography(Point, 4326),
  position_at timestamptz,
  speed       real,
  heading     real,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_geog_idx ON units USING gist (geog);
CREATE INDEX units_station_idx ON units (station_id);

-- Position history (patrol tracks): one row per report.
CREATE TABLE unit_positions (
  unit_id text NOT NULL,
  at      timestamptz NOT NULL,
  geog    geography(Point, 4326) NOT NULL,
  speed   real,
  heading real,
  PRIMARY KEY (unit_id, at)
);

-- Alarm-pillar and location-sign markers (定位标牌): the printed code → a point.
CREATE TABLE markers (
  id          text PRIMARY KEY,
  description text,
  camera_id   text,
  geog        geography(Point, 4326) NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What fusion found for each incident.
ALTER TABLE incidents
  ADD COLUMN zone_id             text,
  ADD COLUMN grid_id             text,
  ADD COLUMN address_id          text,
  ADD COLUMN located_by          text,   -- location|marker|address|alias|fuzzy|subject|caller_phone|manual
  ADD COLUMN location_confidence real,   -- 0..1
  ADD COLUMN location_candidates json,   -- ambiguous address: the candidates with their scores
  ADD COLUMN needs_location      boolean NOT NULL DEFAULT false,
  ADD COLUMN owner_flag          text,   -- nearest_zone (off every polygon) | no_zone
  ADD COLUMN fusion              json,   -- cameras, units, household, history (as of fused_at)
  ADD COLUMN fused_at            timestamptz;
CREATE INDEX incidents_geog_idx ON incidents USING gist ((location::geography));
CREATE INDEX incidents_address_id_idx ON incidents (address_id, received_at DESC);
CREATE INDEX incidents_station_idx ON incidents (station_id, received_at DESC);
CREATE INDEX alerts_caller_phone_idx ON alerts (caller_phone, received_at DESC);
