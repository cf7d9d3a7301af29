-- 016: a change to the categories (a new code, a name, a default priority, the non-police
-- flag) is announced to every instance, which reloads its in-memory copy at once: no restart.
CREATE FUNCTION xn_categories_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('xiaonao_categories', '');
  RETURN NULL;
END $$;
CREATE TRIGGER categories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
  FOR EACH STATEMENT EXECUTE FUNCTION xn_categories_changed();
