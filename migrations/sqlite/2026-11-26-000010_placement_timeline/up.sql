-- Holds, placements, arrivals, departures and turn-aways at escape points appear on the case's
-- timeline, and so does a feedback approval taken back. SQLite cannot change a CHECK: the table is rebuilt with its rows and ids.
CREATE TABLE case_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT REFERENCES users (id),
    actor_label TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('opened', 'referral_joined', 'transition', 'reassigned', 'interview_planned', 'interview_held', 'interview_cancelled', 'mediator_accepted', 'mediator_declined', 'note_added', 'assessment_recorded', 'outcome_recorded', 'task_added', 'task_done', 'flag_raised', 'flag_cleared', 'feedback_drafted', 'feedback_approved', 'feedback_sent', 'feedback_receipt', 'feedback_withdrawn', 'placement_held', 'placement_made', 'placement_checked_in', 'placement_checked_out', 'placement_released', 'placement_expired', 'placement_turned_away')),
    subject_user_id BIGINT REFERENCES users (id),
    detail TEXT
);
INSERT INTO case_events_new (id, case_id, at, actor_user_id, actor_label, kind, subject_user_id, detail)
    SELECT id, case_id, at, actor_user_id, actor_label, kind, subject_user_id, detail FROM case_events;
DROP TABLE case_events;
ALTER TABLE case_events_new RENAME TO case_events;
CREATE INDEX case_events_case ON case_events (case_id, id);
