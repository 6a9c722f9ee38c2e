-- Not reversible: the personal fields are sealed under keys the earlier schema knows nothing of.
-- Restore the backup taken before the upgrade instead (`varco restore --from FILE`).
SELECT * FROM "typed storage cannot be reverted: restore a backup";
