-- Not reversible without losing the mediators' answers and their history entries.
SELECT * FROM "mediation cannot be reverted: restore a backup";
