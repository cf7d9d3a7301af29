-- 021: the fuzzy address match reads aliases too. An officer who types an address's alias
-- (a landmark, an estate name) with a slip in it should find the address as well as one who
-- misspells its standard text. An array column cannot carry the prefix, suffix and trigram
-- indexes the match uses (010, 009), so each alias is also a row here, kept in step with
-- addresses.alias_norms by statement triggers (the HTTP import, `xiaonaod import` and psql
-- alike); an address that goes takes its rows along.
CREATE TABLE address_aliases (
  address_id text NOT NULL REFERENCES addresses (id) ON DELETE CASCADE ON UPDATE CASCADE,
  norm       text NOT NULL,
  PRIMARY KEY (address_id, norm)
);
CREATE INDEX address_aliases_prefix_idx ON address_aliases (norm text_pattern_ops);
CREATE INDEX address_aliases_suffix_idx ON address_aliases (reverse(norm) text_pattern_ops);
CREATE INDEX address_aliases_trgm_gist_idx ON address_aliases USING gist (norm gist_trgm_ops);

CREATE FUNCTION xn_address_aliases_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM address_aliases a USING new_rows n
    WHERE a.address_id = n.id AND NOT (a.norm = ANY (n.alias_norms));
  END IF;
  INSERT INTO address_aliases (address_id, norm)
  SELECT DISTINCT n.id, u.norm FROM new_rows n, unnest(n.alias_norms) AS u(norm)
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- A trigger with transition tables takes one event; ON CONFLICT DO UPDATE fires both.
CREATE TRIGGER addresses_aliases_inserted AFTER INSERT ON addresses
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION xn_address_aliases_written();
CREATE TRIGGER addresses_aliases_updated AFTER UPDATE ON addresses
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION xn_address_aliases_written();

INSERT INTO address_aliases (address_id, norm)
SELECT DISTINCT a.id, u.norm FROM addresses a, unnest(a.alias_norms) AS u(norm)
ON CONFLICT DO NOTHING;
