-- 004: the intake path stops paying for three foreign-key checks per alert.
--
-- Every alert insert ran three referential checks (alerts.category and incidents.category
-- against categories, and alerts.incident_id against incidents at commit), each a query of
-- its own: about a tenth of PostgreSQL's CPU per alert. On insert they can never fail: the
-- only writer of alerts and incidents (the intake writer) inserts each alert together with its
-- incident, from the same input, in the same transaction; and it writes only category codes
-- found in the category cache, which is loaded from the categories table, whose codes are
-- never deleted or renamed (enforced below). The checks that still matter are the ones on the
-- other side, where a change could leave a reference dangling; triggers keep those, and they
-- cost nothing on the intake path.
ALTER TABLE alerts DROP CONSTRAINT alerts_incident_id_fkey;
ALTER TABLE alerts DROP CONSTRAINT alerts_category_fkey;
ALTER TABLE incidents DROP CONSTRAINT incidents_category_fkey;

-- A category code, once created, is permanent: alerts, incidents and every running server's
-- category cache refer to it.
CREATE FUNCTION xn_refuse_category_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'category codes are never deleted or renamed (alerts, incidents and server caches refer to them)'
    USING ERRCODE = 'foreign_key_violation';
END $$;
CREATE TRIGGER categories_no_delete BEFORE DELETE ON categories
  FOR EACH ROW EXECUTE FUNCTION xn_refuse_category_change();
CREATE TRIGGER categories_no_rename BEFORE UPDATE OF code ON categories
  FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION xn_refuse_category_change();
CREATE TRIGGER categories_no_truncate BEFORE TRUNCATE ON categories
  FOR EACH STATEMENT EXECUTE FUNCTION xn_refuse_category_change();

-- An incident that alerts belong to cannot disappear or change its id under them.
CREATE FUNCTION xn_refuse_incident_orphaning() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM alerts WHERE incident_id = OLD.id) THEN
    RAISE EXCEPTION 'incident % still has alerts', OLD.id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER incidents_keep_alerts_delete BEFORE DELETE ON incidents
  FOR EACH ROW EXECUTE FUNCTION xn_refuse_incident_orphaning();
CREATE TRIGGER incidents_keep_alerts_update BEFORE UPDATE OF id ON incidents
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION xn_refuse_incident_orphaning();

-- Moving an alert to another incident (a merge) must name an existing one.
CREATE FUNCTION xn_check_alert_incident() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM incidents WHERE id = NEW.incident_id) THEN
    RAISE EXCEPTION 'incident % does not exist', NEW.incident_id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER alerts_incident_exists BEFORE UPDATE OF incident_id ON alerts
  FOR EACH ROW WHEN (OLD.incident_id IS DISTINCT FROM NEW.incident_id) EXECUTE FUNCTION xn_check_alert_incident();
