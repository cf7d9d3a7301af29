-- 010: fusion's fast fuzzy-address candidates (docs/architecture.md "Fusion"). A text with a
-- slip (a dropped, doubled or swapped character) keeps its first or its last part intact, so
-- the addresses that start with its first half or end with its last half are found by btree
-- range scans (LIKE 'prefix%' on these pattern-ops indexes) in well under a millisecond; the
-- trigram KNN walk of 009 (hundreds of milliseconds at 200,000 addresses) runs only when these
-- candidates hold no sure match.
CREATE INDEX addresses_norm_prefix_idx ON addresses (norm text_pattern_ops);
CREATE INDEX addresses_norm_suffix_idx ON addresses (reverse(norm) text_pattern_ops);
