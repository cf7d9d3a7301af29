-- 009: fusion's fuzzy address search walks a trigram GiST index in similarity order (KNN
-- `norm <-> text`, the five nearest), instead of a `norm % text` bitmap search on the GIN index,
-- which must recheck every address sharing any trigram with the text: in a county whose
-- addresses all begin with the same city and district that is nearly every row.
-- (docs/architecture.md "Fusion", docs/PERFORMANCE.md.)
CREATE INDEX addresses_trgm_gist_idx ON addresses USING gist (norm gist_trgm_ops);
