// Fusion's database side: locate and owner inside a transaction, the after-commit stage
// (cameras, units, household, history), relocation and split (docs/architecture.md "Fusion").
#include "xiaonao/store/fusion.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "xiaonao/domain/fusion.hpp"
#include "xiaonao/domain/incident.hpp"
#include "xiaonao/domain/json_text.hpp"
#include "xiaonao/domain/normalize.hpp"
#include "xiaonao/domain/reference_index.hpp"
#include "xiaonao/domain/time.hpp"
#include "xiaonao/log/log.hpp"
#include "xiaonao/store/db_pool.hpp"
#include "xiaonao/store/event_log.hpp"
#include "deferred.hpp"
#include "json_params.hpp"

namespace xiaonao::store {
namespace {

using domain::Error;
using domain::ErrorKind;
using domain::JsonWriter;
using detail::lon_lat;
using detail::optional_text;
using detail::text_or_null;
using nlohmann::json;

// The four range scans of a text with a slip (below) over one table of normalised texts: those
// that start with the text's first half or end with its last half (500 each), and, for texts of
// 8 characters or more, with its first or last three quarters (100 each). `id` names the
// address the text belongs to. A macro, so that the statement stays one constant.
#define XN_SLIP_SCANS(table, id)                                                                    \
  "(SELECT " id ", norm FROM " table                                                               \
  " WHERE norm ~>=~ h.first_half AND norm ~<~ (h.first_half || chr(1114111)) LIMIT 500)"           \
  " UNION (SELECT " id ", norm FROM " table                                                        \
  " WHERE reverse(norm) ~>=~ h.last_half AND reverse(norm) ~<~ (h.last_half || chr(1114111)) LIMIT 500)" \
  " UNION (SELECT " id ", norm FROM " table " WHERE h.long_enough"                                 \
  " AND norm ~>=~ h.first_three_quarters AND norm ~<~ (h.first_three_quarters || chr(1114111)) LIMIT 100)" \
  " UNION (SELECT " id ", norm FROM " table " WHERE h.long_enough"                                 \
  " AND reverse(norm) ~>=~ h.last_three_quarters"                                                  \
  " AND reverse(norm) ~<~ (h.last_three_quarters || chr(1114111)) LIMIT 100)"

// A fuzzy candidate as the locate statement lists it (`f`: the address id and its score, `a`: the
// address), with the alias whose similarity is the score, if one is: the standard text wins a
// tie, then the alias listed first, as domain::reference::Addresses::fuzzy decides it.
#define XN_CANDIDATE                                                                               \
  "json_build_object('address_id', f.id, 'text', a.text, 'score', round(f.s::numeric, 3),"        \
  " 'lon', ST_X(a.geog::geometry), 'lat', ST_Y(a.geog::geometry),"                                 \
  " 'alias', (SELECT u.n FROM unnest(a.alias_norms) WITH ORDINALITY AS u(n, k)"                    \
  " WHERE similarity(a.norm, i.addr) < f.s AND similarity(u.n, i.addr) = f.s ORDER BY u.k LIMIT 1))"

// Locate: one set-based statement finds, for every inserted alert, what each way of locating it
// gives: the marker's point (and its camera), the standard address by normalised text or alias,
// the fuzzy candidates (fast prefix/suffix candidates first, the trigram KNN walk only when they
// hold nothing usable; see the comments inside), the subject's and the caller's home address. The
// C++ side picks the first that applies (docs/architecture.md, "Fusion"). The conditions sit
// inside each lateral subquery so that PostgreSQL skips the ones not needed (one-time filters on
// the outer row's values).
constexpr const char* locate_head_sql = R"sql(
WITH input AS (
  SELECT * FROM json_to_recordset($1::json) AS x(
    idx int, lon float8, lat float8, marker text, addr text, subject_phone text, subject_id text,
    caller_phone text)
)
SELECT i.idx,
       m.id IS NOT NULL, ST_X(m.geog::geometry), ST_Y(m.geog::geometry), m.camera_id,
       ax.id, ST_X(ax.geog::geometry), ST_Y(ax.geog::geometry), ax.how,
       coalesce(fs.cands, ff.cands)::text,
       sp.address_id, ST_X(sp.geog::geometry), ST_Y(sp.geog::geometry),
       cp.address_id, ST_X(cp.geog::geometry), ST_Y(cp.geog::geometry),
       z.id, z.station_id, z.flag, g.id
FROM input i
LEFT JOIN LATERAL (
  SELECT id, geog, camera_id FROM markers WHERE i.lon IS NULL AND i.marker IS NOT NULL AND id = i.marker
) m ON true
LEFT JOIN LATERAL (
  (SELECT id, geog, 'address' AS how
   -- norm >= x AND norm <= x is norm = x on the btree: with a plain `=` the planner takes the
   -- trigram GiST index (it supports `=` too), twenty times slower for an exact look-up.
   FROM (SELECT id, geog FROM addresses WHERE i.addr IS NOT NULL AND norm >= i.addr AND norm <= i.addr OFFSET 0) e
   ORDER BY id LIMIT 1)
  UNION ALL
  (SELECT id, geog, 'alias'
   FROM (SELECT id, geog FROM addresses WHERE i.addr IS NOT NULL AND alias_norms @> ARRAY[i.addr] OFFSET 0) e
   ORDER BY id LIMIT 1)
  LIMIT 1
) ax ON true
LEFT JOIN LATERAL (
  -- Fast candidates for a text with a slip (a dropped, doubled or swapped character): such a
  -- text keeps its first or its last (n-2)/2 characters intact, so the standard texts and the
  -- aliases (021) that start with the one or end with the other (and, narrower, with its first
  -- or last three quarters) are ranked by similarity, an address by the best of its texts.
  -- "Starts with p" is written as the range p <= norm < p || U+10FFFF in the pattern (byte-wise)
  -- order, which the text_pattern_ops btrees of 010 and 021 serve with p taken from the outer
  -- row (a LIKE pattern is indexable only when it is a constant). The gate sits in `h`: when it
  -- gives no row, none of the scans runs.
  SELECT json_agg()sql" XN_CANDIDATE R"sql( ORDER BY f.s DESC, f.id) AS cands, max(f.s) AS best
  FROM (SELECT c.id, max(similarity(c.norm, i.addr)) AS s
        FROM (SELECT left(i.addr, greatest((length(i.addr) - 2) / 2, 1)) AS first_half,
                     left(reverse(i.addr), greatest((length(i.addr) - 2) / 2, 1)) AS last_half,
                     left(i.addr, length(i.addr) * 3 / 4) AS first_three_quarters,
                     left(reverse(i.addr), length(i.addr) * 3 / 4) AS last_three_quarters,
                     length(i.addr) >= 8 AS long_enough
              WHERE i.addr IS NOT NULL AND i.lon IS NULL AND m.id IS NULL AND ax.id IS NULL) h,
             LATERAL ()sql" XN_SLIP_SCANS("addresses", "id") R"sql(
              UNION
              )sql" XN_SLIP_SCANS("address_aliases", "address_id") R"sql() c
        GROUP BY c.id
        ORDER BY s DESC, c.id LIMIT 5) f
  JOIN addresses a ON a.id = f.id
  WHERE f.s >= 0.2
) ff ON true
LEFT JOIN LATERAL (
  -- Only when the fast candidates hold nothing usable (none at or above the minimum score $2):
  -- the trigram KNN walks over the standard texts (009) and the aliases (021), which find a
  -- text garbled anywhere but read much more of the index (a hundred milliseconds and more at
  -- 200,000 addresses). The twenty nearest aliases, as an address may have several (when one
  -- address has more than that close to the text, this misses others: a fast path, not exact).
  SELECT json_agg()sql" XN_CANDIDATE R"sql( ORDER BY f.s DESC, f.id) AS cands
  FROM (SELECT c.id, max(similarity(c.norm, i.addr)) AS s
        FROM (SELECT WHERE i.addr IS NOT NULL AND i.lon IS NULL AND m.id IS NULL AND ax.id IS NULL
                       AND coalesce(ff.best, 0) < $2::float8) g,
             LATERAL ((SELECT id, norm FROM addresses ORDER BY norm <-> i.addr LIMIT 5)
                      UNION ALL
                      (SELECT address_id, norm FROM address_aliases ORDER BY norm <-> i.addr LIMIT 20)) c
        GROUP BY c.id
        ORDER BY s DESC, c.id LIMIT 5) f
  JOIN addresses a ON a.id = f.id
  WHERE f.s >= 0.2
) fs ON true
LEFT JOIN LATERAL (
  (SELECT p.address_id, a.geog
   FROM (SELECT id, address_id FROM persons WHERE i.subject_phone IS NOT NULL AND phones @> ARRAY[i.subject_phone]
         OFFSET 0) p
   JOIN addresses a ON a.id = p.address_id ORDER BY p.id LIMIT 1)
  UNION ALL
  (SELECT p.address_id, a.geog
   FROM (SELECT id, address_id FROM persons WHERE i.subject_id IS NOT NULL AND id_number = i.subject_id OFFSET 0) p
   JOIN addresses a ON a.id = p.address_id ORDER BY p.id LIMIT 1)
  LIMIT 1
) sp ON true
LEFT JOIN LATERAL (
  SELECT p.address_id, a.geog
  FROM (SELECT id, address_id FROM persons
        WHERE i.caller_phone IS NOT NULL AND i.lon IS NULL AND m.id IS NULL AND ax.id IS NULL
          AND phones @> ARRAY[i.caller_phone] OFFSET 0) p
  JOIN addresses a ON a.id = p.address_id
  ORDER BY p.id LIMIT 1
) cp ON true
-- The owner of the point that needs no decision on the C++ side (as given, the marker's, the
-- exact or alias address's), so that most alerts need no owner statement of their own.
CROSS JOIN LATERAL (
  SELECT coalesce(CASE WHEN i.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) END,
                  m.geog::geometry, ax.geog::geometry) AS pt
) p
)sql";


// Owner: the zone whose polygon covers the point p.pt (several on a shared edge: the smallest
// id), else the nearest zone within `nz` metres (the parameter's name; flagged); the grid that
// covers it (smallest id); all null when p.pt is. The nearest-zone search takes the few nearest
// by the planar index (KNN `<->` on geometry) and measures them in metres on the sphere.
std::string owner_joins(const char* nz) {
  return std::string(R"sql(
LEFT JOIN LATERAL (
  (SELECT id, station_id, NULL::text AS flag FROM zones
   WHERE p.pt IS NOT NULL AND ST_Covers(geom, p.pt) ORDER BY id LIMIT 1)
  UNION ALL
  (SELECT c.id, c.station_id, 'nearest_zone'
   FROM (SELECT id, station_id, geom FROM zones WHERE p.pt IS NOT NULL ORDER BY geom <-> p.pt LIMIT 8) c
   WHERE ST_DWithin(c.geom::geography, p.pt::geography, )sql") +
         nz + R"sql()
   ORDER BY ST_Distance(c.geom::geography, p.pt::geography), c.id LIMIT 1)
  LIMIT 1
) z ON true
LEFT JOIN LATERAL (SELECT id FROM grids WHERE p.pt IS NOT NULL AND ST_Covers(geom, p.pt) ORDER BY id LIMIT 1) g ON true
)sql";
}

// Locate (above) with the owner of the point it can decide alone (columns 16 to 19).
const std::string& locate_sql() {
  static const std::string sql = locate_head_sql + owner_joins("$3");
  return sql;
}

// The owner of points that the C++ side located (fuzzy, subject, caller) and of relocations.
const std::string& owner_sql() {
  static const std::string sql = R"sql(
SELECT i.idx, z.id, z.station_id, z.flag, g.id
FROM json_to_recordset($1::json) AS i(idx int, lon float8, lat float8)
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) AS pt) p)sql" +
                                 owner_joins("$2");
  return sql;
}

// The after-commit stage works on a batch of incidents with four statements, whatever the
// batch's size (it was six round trips per incident): what the incidents are, their
// cameras + units + household + history in one set-based statement, the stored results, the
// events. First what each incident is: its point, address, and the lists of the markers, caller
// phones and subjects its alerts named (018). (The intake writer knows all this for the
// incidents it opens or joins and skips this statement.)
constexpr const char* fuse_incidents_sql = R"sql(
SELECT i.id::text, i.category, coalesce(i.station_id, ''), ST_X(i.location), ST_Y(i.location), i.address_id,
       to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       array_to_json(i.alert_markers)::text, array_to_json(i.alert_callers)::text,
       array_to_json(i.alert_subject_phones)::text, array_to_json(i.alert_subject_ids)::text
FROM incidents i WHERE i.id IN (SELECT value::uuid FROM json_array_elements_text($1::json))
)sql";

// Then, for every incident of the batch at once (one row each, every part a JSON array that
// the C++ side ranks with the domain rules):
//   cameras   the nearest online ones within $2 m (KNN on the partial geography index), $3 of
//             them (a few more than offered so that ranking in-view ones first has a choice),
//             plus the markers' own cameras; distances on the sphere (as the index orders
//             them; the spheroid costs ~10 µs a row and differs by < 0.5%);
//   units     the $4 nearest available ones whose position is at most $10 s old (KNN on
//             geography), with its age, and how many available ones with an older position (or
//             none) are nearer than the last of them (all of them while the list is short):
//             the stale units passed over, which the view counts;
//   household residents at the located address and at the subjects' home addresses ($5 at most),
//             unless the row's `household` is false: the residents in memory answer instead
//             (domain::reference::Homes::household, the same rows);
//   history   earlier incidents near the point ($6 m), at the same address or from the same
//             caller phone within $7 days before it, each with why it matched ($8 at most).
// Each part sits in its own lateral subquery with the incident's values as parameters, so
// every index is used as in a statement per part. History costs the same at a hotspot or for a
// caller who rings every day as anywhere else: each branch reads a bounded number of rows
// ($8 + 1 newest at the address and $9 = 2 × $8 newest alerts per caller phone, by their
// (key, received_at) indexes; the $9 nearest within $6 m, nearest first by the geography
// index's KNN walk), where it used to read every match of a year and sort them: about 1 s a
// call for a caller with thousands of earlier calls at one place. The reasons of the entries
// kept are then checked on each of them, so that an entry found by one branch still shows every
// reason that applies (at a point with more than $9 incidents, which $9 the nearest walk returns
// among equals is arbitrary). The place branch's look-back is
// written on coalesce(received_at, ...) so that no plan can walk the time index for it: a
// generic plan made while the table was small did, reading a year of incidents per call
// (docs/architecture.md, "Plans of the hot statements").
constexpr const char* fuse_parts_head_sql = R"sql(
WITH x AS (
  SELECT * FROM json_to_recordset($1::json) AS x(
    idx int, id uuid, lon float8, lat float8, address_id text, received timestamptz, markers json,
    caller_phones json, subject_phones json, subject_ids json, draw boolean, household boolean)
)
SELECT x.idx, %CAMERAS%, un.j::text, hh.j::text, hi.j::text, st.n,
       CASE WHEN x.draw THEN nextval('incident_serial') END
FROM x
CROSS JOIN LATERAL (
  SELECT CASE WHEN x.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)::geography END AS g
) p
)sql";

// The camera part, left out when the cameras come from memory.
constexpr const char* fuse_cameras_sql = R"sql(
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_array(c.id, c.name, c.stream_url, ST_X(c.geog::geometry), ST_Y(c.geog::geometry),
                                   c.bearing_deg, c.fov_deg, c.range_m, ST_Distance(c.geog, p.g, false), c.marker)
                  ORDER BY c.marker, c.k, c.id) AS j
  FROM ((SELECT id, name, stream_url, geog, bearing_deg, fov_deg, range_m, false AS marker, geog <-> p.g AS k
         FROM cameras WHERE p.g IS NOT NULL AND online AND ST_DWithin(geog, p.g, $2, false) ORDER BY geog <-> p.g LIMIT $3)
        UNION ALL
        (SELECT id, name, stream_url, geog, bearing_deg, fov_deg, range_m, true, 0 FROM cameras
         WHERE p.g IS NOT NULL AND online
           AND id = ANY (ARRAY(SELECT m.camera_id FROM markers m
                               WHERE m.id = ANY (ARRAY(SELECT json_array_elements_text(x.markers))))))) c
) cam ON true
)sql";

constexpr const char* fuse_rest_sql = R"sql(
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_array(u.id, u.call_sign, u.kind, coalesce(u.station_id, ''), ST_Distance(u.geog, p.g, false),
                                   extract(epoch FROM (now() - u.position_at)))
                  ORDER BY u.k, u.id) AS j,
         count(*) AS n, max(u.k) AS kth
  FROM (SELECT id, call_sign, kind, station_id, geog, position_at, geog <-> p.g AS k FROM units
        WHERE p.g IS NOT NULL AND status = 'available' AND geog IS NOT NULL
          AND position_at >= now() - make_interval(secs => $10)
          -- Once per statement, by units_available_position_idx (019): when no available unit
          -- has a fresh position (a GPS feed down), the nearest walk would read every unit.
          AND (SELECT max(position_at) FROM units WHERE status = 'available' AND geog IS NOT NULL)
              >= now() - make_interval(secs => $10)
        ORDER BY geog <-> p.g LIMIT $4) u
) un ON true
LEFT JOIN LATERAL (
  -- The stale ones first (few, by units_available_position_idx, 019), behind an OFFSET 0
  -- fence, then measured: not a walk of the position index out to the K-th unit's distance.
  SELECT count(*) AS n
  FROM (SELECT geog FROM units
        WHERE p.g IS NOT NULL AND status = 'available' AND geog IS NOT NULL
          AND (position_at IS NULL OR position_at < now() - make_interval(secs => $10))
        OFFSET 0) s
  WHERE un.n < $4 OR ST_DWithin(s.geog, p.g, un.kth, false)
) st ON true
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_array(h.id, h.flags, h.via) ORDER BY h.via, h.id) AS j
  FROM (SELECT r.id, r.flags, src.via
        FROM (SELECT x.address_id AS aid, 'address' AS via WHERE x.household IS NOT FALSE AND x.address_id IS NOT NULL
              UNION ALL
              SELECT s.address_id, 'subject'
              FROM (SELECT sp.address_id FROM persons sp, json_array_elements_text(x.subject_phones) ph
                    WHERE sp.phones @> ARRAY[ph]
                    UNION
                    SELECT si.address_id FROM persons si
                    WHERE si.id_number = ANY (ARRAY(SELECT json_array_elements_text(x.subject_ids)))) s
              WHERE x.household IS NOT FALSE AND s.address_id IS NOT NULL) src
        CROSS JOIN LATERAL (SELECT id, flags FROM persons WHERE address_id = src.aid ORDER BY id LIMIT $5) r
        ORDER BY src.via, r.id
        LIMIT $5) h
) hh ON true
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_array(t.id, t.number, t.category, t.status, t.received_text, t.reasons)
                  ORDER BY t.received_at DESC, t.id DESC) AS j
  FROM (SELECT i.id::text AS id, i.number, i.category, i.status, i.received_at,
               to_char(i.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS received_text,
               array_remove(ARRAY[
                 CASE WHEN i.address_id = x.address_id THEN 'address' END,
                 -- The incident's own list of its alerts' callers (018), not a look-up of its alerts.
                 CASE WHEN i.alert_callers && ARRAY(SELECT json_array_elements_text(x.caller_phones))
                      THEN 'caller' END,
                 CASE WHEN ST_DWithin(i.location::geography, p.g, $6, false) THEN 'place' END], NULL) AS reasons
        -- The candidates by primary key behind an OFFSET 0 fence, then sorted: without it a
        -- generic plan made on a young table walks incidents_received_idx newest first and
        -- filters every row by id (thousands of rows a call once the table has grown).
        FROM (SELECT id, number, category, status, received_at, address_id, location, alert_callers FROM incidents
              WHERE id <> x.id
                AND id = ANY (ARRAY(
                  (SELECT id FROM incidents
                   WHERE p.g IS NOT NULL AND ST_DWithin(location::geography, p.g, $6, false)
                     AND coalesce(received_at, x.received) BETWEEN x.received - make_interval(days => $7) AND x.received
                   ORDER BY location::geography <-> p.g LIMIT $9)
                  UNION ALL
                  (SELECT id FROM incidents
                   WHERE x.address_id IS NOT NULL AND address_id = x.address_id
                     AND received_at >= x.received - make_interval(days => $7) AND received_at <= x.received
                   ORDER BY received_at DESC LIMIT $8 + 1)
                  UNION ALL
                  SELECT a.incident_id
                  FROM json_array_elements_text(x.caller_phones) ph
                  CROSS JOIN LATERAL (
                    SELECT incident_id FROM alerts
                    WHERE caller_phone = ph.value
                      AND received_at >= x.received - make_interval(days => $7) AND received_at <= x.received
                    ORDER BY received_at DESC LIMIT $9) a))
              OFFSET 0) i
        ORDER BY i.received_at DESC, i.id DESC
        LIMIT $8) t
) hi ON true
)sql";

// The merge look-up and, in the same statement, the parts of the incident each alert will most
// likely belong to, so that an alert that decides alone (the usual case at a county's rates)
// takes one round trip for both, not two (docs/architecture.md, "Fusion"). For every alert
// marked `near`: the open incidents of a related category ($1's cats) within $11 m and $12 s of
// it (what domain::fusion::plan_merges decides on; its snapshot is taken after the merge locks,
// sent just before it). For every alert marked `spec`, the parts are computed for a guess: no
// open incident near → the incident it opens (its serial drawn when `draw`); else the one
// merge_target would pick among them (same category first, then the nearest, the newest, the
// smallest id) with the alert's markers, callers and subjects added to its own (its subject
// phones, stored as given, in their normal form, xn_normalize_phone of 023, as the parts compare
// them). The C++ side keeps a guess only when the merge plan agrees and runs the parts
// statement for the rest. The parts' parameters are those of the parts statement, $2 to $10.
// The look-up checks the time window and the categories (only those that can be joined,
// domain::fusion::related_to); the choice is plan_merges'. Its `OFFSET 0` fence keeps the time
// window out of the scan: its generic plan must walk the spatial index, never the recent
// incidents by time (at 500 alerts/s, 300,000 rows in ten minutes). Each candidate comes with
// what fusing it again needs (its address and its alerts' markers, callers and subjects, 018).
constexpr const char* near_parts_head_sql = R"sql(
WITH i AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json) AS i(
    idx int, id uuid, lon float8, lat float8, address_id text, received timestamptz, markers json,
    caller_phones json, subject_phones json, subject_ids json, draw boolean, household boolean, near boolean,
    category text, cats text[], spec boolean)
),
nr AS MATERIALIZED (
  SELECT i.idx, c.id, c.number, c.category, c.location, c.received_at, c.station_id, c.address_id,
         c.alert_markers, c.alert_callers, c.alert_subject_phones, c.alert_subject_ids
  FROM i CROSS JOIN LATERAL (
    SELECT * FROM incidents
    WHERE i.near AND ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography, %R%, false)
    OFFSET 0
  ) c
  WHERE c.received_at BETWEEN i.received - make_interval(secs => %W%) AND i.received + make_interval(secs => %W%)
    AND c.status NOT IN ('closed', 'cancelled', 'resolved', 'diverted')
    AND c.category = ANY (i.cats)
),
nj AS (
  SELECT nr.idx, count(*) AS n,
         json_agg(json_build_array(nr.id::text, nr.number, nr.category, ST_X(nr.location), ST_Y(nr.location),
                                   (extract(epoch FROM nr.received_at) * 1000000)::bigint,
                                   coalesce(nr.station_id, ''), nr.address_id, nr.alert_markers, nr.alert_callers,
                                   nr.alert_subject_phones, nr.alert_subject_ids)) AS j
  FROM nr GROUP BY nr.idx
)
)sql";

constexpr const char* guess_parts_head_sql = R"sql(,
x AS (
  SELECT i.idx, i.id, i.lon, i.lat, i.address_id, i.received, i.markers, i.caller_phones, i.subject_phones,
         i.subject_ids, i.draw, i.household
  FROM i WHERE i.spec AND NOT EXISTS (SELECT 1 FROM nr WHERE nr.idx = i.idx)
  UNION ALL
  (SELECT DISTINCT ON (i.idx) i.idx, c.id, ST_X(c.location), ST_Y(c.location), c.address_id, c.received_at,
          array_to_json(c.alert_markers || ARRAY(SELECT e.v FROM json_array_elements_text(i.markers) e(v)
                                                 WHERE e.v <> ALL (c.alert_markers))),
          array_to_json(c.alert_callers || ARRAY(SELECT e.v FROM json_array_elements_text(i.caller_phones) e(v)
                                                 WHERE e.v <> ALL (c.alert_callers))),
          (SELECT coalesce(json_agg(DISTINCT u.v), '[]'::json)
           FROM (SELECT xn_normalize_phone(e) AS v FROM unnest(c.alert_subject_phones) e
                 UNION
                 SELECT json_array_elements_text(i.subject_phones)) u
           WHERE u.v <> ''),
          array_to_json(c.alert_subject_ids || ARRAY(SELECT e.v FROM json_array_elements_text(i.subject_ids) e(v)
                                                     WHERE e.v <> ALL (c.alert_subject_ids))),
          false, i.household
   FROM i JOIN nr c ON c.idx = i.idx
   WHERE i.spec
   ORDER BY i.idx, c.category <> i.category,
            ST_Distance(c.location::geography, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography, false),
            c.received_at DESC, c.id)
),
pt AS (
  SELECT x.idx, x.id, %CAMERAS% AS cam, un.j::text AS un, hh.j::text AS hh, hi.j::text AS hi, st.n AS st,
         CASE WHEN x.draw THEN nextval('incident_serial') END AS serial
  FROM x
  CROSS JOIN LATERAL (
    SELECT CASE WHEN x.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326)::geography END AS g
  ) p
)sql";

// The camera column of a parts statement: its cameras part, or null when the cameras come from
// memory (the statement still names the camera parameters $2 and $3, so that both variants take
// the same parameters).
const char* camera_column(bool cameras) {
  return cameras ? "cam.j::text" : "(SELECT NULL::text WHERE $2::float8 IS NULL AND $3::bigint IS NULL)";
}

std::string with_cameras(std::string head, bool cameras) {
  head.replace(head.find("%CAMERAS%"), 9, camera_column(cameras));
  return head + (cameras ? fuse_cameras_sql : "") + fuse_rest_sql;
}

// The merge look-up with the guessed parts (above), one row per alert; without the parts
// (`xn_near`: when fusion is off or has just failed, the merge look-up must not depend on it),
// the radius and the window are $2 and $3.
std::string near_parts_sql(bool parts, bool cameras) {
  std::string near = near_parts_head_sql;
  for (const auto& [from, to] : {std::pair{"%R%", parts ? "$11" : "$2"}, std::pair{"%W%", parts ? "$12" : "$3"}})
    for (auto at = near.find(from); at != std::string::npos; at = near.find(from)) near.replace(at, 3, to);
  if (!parts)
    return near + "\nSELECT i.idx, nj.j::text, NULL::text FROM i LEFT JOIN nj ON nj.idx = i.idx ORDER BY i.idx";
  return near + with_cameras(guess_parts_head_sql, cameras) + R"sql()
SELECT i.idx, nj.j::text, pt.id::text, pt.cam, pt.un, pt.hh, pt.hi, pt.st, pt.serial
FROM i LEFT JOIN nj ON nj.idx = i.idx LEFT JOIN pt ON pt.idx = i.idx
ORDER BY i.idx
)sql";
}

// The parts statement, with the cameras (`xn_fuse_parts`) or without (`xn_fuse_parts_nocam`,
// whose second column is null).
std::string fuse_parts_sql(bool cameras) { return with_cameras(fuse_parts_head_sql, cameras); }

// The results of the batch, rows locked in id order (as the intake writer's updates lock
// them), so that the two cannot deadlock on a batch's rows.
constexpr const char* fuse_store_sql = R"sql(
WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(id uuid, fusion json)),
lk AS (SELECT i.id FROM incidents i WHERE i.id IN (SELECT id FROM x) ORDER BY i.id FOR NO KEY UPDATE)
UPDATE incidents i SET fusion = x.fusion, fused_at = $2::timestamptz, unfused = false
FROM x JOIN lk ON lk.id = x.id
WHERE i.id = x.id
)sql";

std::optional<domain::GeoPoint> point_of(const pqxx::field& lon, const pqxx::field& lat) {
  if (lon.is_null() || lat.is_null()) return std::nullopt;
  return domain::GeoPoint{lon.as<double>(), lat.as<double>()};
}

std::string str(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

// The owner columns (zone, station, flag, grid) from column `at` of a row onto `l`.
void apply_owner(Located& l, const pqxx::row& r, int at = 1) {
  l.zone_id = str(r[at]);
  l.station_id = str(r[at + 1]);
  l.owner_flag = r[at].is_null() ? "no_zone" : str(r[at + 2]);
  l.grid_id = str(r[at + 3]);
}

double round1(double v) { return std::round(v * 10.0) / 10.0; }

// A point the first ways of locating settle alone: as given, a marker's, an exact address
// (sure) or an alias (0.9).
void settle(Located& l, domain::GeoPoint at, const std::string& how) {
  l.point = at;
  l.located_by = how;
  l.confidence = how == "alias" ? 0.9 : 1.0;
}

// A nullable number as a statement parameter: text with full precision, or SQL NULL.
struct NumParam {
  std::string text;
  bool null{true};
  explicit NumParam(std::optional<double> v) {
    if (v) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", *v);
      text = buf;
      null = false;
    }
  }
  const char* get() const { return null ? nullptr : text.c_str(); }
};

// round(s::numeric, 3) of a float4 similarity as the locate statement writes it: the float's
// six significant digits (float4 → numeric), then rounded half away from zero.
double round3(float s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(s));
  const std::string_view t(buf);
  const auto dot = t.find('.');
  if (t.find('e') != std::string_view::npos) return std::round(static_cast<double>(s) * 1000.0) / 1000.0;
  long k = std::stol(std::string(t.substr(0, dot))) * 1000;
  if (dot != std::string_view::npos) {
    std::string frac(t.substr(dot + 1));
    frac.resize(4, '0');
    k += std::stol(frac.substr(0, 3)) + (frac[3] >= '5' ? 1 : 0);
  }
  return static_cast<double>(k) / 1000.0;
}

// A fuzzy address candidate as the decision and the kept list need it.
struct FuzzyCandidate {
  domain::fusion::AddressCandidate scored;
  domain::GeoPoint at;
};

// The fuzzy decision (domain::fusion::decide_address) applied: the best candidate locates the
// alert when it is good enough; an ambiguous list is kept (as JSON text) for the operator.
void apply_fuzzy(Located& l, const std::vector<FuzzyCandidate>& cands, std::string candidates_json,
                 const domain::fusion::AddressRule& rule) {
  std::vector<domain::fusion::AddressCandidate> scored;
  for (const auto& c : cands) scored.push_back(c.scored);
  const auto d = domain::fusion::decide_address(scored, rule);
  if (d.ambiguous) l.candidates = std::move(candidates_json);
  if (d.use) {
    l.point = cands[0].at;
    l.located_by = "fuzzy";
    l.confidence = d.confidence;
    l.address_id = cands[0].scored.id;
  }
}

// The fuzzy match from memory: the five best addresses at or above 0.2, as the statement's.
void fuzzy_from_memory(Located& l, const domain::reference::Addresses& addresses, const std::string& norm,
                       const domain::fusion::AddressRule& rule) {
  std::vector<FuzzyCandidate> cands;
  std::string json;
  JsonWriter jw(json);
  jw.begin_array();
  for (const auto& m : addresses.fuzzy(norm, 5, 0.2)) {
    cands.push_back({{m.address->id, round3(m.score)}, m.address->at});
    jw.begin_object();
    jw.key("address_id").string(m.address->id).key("text").string(m.address->text);
    jw.key("score").number(cands.back().scored.score);
    jw.key("lon").number(m.address->at.lon).key("lat").number(m.address->at.lat);
    jw.key("alias");
    m.alias.empty() ? jw.null() : jw.string(m.alias);
    jw.end_object();
  }
  jw.end_array();
  if (!cands.empty()) apply_fuzzy(l, cands, std::move(json), rule);
}

domain::fusion::AddressRule address_rule(const LocateOptions& o) {
  return {o.address_min_score, o.address_sure_score, 0.1};
}

// How sure a place found by the subject's or by the caller's home is.
constexpr double kSubjectConfidence = 0.7, kCallerConfidence = 0.5;

// The subject's home (by phone, else by identity number), else the caller's (by phone), as
// the locate statement's `sp` and `cp` joins find them; for an alert that nothing else placed.
void find_home(Located& l, const domain::AlertInput& a, const ReferenceIndex& ref) {
  const auto by_phone = [&](const std::optional<std::string>& given) -> const domain::reference::Address* {
    const auto phone = given ? domain::normalize_phone(*given) : std::string();
    return phone.empty() ? nullptr : ref.homes->by_phone(phone, *ref.addresses);
  };
  const auto* home = a.subject ? by_phone(a.subject->phone) : nullptr;
  if (!home && a.subject && a.subject->id_number) home = ref.homes->by_id_number(*a.subject->id_number, *ref.addresses);
  const bool subject = home != nullptr;
  if (!home && a.caller) home = by_phone(a.caller->phone);
  if (!home) return;
  l.point = home->at;
  l.located_by = subject ? "subject" : "caller_phone";
  l.confidence = subject ? kSubjectConfidence : kCallerConfidence;
  l.address_id = home->id;
}

// The owner of a located point from memory: a zone that covers it; else, when no zone can be
// within the nearest-zone distance, none (the owner statement would find none either); else
// false, for that statement.
bool own_from_memory(const ReferenceIndex& ref, Located& l, int nearest_zone_m) {
  const auto* z = ref.zones->covering(*l.point);
  if (!z && ref.zones->maybe_within(*l.point, nearest_zone_m)) return false;
  l.zone_id = z ? z->id : std::string();
  l.station_id = z ? z->station_id : std::string();
  l.owner_flag = z ? std::string() : "no_zone";
  const auto* g = ref.grids->covering(*l.point);
  l.grid_id = g ? g->id : std::string();
  return true;
}

// What memory gives of the locate statement's marker, address (exact, alias, fuzzy), subject
// and caller branches and of its owner joins. Not settled: the statement decides (the fuzzy
// match when this machine cannot reproduce the database's pg_trgm, the homes when they are not
// loaded); an owner not found: the owner statement (the nearest zone).
PreLocated memory_locate(const domain::AlertInput& a, const ReferenceIndex& ref, const LocateOptions& options) {
  PreLocated out;
  auto& l = out.located;
  const domain::reference::Address* addr = nullptr;
  std::string how = "address";
  const auto norm = a.address ? domain::normalize_address(*a.address) : std::string();
  if (!norm.empty()) {
    addr = ref.addresses->exact(norm);
    if (!addr && (addr = ref.addresses->alias(norm))) how = "alias";
  }
  if (addr) l.address_id = addr->id;
  const domain::reference::Marker* m = a.location || !a.marker ? nullptr : ref.marker(*a.marker);
  if (a.location) {
    settle(l, *a.location, "location");
  } else if (m) {
    settle(l, m->at, "marker");
  } else if (addr) {
    settle(l, addr->at, how);
  } else if (!norm.empty() && !ref.addresses->fuzzy_ready()) {
    return out;
  } else {
    if (!norm.empty()) {
      fuzzy_from_memory(l, *ref.addresses, norm, address_rule(options));
      out.text_done = true;
    }
    // Not placed by its text: the subject's home, else the caller's.
    if (!l.point && !ref.homes) return out;
    if (!l.point) find_home(l, a, ref);
  }
  out.settled = true;
  out.owned = l.point && own_from_memory(ref, l, options.nearest_zone_m);
  return out;
}

}  // namespace

PreLocated prelocate(const domain::AlertInput& alert, std::shared_ptr<const ReferenceIndex> picture,
                     const LocateOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto out = memory_locate(alert, *picture, options);
  out.picture = std::move(picture);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

// Locates the alerts (docs/architecture.md "Fusion": location, marker, address exact, alias,
// fuzzy, subject, caller phone) and finds the owner of each located point.
std::vector<Located> locate_alerts(pqxx::transaction_base& w, const std::vector<const domain::AlertInput*>& batch,
                                   const std::vector<bool>& inserted, const LocateOptions& options,
                                   const ReferenceIndex* ref, const std::vector<const PreLocated*>& pre) {
  const std::size_t count = batch.size();
  std::vector<Located> out(count);
  std::vector<bool> owned(count, false);
  // From memory what it settles (memory_locate, or its result worked out ahead with this same
  // picture); the rest goes to the statement, without the address text when memory matched it
  // every way.
  const auto rule = address_rule(options);
  std::vector<bool> ask = inserted;
  std::vector<bool> text_done(count, false);
  if (ref) {
    for (std::size_t i = 0; i < count; ++i) {
      if (!inserted[i]) continue;
      const auto* ahead = worked_out_with(pre, i, ref);
      auto step = ahead ? *ahead : memory_locate(*batch[i], *ref, options);
      out[i] = std::move(step.located);
      ask[i] = !step.settled;
      owned[i] = step.owned;
      text_done[i] = step.text_done;
    }
  }
  std::string input;
  {
    JsonWriter jw(input);
    jw.begin_array();
    for (std::size_t i = 0; i < count; ++i) {
      if (!ask[i]) continue;
      const auto& a = *batch[i];
      jw.begin_object();
      jw.key("idx").integer(static_cast<std::int64_t>(i));
      lon_lat(jw, a.location);
      text_or_null(jw, "marker", &a.marker);
      optional_text(jw, "addr", a.address && !text_done[i] ? domain::normalize_address(*a.address) : std::string());
      optional_text(jw, "subject_phone",
                    a.subject && a.subject->phone ? domain::normalize_phone(*a.subject->phone) : std::string());
      text_or_null(jw, "subject_id", a.subject ? &a.subject->id_number : nullptr);
      optional_text(jw, "caller_phone",
                    a.caller && a.caller->phone ? domain::normalize_phone(*a.caller->phone) : std::string());
      jw.end_object();
    }
    jw.end_array();
  }
  const bool asking = std::find(ask.begin(), ask.end(), true) != ask.end();
  for (const auto& r : asking ? w.exec_prepared("xn_locate", input, options.address_min_score, options.nearest_zone_m)
                              : pqxx::result()) {
    const auto i = r[0].as<std::size_t>();
    auto& l = out[i];
    const auto& a = *batch[i];
    if (!r[5].is_null()) l.address_id = r[5].as<std::string>();
    if (a.location) {
      settle(l, *a.location, "location");
    } else if (r[1].as<bool>()) {
      settle(l, *point_of(r[2], r[3]), "marker");
    } else if (!r[5].is_null()) {
      settle(l, *point_of(r[6], r[7]), r[8].as<std::string>());
    }
    if (l.point) {
      apply_owner(l, r, 16);
      owned[i] = true;
    }
    if (!l.point && !r[9].is_null()) {
      std::vector<FuzzyCandidate> cands;
      for (const auto& c : nlohmann::json::parse(r[9].as<std::string>())) {
        cands.push_back({{c["address_id"].get<std::string>(), c["score"].get<double>()},
                         {c["lon"].get<double>(), c["lat"].get<double>()}});
      }
      apply_fuzzy(l, cands, r[9].as<std::string>(), rule);
    }
    if (!l.point && !r[10].is_null()) {
      l.point = point_of(r[11], r[12]);
      l.located_by = "subject";
      l.confidence = kSubjectConfidence;
      l.address_id = r[10].as<std::string>();
    }
    if (!l.point && !r[13].is_null()) {
      l.point = point_of(r[14], r[15]);
      l.located_by = "caller_phone";
      l.confidence = kCallerConfidence;
      l.address_id = r[13].as<std::string>();
    }
  }
  struct OwnerQuery {
    std::size_t idx;
    domain::GeoPoint at;
  };
  std::vector<OwnerQuery> owners;
  // (The points the statement found by a fuzzy text, a subject or a caller: from memory when
  // it can, saving the owner statement's round trip.)
  for (std::size_t i = 0; i < count; ++i) {
    if (out[i].point && !owned[i] && !(ref && own_from_memory(*ref, out[i], options.nearest_zone_m)))
      owners.push_back({i, *out[i].point});
  }
  if (!owners.empty()) {
    std::string in;
    JsonWriter jw(in);
    jw.begin_array();
    for (const auto& o : owners) {
      jw.begin_object();
      jw.key("idx").integer(static_cast<std::int64_t>(o.idx));
      jw.key("lon").number(o.at.lon).key("lat").number(o.at.lat);
      jw.end_object();
    }
    jw.end_array();
    for (const auto& r : w.exec_prepared("xn_owner", in, options.nearest_zone_m)) apply_owner(out[r[0].as<std::size_t>()], r);
  }
  return out;
}


Located owner_of(pqxx::transaction_base& w, domain::GeoPoint at, int nearest_zone_m) {
  std::string in;
  JsonWriter jw(in);
  jw.begin_array().begin_object();
  jw.key("idx").integer(0).key("lon").number(at.lon).key("lat").number(at.lat);
  jw.end_object().end_array();
  Located l;
  l.point = at;
  l.owner_flag = "no_zone";
  for (const auto& r : w.exec_prepared("xn_owner", in, nearest_zone_m)) apply_owner(l, r);
  return l;
}

FusionOptions fusion_options(const config::Fusion& f) {
  return FusionOptions{f.cameras_max,      f.camera_radius_m, f.units_max,   f.unit_max_age_s,
                       f.history_radius_m, f.history_days,    f.history_max, f.household_max};
}

LocateOptions locate_options(const config::Fusion& f) {
  return LocateOptions{f.nearest_zone_m, f.address_min_score_pct / 100.0, f.address_sure_score_pct / 100.0};
}

// The merge locks (domain::fusion::merge_locks): the global key 7384001 exclusively, or shared
// and then the cell keys (7384003, cell) in the ascending order of the array. The cell locks are
// taken in the aggregate, row by row after the one row of `g` (the global key) was read.
constexpr const char* merge_lock_sql = "SELECT pg_advisory_xact_lock(7384001)";
constexpr const char* merge_cells_sql = R"sql(
WITH g AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(7384001))
SELECT count(pg_advisory_xact_lock(7384003, u.k)) FROM g, unnest($1::int4[]) WITH ORDINALITY AS u(k, n)
)sql";

void prepare_fusion(pqxx::connection& c) {
  c.prepare("xn_locate", locate_sql());
  c.prepare("xn_owner", owner_sql());
  c.prepare("xn_merge_lock", merge_lock_sql);
  c.prepare("xn_merge_cells", merge_cells_sql);
  c.prepare("xn_fuse_incidents", fuse_incidents_sql);
  c.prepare("xn_fuse_parts", fuse_parts_sql(true));
  c.prepare("xn_fuse_parts_nocam", fuse_parts_sql(false));
  c.prepare("xn_near", near_parts_sql(false, false));
  c.prepare("xn_near_parts", near_parts_sql(true, true));
  c.prepare("xn_near_parts_nocam", near_parts_sql(true, false));
  c.prepare("xn_fuse_store", fuse_store_sql);
  c.prepare("xn_append", append_events_sql);
}

namespace {

using detail::string_array;

std::vector<std::string> strings_of(const pqxx::field& f) {
  return json::parse(f.as<std::string>()).get<std::vector<std::string>>();
}

// Subjects' phones are compared in their normal form, as import stored the residents'.
std::vector<std::string> normal_subject_phones(const FuseInput& inc) {
  std::vector<std::string> out;
  for (const auto& p : inc.subject_phones) {
    auto norm = domain::normalize_phone(p);
    if (!norm.empty()) out.push_back(std::move(norm));
  }
  return out;
}

bool household_in_memory(const ReferenceIndex* ref) { return ref && ref->homes && ref->homes->households(); }

// The household rows the parts list ($5, and memory alike): twice the residents kept, as a
// person at the incident's address and at a subject's home is listed twice and kept once.
int household_rows(const FusionOptions& o) { return o.household_max * 2; }

}  // namespace

void write_fuse_input(JsonWriter& pw, const FuseInput& inc, bool draw, const ReferenceIndex* ref) {
  const auto subject_phones = normal_subject_phones(inc);
  pw.key("id").string(inc.id);
  lon_lat(pw, inc.at);
  optional_text(pw, "address_id", inc.address_id);
  pw.key("received").string(domain::format_rfc3339(inc.received_at));
  pw.key("markers").raw(string_array(inc.markers));
  pw.key("caller_phones").raw(string_array(inc.caller_phones));
  pw.key("subject_phones").raw(string_array(subject_phones));
  pw.key("subject_ids").raw(string_array(inc.subject_ids));
  pw.key("draw").boolean(draw);
  pw.key("household").boolean(!household_in_memory(ref));
}

PartsFound parts_found(const pqxx::row& r, int first) {
  PartsFound f;
  for (int k = 0; k < 4; ++k) f.parts[static_cast<std::size_t>(k)] = str(r[first + k]);
  f.stale_units = r[first + 4].is_null() ? 0 : r[first + 4].as<int>();
  f.serial = r[first + 5].is_null() ? 0 : r[first + 5].as<std::int64_t>();
  return f;
}

pqxx::result near_parts(pqxx::transaction_base& w, detail::Deferred& d, const std::string& input,
                        const FusionOptions* parts, const ReferenceIndex* ref, int merge_radius_m,
                        int merge_window_s) {
  if (!parts) return d.exec(w, "xn_near", input, merge_radius_m, merge_window_s);
  const auto& o = *parts;
  return d.exec(w, ref ? "xn_near_parts_nocam" : "xn_near_parts", input, o.camera_radius_m, o.cameras_max * 3,
                o.units_max, household_rows(o), o.history_radius_m, o.history_days, o.history_max,
                o.history_max * 2, o.unit_max_age_s, merge_radius_m, merge_window_s);
}

std::vector<PartsFound> read_parts(pqxx::transaction_base& w, const std::vector<FuseInput>& incidents,
                                   const FusionOptions& o, const ReferenceIndex* ref, bool draw) {
  std::vector<PartsFound> found(incidents.size());
  if (incidents.empty()) return found;
  std::string parts_param;
  {
    JsonWriter pw(parts_param);
    pw.begin_array();
    for (std::size_t n = 0; n < incidents.size(); ++n) {
      pw.begin_object();
      pw.key("idx").integer(static_cast<std::int64_t>(n));
      write_fuse_input(pw, incidents[n], draw && incidents[n].draw_serial, ref);
      pw.end_object();
    }
    pw.end_array();
  }
  // Cameras, units, household and history of every incident in one statement.
  for (const auto& r : w.exec_prepared(ref ? "xn_fuse_parts_nocam" : "xn_fuse_parts", parts_param, o.camera_radius_m,
                                       o.cameras_max * 3,
                                       o.units_max, household_rows(o), o.history_radius_m, o.history_days,
                                       o.history_max, o.history_max * 2, o.unit_max_age_s))
    found.at(r[0].as<std::size_t>()) = parts_found(r, 1);
  return found;
}

std::vector<Fused> fuse_parts(pqxx::transaction_base& w, const std::vector<FuseInput>& incidents,
                              const FusionOptions& o, const std::string& now_text,
                              std::vector<HistoryEntry> peers, const ReferenceIndex* ref, const NumberOf& number_of) {
  return rank_parts(incidents, read_parts(w, incidents, o, ref, static_cast<bool>(number_of)), o, now_text,
                    std::move(peers), ref, number_of);
}

namespace {

// History: [id, number, category, status, received_at, reasons], most recent first.
struct HistoryRow {
  std::string id, number, category, status, received;
  std::vector<std::string> reasons;
};

}  // namespace

std::vector<Fused> rank_parts(const std::vector<FuseInput>& incidents, std::vector<PartsFound> found,
                              const FusionOptions& o, const std::string& now_text, std::vector<HistoryEntry> peers,
                              const ReferenceIndex* ref, const NumberOf& number_of) {
  std::vector<Fused> out;
  out.reserve(incidents.size());
  // The new incidents are numbered now; the peers are they, first and in the same order.
  if (number_of) {
    for (std::size_t n = 0; n < incidents.size(); ++n) {
      if (!incidents[n].draw_serial) continue;
      auto number = number_of(n, found[n].serial);
      if (n < peers.size()) peers[n].number = std::move(number);
    }
  }

  for (std::size_t n = 0; n < incidents.size(); ++n) {
    const auto& inc = incidents[n];
    const auto& id = inc.id;
    const auto& at = inc.at;
    const auto& part = found[n].parts;
    std::vector<HistoryRow> history;
    domain::each_json_row(part[3], [&](domain::JsonRow& r) {
      auto& h = history.emplace_back();
      h.id = r.next().string();
      h.number = r.next().string();
      h.category = r.next().string();
      h.status = r.next().string();
      h.received = r.next().string();
      h.reasons = r.next().strings();
    });
    // Incidents of the same intake batch are not in the table yet: the history rule is asked
    // about them, and they join the list in its order (newest first, then by id).
    if (!peers.empty()) {
      const domain::fusion::HistoryPeer self{id, inc.received_at, at, inc.address_id, inc.caller_phones};
      bool added = false;
      for (const auto& p : peers) {
        auto reasons = domain::fusion::history_reasons(self, p.peer, o.history_radius_m, o.history_days);
        if (reasons.empty()) continue;
        history.push_back({p.peer.id, p.number, p.category, p.status, domain::format_rfc3339(p.peer.received),
                           std::move(reasons)});
        added = true;
      }
      if (added) {
        std::stable_sort(history.begin(), history.end(), [](const HistoryRow& x, const HistoryRow& y) {
          const auto tx = domain::parse_rfc3339(x.received);
          const auto ty = domain::parse_rfc3339(y.received);
          if (tx != ty) return tx > ty;
          return x.id > y.id;
        });
        if (history.size() > static_cast<std::size_t>(o.history_max)) history.resize(static_cast<std::size_t>(o.history_max));
      }
    }

    // Cameras: the nearest online ones, then the markers' own (online) cameras, each with its
    // distance, from memory or from the statement ([id, name, stream_url, lon, lat, bearing,
    // fov, range, distance, marker]). Three times as many are looked at as are kept: they are
    // viewed where they lie (in memory, or in the rows read), not copied.
    struct CameraRow {
      std::string id, name;
      std::optional<std::string> stream_url;
      domain::fusion::CameraGeometry geometry;
      double distance_m;
      bool marker;
    };
    struct CameraView {
      std::string_view id, name;
      std::optional<std::string_view> stream_url;
      domain::fusion::CameraGeometry geometry;
    };
    std::vector<CameraRow> rows;
    domain::each_json_row(part[0], [&](domain::JsonRow& r) {
      auto& c = rows.emplace_back();
      c.id = r.next().string();
      c.name = r.next().string();
      c.stream_url = r.next().string_or_null();
      c.geometry.at.lon = r.next().number();
      c.geometry.at.lat = r.next().number();
      auto& b = r.next();
      if (!b.null()) c.geometry.bearing_deg = b.number();
      c.geometry.fov_deg = r.next().number();
      c.geometry.range_m = r.next().number();
      c.distance_m = r.next().number();
      c.marker = r.next().boolean();
    });
    std::vector<domain::fusion::CameraHit> hits;
    std::vector<CameraView> views;
    const auto add_camera = [&](const CameraView& v, double distance, bool marker) {
      auto existing = std::find_if(hits.begin(), hits.end(), [&](const auto& h) { return h.id == v.id; });
      if (existing != hits.end()) {
        existing->marker_camera = existing->marker_camera || marker;
        return;
      }
      hits.push_back({std::string(v.id), distance, domain::fusion::in_view(v.geometry, *at), marker});
      views.push_back(v);
    };
    if (ref && at) {
      const auto from_memory = [&](const domain::reference::Camera& c, double distance, bool marker) {
        add_camera({c.id, c.name, c.stream_url.empty() ? std::nullopt : std::optional<std::string_view>(c.stream_url),
                    {c.at, c.bearing_deg, c.fov_deg, c.range_m}},
                   distance, marker);
      };
      for (const auto& near : ref->cameras->nearest_online(*at, o.camera_radius_m, static_cast<std::size_t>(o.cameras_max) * 3))
        from_memory(*near.camera, near.distance_m, false);
      for (const auto& code : inc.markers) {
        const auto* m = ref->marker(code);
        const auto* c = m && !m->camera_id.empty() ? ref->cameras->find(m->camera_id) : nullptr;
        if (c && c->online) from_memory(*c, domain::fusion::distance_m(*at, c->at), true);
      }
    }
    for (const auto& c : rows) add_camera({c.id, c.name, c.stream_url, c.geometry}, c.distance_m, c.marker);
    domain::fusion::rank_cameras(hits, static_cast<std::size_t>(o.cameras_max));

    // Household: [person id, flags, via]; person ids and flags only (names and phones are
    // joined, masked, at read time).
    std::vector<domain::fusion::Resident> residents;
    std::map<std::string, std::string> via;
    if (household_in_memory(ref)) {
      for (auto& m : ref->homes->household(inc.address_id, normal_subject_phones(inc), inc.subject_ids,
                                           static_cast<std::size_t>(household_rows(o))))
        if (via.emplace(m.person_id, std::move(m.via)).second) residents.push_back({std::move(m.person_id), std::move(m.flags)});
    }
    domain::each_json_row(part[2], [&](domain::JsonRow& r) {
      auto pid = r.next().string();
      auto flags = r.next().strings();
      auto how = r.next().string();
      if (via.emplace(pid, std::move(how)).second) residents.push_back({std::move(pid), std::move(flags)});
    });
    domain::fusion::order_residents(residents);
    if (residents.size() > static_cast<std::size_t>(o.household_max)) residents.resize(o.household_max);
    int vulnerable = 0;
    for (const auto& p : residents)
      if (domain::fusion::vulnerability_rank(p.flags) == 0) ++vulnerable;
    const int stale_skipped = found[n].stale_units;

    // The stored fusion and the event's data, written as text with the keys in sorted order
    // (the same text a nlohmann::json object would dump, without building one).
    std::string fusion, data;
    fusion.reserve(2048);
    data.reserve(512);
    JsonWriter f(fusion), d(data);
    f.begin_object().key("cameras").begin_array();
    d.begin_object().key("cameras").begin_array();
    for (const auto& h : hits) {
      const auto& c = *std::find_if(views.begin(), views.end(), [&](const CameraView& v) { return v.id == h.id; });
      f.begin_object();
      f.key("bearing_deg");
      c.geometry.bearing_deg ? f.number(*c.geometry.bearing_deg) : f.null();
      f.key("distance_m").number(round1(h.distance_m));
      f.key("fov_deg").number(c.geometry.fov_deg);
      f.key("id").string(h.id);
      f.key("in_view").boolean(h.in_view);
      f.key("marker_camera").boolean(h.marker_camera);
      f.key("name").string(c.name);
      f.key("range_m").number(c.geometry.range_m);
      f.optional_string("stream_url", c.stream_url);
      f.end_object();
      d.string(h.id);
    }
    d.end_array().key("fused_at").string(now_text).key("history").begin_array();
    // History: [id, number, category, status, received_at, reasons], most recent first.
    f.end_array().key("history").begin_array();
    for (const auto& h : history) {
      f.begin_object();
      f.key("category").string(h.category);
      f.key("id").string(h.id);
      f.key("number").string(h.number);
      f.key("reasons").begin_array();
      for (const auto& r : h.reasons) f.string(r);
      f.end_array();
      f.key("received_at").string(h.received);
      f.key("status").string(h.status);
      f.end_object();
      d.string(h.id);
    }
    f.end_array().key("household").begin_array();
    for (const auto& p : residents) {
      f.begin_object().key("flags").begin_array();
      for (const auto& flag : p.flags) f.string(flag);
      f.end_array().key("person_id").string(p.id).key("via").string(via[p.id]).end_object();
    }
    d.end_array().key("household_count").integer(static_cast<std::int64_t>(residents.size()));
    d.key("incident_id").string(id).key("units").begin_array();
    // Units: [id, call_sign, kind, station, distance, position age], nearest first, fresh.
    f.end_array().key("units").begin_array();
    domain::each_json_row(part[1], [&](domain::JsonRow& r) {
      const auto unit = r.next().string();
      const auto call_sign = r.next().string();
      const auto kind = r.next().string();
      const auto station = r.next().string();
      const auto distance = round1(r.next().number());
      const auto age = std::round(r.next().number());
      f.begin_object();
      f.key("call_sign").string(call_sign);
      f.key("distance_m").number(distance);
      f.key("id").string(unit);
      f.key("kind").string(kind);
      f.key("position_age_s").number(age);
      f.key("station_id").string(station);
      f.end_object();
      d.begin_object().key("distance_m").number(distance).key("id").string(unit).end_object();
    });
    f.end_array().key("units_stale_skipped").integer(stale_skipped).end_object();
    d.end_array().key("units_stale_skipped").integer(stale_skipped).key("vulnerable_count").integer(vulnerable).end_object();
    out.push_back({id, std::move(fusion), {"incident.fused", id, inc.category, inc.station, std::move(data)}});
  }
  return out;
}

namespace {

// What fuse_incidents does inside its transaction: read what the incidents are, their parts,
// the store of the results queued in `deferred`; returns the events, not yet appended.
std::vector<NewEvent> fuse_in(pqxx::transaction_base& w, const std::vector<std::string>& requested_ids,
                              const FusionOptions& o, const std::string& now_text, detail::Deferred& deferred) {
  // Each incident once, in the order asked (unknown ids are simply not returned).
  std::vector<std::string> ids;
  for (const auto& id : requested_ids) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  std::vector<FuseInput> incidents;
  for (const auto& r : deferred.exec(w, "xn_fuse_incidents", string_array(ids))) {
    FuseInput inc;
    inc.id = r[0].as<std::string>();
    inc.category = r[1].as<std::string>();
    inc.station = r[2].as<std::string>();
    inc.at = point_of(r[3], r[4]);
    inc.address_id = str(r[5]);
    inc.received_at = domain::parse_rfc3339(r[6].as<std::string>()).value_or(domain::TimePoint{});
    inc.markers = strings_of(r[7]);
    inc.caller_phones = strings_of(r[8]);
    inc.subject_phones = strings_of(r[9]);
    inc.subject_ids = strings_of(r[10]);
    incidents.push_back(std::move(inc));
  }
  std::sort(incidents.begin(), incidents.end(), [&](const FuseInput& a, const FuseInput& b) {
    return std::find(ids.begin(), ids.end(), a.id) < std::find(ids.begin(), ids.end(), b.id);
  });
  std::vector<NewEvent> events;
  if (incidents.empty()) return events;
  std::string stored;
  JsonWriter stw(stored);
  stw.begin_array();
  for (auto& f : fuse_parts(w, incidents, o, now_text)) {
    stw.begin_object();
    stw.key("id").string(f.id);
    stw.key("fusion").raw(f.fusion);
    stw.end_object();
    events.push_back(std::move(f.event));
  }
  stw.end_array();
  deferred.add(w, "xn_fuse_store", stored, now_text);
  return events;
}

}  // namespace

std::vector<domain::Frame> fuse_incidents(pqxx::connection& c, const std::vector<std::string>& incident_ids,
                                          const FusionOptions& o) {
  prepare_fusion(c);
  const auto now_text = domain::format_rfc3339(domain::now_utc());
  pqxx::work w(c);
  detail::Deferred deferred;
  const auto events = fuse_in(w, incident_ids, o, now_text, deferred);
  std::int64_t last = 0;
  if (!events.empty())
    last = deferred.exec(w, "xn_append", events_param(events), static_cast<std::int64_t>(events.size()), now_text)
               .at(0)[0]
               .as<std::int64_t>();
  deferred.flush(w);
  w.commit();
  return event_frames(events, last, now_text);
}

// ---- the worker ---------------------------------------------------------------------------

FusionWorker::FusionWorker(std::string conninfo, int statement_timeout_ms, FusionOptions options, FrameSink sink,
                           std::function<void(double)> observe, int sweep_interval_s, std::size_t queue_limit)
    : conninfo_(std::move(conninfo)),
      statement_timeout_ms_(statement_timeout_ms),
      options_(options),
      sink_(std::move(sink)),
      observe_(std::move(observe)),
      sweep_interval_s_(sweep_interval_s),
      queue_limit_(queue_limit),
      thread_([this] {
        log::name_thread("xn-fusion");
        run();
      }) {}

FusionWorker::~FusionWorker() { stop(); }

void FusionWorker::enqueue(std::vector<std::string> incident_ids) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    for (auto& id : incident_ids) {
      if (queue_.size() >= queue_limit_) {
        log::warn("fusion.queue_full", {{"dropped", incident_ids.size()}});
        break;
      }
      queue_.push_back(std::move(id));
    }
  }
  cv_.notify_one();
}

std::size_t FusionWorker::queue_depth() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

void FusionWorker::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// Open incidents of the last day that no fusion reached, oldest first. Ten seconds of grace
// leave the normal path its chance; the advisory lock keeps two instances from sweeping at the
// same moment (a rare double fusion would only repeat an idempotent result and its event).
constexpr const char* sweep_sql = R"sql(
SELECT id::text FROM incidents
WHERE pg_try_advisory_xact_lock(7384002)
  AND unfused AND status NOT IN ('closed', 'cancelled')
  AND created_at > now() - interval '1 day' AND created_at < now() - interval '10 seconds'
ORDER BY created_at
LIMIT $1
)sql";

bool FusionWorker::sweep(std::unique_ptr<pqxx::connection>& conn) {
  try {
    if (!conn) conn = open_connection(conninfo_, statement_timeout_ms_, true);
    std::vector<std::string> ids;
    {
      pqxx::work w(*conn);
      for (const auto& r : w.exec_params(sweep_sql, static_cast<long long>(std::min<std::size_t>(queue_limit_, 1000))))
        ids.push_back(r[0].as<std::string>());
      w.commit();
    }
    if (!ids.empty()) {
      log::info("fusion.sweep", {{"incidents", ids.size()}});
      std::lock_guard lk(mu_);
      for (auto& id : ids) queue_.push_back(std::move(id));
    }
    return true;
  } catch (const std::exception& e) {
    if (is_connection_error(e)) conn.reset();
    log::warn("fusion.sweep_failed", {{"error", e.what()}});
    return false;
  }
}

void FusionWorker::run() {
  using clock = std::chrono::steady_clock;
  std::unique_ptr<pqxx::connection> conn;
  // The first sweep comes shortly after start: what a crash left unfused is picked up then.
  auto next_sweep = clock::now() + std::chrono::seconds(2);
  for (;;) {
    std::vector<std::string> ids;
    bool due = false;
    {
      std::unique_lock lk(mu_);
      const auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (sweep_interval_s_ > 0) {
        due = !cv_.wait_until(lk, next_sweep, ready);
      } else {
        cv_.wait(lk, ready);
      }
      if (stopping_ && queue_.empty()) return;
      // Up to 64 incidents share one transaction and one event append.
      while (!queue_.empty() && ids.size() < 64) {
        ids.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (due) {
      next_sweep = clock::now() + std::chrono::seconds(sweep_interval_s_);
      sweep(conn);
      continue;
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int attempt = 1; attempt <= 3; ++attempt) {
      try {
        if (!conn) conn = open_connection(conninfo_, statement_timeout_ms_, true);
        const auto started = clock::now();
        auto frames = fuse_incidents(*conn, ids, options_);
        if (observe_) {
          const double s = std::chrono::duration<double>(clock::now() - started).count();
          for (std::size_t i = 0; i < ids.size(); ++i) observe_(s / static_cast<double>(ids.size()));
        }
        if (!frames.empty()) sink_(std::move(frames));
        break;
      } catch (const std::exception& e) {
        if (is_connection_error(e)) conn.reset();
        log::warn("fusion.failed", {{"attempt", attempt}, {"incidents", ids.size()}, {"error", e.what()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
      }
    }
  }
}

// ---- operator changes ---------------------------------------------------------------------

namespace {

struct Visible {
  std::string station_id;
  std::string category;
  std::string number;
};

// Locks the incident row and checks that the caller may see it (else "unknown").
domain::Result<Visible> lock_visible(
    pqxx::work& w, const std::string& id,
    const std::function<bool(const std::string&, const std::vector<std::string>&)>& may_see) {
  const auto r = w.exec_params(
      "SELECT coalesce(station_id, ''), category, number,"
      " array_to_json(ARRAY(SELECT station_id FROM incident_shares s WHERE s.incident_id = i.id))::text"
      " FROM incidents i WHERE id = $1::uuid FOR UPDATE",
      id);
  if (r.empty()) return Error{ErrorKind::not_found, "no incident with this id", "id"};
  const auto shares = json::parse(r[0][3].as<std::string>()).get<std::vector<std::string>>();
  Visible v{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<std::string>()};
  if (!may_see(v.station_id, shares)) return Error{ErrorKind::not_found, "no incident with this id", "id"};
  return v;
}

constexpr const char* set_location_sql = R"sql(
UPDATE incidents SET location = ST_SetSRID(ST_MakePoint($2, $3), 4326), address_id = $4, located_by = $5,
       location_confidence = $6, location_candidates = NULL, needs_location = false, station_id = $7,
       zone_id = $8, grid_id = $9, owner_flag = $10, updated_at = $11::timestamptz
WHERE id = $1::uuid
)sql";

const char* or_null(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::string located_data(const std::string& id, const std::string& number, const Located& l,
                         const std::string& previous_station) {
  json d = {{"incident_id", id},
            {"number", number},
            {"location", {{"lon", l.point->lon}, {"lat", l.point->lat}}},
            {"located_by", l.located_by},
            {"address_id", l.address_id.empty() ? json(nullptr) : json(l.address_id)},
            {"station_id", l.station_id.empty() ? json(nullptr) : json(l.station_id)},
            {"zone_id", l.zone_id.empty() ? json(nullptr) : json(l.zone_id)},
            {"grid_id", l.grid_id.empty() ? json(nullptr) : json(l.grid_id)},
            {"owner_flag", l.owner_flag.empty() ? json(nullptr) : json(l.owner_flag)},
            {"previous_station_id", previous_station.empty() ? json(nullptr) : json(previous_station)}};
  return d.dump();
}

}  // namespace

domain::Result<IncidentChange> relocate_incident(
    pqxx::connection& c, const std::string& incident_id, const Relocation& req, int nearest_zone_m,
    const std::function<bool(const std::string&, const std::vector<std::string>&)>& may_see) {
  prepare_fusion(c);
  const auto now_text = domain::format_rfc3339(domain::now_utc());
  pqxx::work w(c);
  auto v = lock_visible(w, incident_id, may_see);
  if (!v) return v.error();
  domain::GeoPoint at{};
  if (req.location) {
    at = *req.location;
  } else {
    const auto a = w.exec_params("SELECT ST_X(geog::geometry), ST_Y(geog::geometry) FROM addresses WHERE id = $1",
                                 req.address_id);
    if (a.empty()) return Error{ErrorKind::invalid_field, "no standard address with this id", "address_id"};
    at = {a[0][0].as<double>(), a[0][1].as<double>()};
  }
  auto l = owner_of(w, at, nearest_zone_m);
  l.located_by = "manual";
  l.confidence = 1.0;
  l.address_id = req.location ? std::string() : req.address_id;
  w.exec_params0(set_location_sql, incident_id, at.lon, at.lat, or_null(l.address_id), l.located_by, l.confidence,
                 or_null(l.station_id), or_null(l.zone_id), or_null(l.grid_id), or_null(l.owner_flag), now_text);
  std::vector<NewEvent> events{
      {"incident.located", incident_id, v->category, l.station_id, located_data(incident_id, v->number, l, v->station_id)}};
  const auto last = append_events(w, events, now_text);
  w.commit();
  IncidentChange out;
  out.incident_ids = {incident_id};
  out.frames = event_frames(events, last, now_text);
  return out;
}

domain::Result<IncidentChange> split_alert(
    pqxx::connection& c, const std::string& incident_id, const std::string& alert_id, const LocateOptions& lo,
    int utc_offset_minutes,
    const std::function<bool(const std::string&, const std::vector<std::string>&)>& may_see) {
  prepare_fusion(c);
  const auto now_text = domain::format_rfc3339(domain::now_utc());
  pqxx::work w(c);
  auto v = lock_visible(w, incident_id, may_see);
  if (!v) return v.error();
  const auto rows = w.exec_params(
      "SELECT id::text, source, source_ref, (extract(epoch FROM received_at) * 1000000)::bigint, category, priority,"
      " caller_phone, caller_name, ST_X(location), ST_Y(location), address, marker, subject_phone,"
      " subject_id_number, description FROM alerts WHERE incident_id = $1::uuid ORDER BY received_at, id",
      incident_id);
  std::size_t k = 0;
  while (k < rows.size() && rows[k][0].as<std::string>() != alert_id) ++k;
  if (k == rows.size()) return Error{ErrorKind::not_found, "no alert with this id in this incident", "alert_id"};
  if (k == 0) return Error{ErrorKind::conflict, "the incident's first alert cannot be split out of it", "alert_id"};
  const auto& r = rows[k];
  const auto opt = [](const pqxx::field& f) { return f.is_null() ? std::nullopt : std::optional(f.as<std::string>()); };
  domain::AlertInput a;
  a.source = r[1].as<std::string>();
  a.source_ref = r[2].as<std::string>();
  a.received_at = domain::TimePoint(std::chrono::microseconds(r[3].as<std::int64_t>()));
  a.category = r[4].as<std::string>();
  a.priority = r[5].as<int>();
  if (!r[6].is_null() || !r[7].is_null()) a.caller = domain::Caller{opt(r[6]), opt(r[7])};
  a.location = point_of(r[8], r[9]);
  a.address = opt(r[10]);
  a.marker = opt(r[11]);
  if (!r[12].is_null() || !r[13].is_null()) a.subject = domain::Subject{opt(r[12]), opt(r[13])};
  a.description = opt(r[14]);
  const auto l = locate_alerts(w, {&a}, {true}, lo)[0];

  const auto serial = w.exec("SELECT nextval('incident_serial')")[0][0].as<std::int64_t>();
  const auto number = domain::format_incident_number(a.received_at, serial, utc_offset_minutes);
  const auto new_id = domain::new_uuid();
  const auto received = domain::format_rfc3339(a.received_at);
  const NumParam plon(l.point ? std::optional(l.point->lon) : std::nullopt);
  const NumParam plat(l.point ? std::optional(l.point->lat) : std::nullopt);
  const NumParam conf(l.point ? std::optional(l.confidence) : std::nullopt);
  w.exec_params0(
      "INSERT INTO incidents (id, number, category, priority, received_at, location, address, description,"
      " created_at, updated_at, station_id, zone_id, grid_id, address_id, located_by, location_confidence,"
      " location_candidates, needs_location, owner_flag, alert_markers, alert_callers, alert_subject_phones,"
      " alert_subject_ids)"
      " SELECT $1::uuid, $2, $3, $4, $5::timestamptz,"
      " CASE WHEN $6::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($6, $7), 4326) END, $8, $9,"
      " $10::timestamptz, $10::timestamptz, $11, $12, $13, $14, $15, $16, $17::json, $18, $19,"
      " array_remove(ARRAY[a.marker], NULL), array_remove(ARRAY[a.caller_phone], NULL),"
      " array_remove(ARRAY[a.subject_phone], NULL), array_remove(ARRAY[a.subject_id_number], NULL)"
      " FROM alerts a WHERE a.id = $20::uuid",
      new_id, number, a.category, *a.priority, received, plon.get(), plat.get(), a.address ? a.address->c_str() : nullptr,
      a.description ? a.description->c_str() : nullptr, now_text, or_null(l.station_id), or_null(l.zone_id),
      or_null(l.grid_id), or_null(l.address_id), or_null(l.located_by),
      conf.get(), or_null(l.candidates), !l.point, or_null(l.owner_flag), alert_id);
  w.exec_params0("UPDATE alerts SET incident_id = $2::uuid, merged = false WHERE id = $1::uuid", alert_id, new_id);
  // The old incident's priority stays: it is the highest of what it received, a split does not
  // make the remaining alerts less urgent.
  // Its lists (018) are those of the alerts it keeps.
  w.exec_params0(
      "UPDATE incidents i SET alert_count = alert_count - 1, updated_at = $2::timestamptz,"
      " alert_markers = l.markers, alert_callers = l.callers, alert_subject_phones = l.subject_phones,"
      " alert_subject_ids = l.subject_ids"
      " FROM (SELECT coalesce(array_agg(DISTINCT marker) FILTER (WHERE marker IS NOT NULL), '{}') AS markers,"
      " coalesce(array_agg(DISTINCT caller_phone) FILTER (WHERE caller_phone IS NOT NULL), '{}') AS callers,"
      " coalesce(array_agg(DISTINCT subject_phone) FILTER (WHERE subject_phone IS NOT NULL), '{}') AS subject_phones,"
      " coalesce(array_agg(DISTINCT subject_id_number) FILTER (WHERE subject_id_number IS NOT NULL), '{}')"
      " AS subject_ids FROM alerts WHERE incident_id = $1::uuid) l"
      " WHERE i.id = $1::uuid",
      incident_id, now_text);
  const domain::OpenedIncident ids{alert_id, new_id, number, received, now_text, l.station_id,
                                   l.point ? &*l.point : nullptr, false};
  const json split = {{"alert_id", alert_id},
                      {"from_incident_id", incident_id},
                      {"from_incident_number", v->number},
                      {"to_incident_id", new_id},
                      {"to_incident_number", number}};
  std::vector<NewEvent> events{{"alert.split", incident_id, a.category, v->station_id, split.dump()},
                               {"incident.opened", new_id, a.category, l.station_id, domain::incident_opened_data(a, ids)}};
  const auto last = append_events(w, events, now_text);
  w.commit();
  IncidentChange out;
  out.incident_ids = {incident_id, new_id};
  out.frames = event_frames(events, last, now_text);
  out.new_incident_id = new_id;
  out.new_incident_number = number;
  return out;
}

}  // namespace xiaonao::store
