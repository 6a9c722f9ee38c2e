-- Throttle counters are transient: going back starts with none.
DROP TABLE login_throttle;
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ip TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_ip_at ON login_failures (ip, at);
