-- 022: where residents live is held in memory too (docs/architecture.md, "Reference data in
-- memory"): an alert placed by its subject or its caller no longer waits for the persons
-- table. So the persons kind gets a version like the other cached kinds (017), raised by any
-- statement that changes it, and announced on `xiaonao_reference`.
INSERT INTO reference_versions (kind) VALUES ('persons') ON CONFLICT (kind) DO NOTHING;
CREATE TRIGGER persons_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON persons
  FOR EACH STATEMENT EXECUTE FUNCTION xn_reference_changed('persons');
