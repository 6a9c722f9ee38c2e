-- Login throttling by counters that one statement increments and reads back (an upsert with
-- RETURNING), so that parallel attempts each see their own count: the failure rows it replaces
-- were counted, then inserted, and 16 simultaneous guesses all got through the count.
-- A key is "a:" + a digest of (address, user name) or "i:" + a digest of the address alone: no
-- user name or address is stored here.
DROP TABLE login_failures;
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 0)
);
