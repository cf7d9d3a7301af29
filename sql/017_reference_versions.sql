-- 017: the versions of the reference kinds that each instance holds in memory for fusion
-- (docs/architecture.md, "Reference data in memory"). Any statement that changes a kind raises
-- its version in the same transaction and announces the kind on `xiaonao_reference`; an
-- instance reloads the kinds whose version moved, and until it has, it fuses with SQL (the
-- intake batch reads the sum of the versions and compares it with its picture's).
CREATE TABLE reference_versions (
  kind    text PRIMARY KEY,
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO reference_versions (kind) VALUES ('addresses'), ('cameras'), ('grids'), ('markers'), ('zones');

CREATE FUNCTION xn_reference_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE reference_versions SET version = version + 1 WHERE kind = TG_ARGV[0];
  PERFORM pg_notify('xiaonao_reference', TG_ARGV[0]);
  RETURN NULL;
END $$;
CREATE TRIGGER addresses_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON addresses
  FOR EACH STATEMENT EXECUTE FUNCTION xn_reference_changed('addresses');
CREATE TRIGGER cameras_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cameras
  FOR EACH STATEMENT EXECUTE FUNCTION xn_reference_changed('cameras');
CREATE TRIGGER grids_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grids
  FOR EACH STATEMENT EXECUTE FUNCTION xn_reference_changed('grids');
CREATE TRIGGER markers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON markers
  FOR EACH STATEMENT EXECUTE FUNCTION xn_reference_changed('markers');
CREATE TRIGGER zones_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON zones
  FOR EACH STATEMENT EXECUTE FUNCTION xn_reference_changed('zones');
