DROP TABLE feedback_letters;
DELETE FROM outbox WHERE kind = 'feedback_letter';
CREATE TABLE outbox_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('new_referral', 'emergency', 'escalation', 'overdue', 'decision', 'feedback', 'consent_withdrawn', 'case_assigned', 'interview_booked')),
    reference TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO outbox_old (id, recipient, subject, body_text, kind, reference, status, attempts, next_attempt_at,
        locked_until, last_error, created_at, sent_at)
    SELECT id, recipient, subject, body_text, kind, reference, status, attempts, next_attempt_at,
        locked_until, last_error, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
