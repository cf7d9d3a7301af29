-- 023: domain::normalize_phone in SQL, for the intake's guess of a joined incident's parts
-- (store/fusion.cpp, near_parts): the incident keeps its alerts' subject phones as they were
-- given (018), and the household part compares them in their normal form, as the residents'
-- phones are stored. The same rules as the C++: ASCII and full-width digits kept, everything
-- else dropped, then a leading 86 or 0086 taken off an 11-digit mobile number. The test
-- Fusion.PhonesNormaliseInSqlAsInCpp holds the two to each other.
CREATE FUNCTION xn_normalize_phone(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE
           WHEN length(d) = 15 AND d LIKE '00861%' THEN substr(d, 5)
           WHEN length(d) = 13 AND d LIKE '861%' THEN substr(d, 3)
           ELSE d
         END
  FROM (SELECT regexp_replace(translate(t, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g') AS d) s
$$;
