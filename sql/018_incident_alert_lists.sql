-- 018: each incident keeps the markers, caller phones and subjects (phone, identity number) its
-- alerts named, as they were given, so that the merge look-up can hand fusion what re-fusing a
-- joined incident needs without reading its alerts (docs/architecture.md, "Fusion"). Written
-- with the incident, extended when an alert joins it, rebuilt when one is split out.
ALTER TABLE incidents
  ADD COLUMN alert_markers        text[] NOT NULL DEFAULT '{}',
  ADD COLUMN alert_callers        text[] NOT NULL DEFAULT '{}',
  ADD COLUMN alert_subject_phones text[] NOT NULL DEFAULT '{}',
  ADD COLUMN alert_subject_ids    text[] NOT NULL DEFAULT '{}';

UPDATE incidents i
SET alert_markers = a.markers, alert_callers = a.callers, alert_subject_phones = a.subject_phones,
    alert_subject_ids = a.subject_ids
FROM (SELECT incident_id,
             coalesce(array_agg(DISTINCT marker) FILTER (WHERE marker IS NOT NULL), '{}') AS markers,
             coalesce(array_agg(DISTINCT caller_phone) FILTER (WHERE caller_phone IS NOT NULL), '{}') AS callers,
             coalesce(array_agg(DISTINCT subject_phone) FILTER (WHERE subject_phone IS NOT NULL), '{}') AS subject_phones,
             coalesce(array_agg(DISTINCT subject_id_number) FILTER (WHERE subject_id_number IS NOT NULL), '{}')
               AS subject_ids
      FROM alerts GROUP BY incident_id) a
WHERE a.incident_id = i.id;
