-- A proposed mediator accepts or declines; the history says so.
ALTER TABLE referral_routing ADD COLUMN mediator_answer TEXT CHECK (mediator_answer IN ('accepted', 'declined'));
ALTER TABLE referral_routing ADD COLUMN mediator_answered_at TIMESTAMP;

-- SQLite cannot change a CHECK: the history table is rebuilt with the two new kinds.
CREATE TABLE referral_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT,
    actor_label TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'consent_recorded', 'task_contact_cas', 'task_interview_sai_desk', 'assigned', 'unassigned', 'mediator_proposed', 'mediator_missing', 'acknowledged', 'escalated', 'overdue', 'taken_in_charge', 'declined', 'feedback_sent', 'consent_withdrawn', 'confirmed', 'imported', 'mediator_accepted', 'mediator_declined')),
    subject_user_id BIGINT REFERENCES users (id),
    detail TEXT
);
INSERT INTO referral_events_new (id, referral_id, at, actor_user_id, actor_label, kind, subject_user_id, detail)
    SELECT id, referral_id, at, actor_user_id, actor_label, kind, subject_user_id, detail FROM referral_events;
DROP TABLE referral_events;
ALTER TABLE referral_events_new RENAME TO referral_events;
CREATE INDEX referral_events_referral ON referral_events (referral_id, id);
