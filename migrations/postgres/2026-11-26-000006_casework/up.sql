-- Casework: the person counted once, the case the unit runs about them, its timeline, tasks,
-- flags, interviews, assessment and outcomes. Free text is sealed under the case's data key.

-- A person known to the unit: the referrals about them are linked to it.
CREATE TABLE persons (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

-- Which person a referral is about: set when the referral is taken in charge, changed by the
-- operator's link and unlink decisions.
CREATE TABLE referral_persons (
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    linked_at TIMESTAMP NOT NULL,
    linked_by BIGINT REFERENCES users (id)
);
CREATE INDEX referral_persons_person ON referral_persons (person_id);

CREATE TABLE cases (
    id BIGSERIAL PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    status TEXT NOT NULL CHECK (status IN ('received', 'taken_in_charge', 'interview_planned', 'interviewed', 'assessment', 'outcome_decided', 'feedback_sent', 'closed')),
    operator_id BIGINT REFERENCES users (id),
    data_key_id BIGINT REFERENCES data_keys (id),
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cases_person ON cases (person_id);
CREATE INDEX cases_operator ON cases (operator_id, status);
CREATE INDEX cases_status ON cases (status, opened_at);

-- The referrals a case answers (a person's later referrals join their open case).
CREATE TABLE case_referrals (
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
    case_id BIGINT NOT NULL REFERENCES cases (id),
    joined_at TIMESTAMP NOT NULL
);
CREATE INDEX case_referrals_case ON case_referrals (case_id);

CREATE TABLE case_events (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT REFERENCES users (id),
    actor_label TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('opened', 'referral_joined', 'transition', 'reassigned', 'interview_planned', 'interview_held', 'interview_cancelled', 'mediator_accepted', 'mediator_declined', 'note_added', 'assessment_recorded', 'outcome_recorded', 'task_added', 'task_done', 'flag_raised', 'flag_cleared', 'feedback_drafted', 'feedback_approved', 'feedback_sent', 'feedback_receipt')),
    subject_user_id BIGINT REFERENCES users (id),
    detail TEXT
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE case_tasks (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('call_back_referrer', 'contact_cas', 'book_mediator', 'send_feedback', 'other')),
    note BYTEA,
    due_at TIMESTAMP NOT NULL,
    assignee_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    done_at TIMESTAMP,
    done_by BIGINT REFERENCES users (id)
);
CREATE INDEX case_tasks_case ON case_tasks (case_id, id);
CREATE INDEX case_tasks_open ON case_tasks (assignee_id, done_at, due_at);

CREATE TABLE case_flags (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('risk_to_staff', 'risk_to_person', 'health', 'legal', 'other')),
    reason BYTEA,
    raised_at TIMESTAMP NOT NULL,
    raised_by BIGINT REFERENCES users (id),
    cleared_at TIMESTAMP,
    cleared_by BIGINT REFERENCES users (id)
);
CREATE INDEX case_flags_case ON case_flags (case_id, id);

CREATE TABLE interviews (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('emergency', 'planned')),
    status TEXT NOT NULL CHECK (status IN ('planned', 'held', 'cancelled')),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    setting TEXT NOT NULL CHECK (setting IN ('cas', 'sai_desk', 'commission', 'prefecture', 'unit_office', 'protected_place', 'remote')),
    joint BOOLEAN NOT NULL,
    language TEXT,
    mediator_id BIGINT REFERENCES users (id),
    mediator_answer TEXT CHECK (mediator_answer IN ('accepted', 'declined')),
    others BYTEA,
    notes BYTEA,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX interviews_case ON interviews (case_id, starts_at);
CREATE INDEX interviews_time ON interviews (starts_at);
CREATE INDEX interviews_mediator ON interviews (mediator_id, starts_at);

-- The unit's staff booked for an interview (what a double booking is checked against).
CREATE TABLE interview_staff (
    interview_id BIGINT NOT NULL REFERENCES interviews (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (interview_id, user_id)
);
CREATE INDEX interview_staff_user ON interview_staff (user_id);

-- The psycho-social assessment: a dated continuum of notes ...
CREATE TABLE assessment_notes (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TIMESTAMP NOT NULL,
    author_id BIGINT REFERENCES users (id),
    body BYTEA NOT NULL
);
CREATE INDEX assessment_notes_case ON assessment_notes (case_id, id);

-- ... and checklists scored against a versioned instrument in protocols/.
CREATE TABLE assessments (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    instrument_version TEXT NOT NULL,
    assessed_at TIMESTAMP NOT NULL,
    assessed_by BIGINT REFERENCES users (id)
);
CREATE INDEX assessments_case ON assessments (case_id, id);

CREATE TABLE assessment_answers (
    assessment_id BIGINT NOT NULL REFERENCES assessments (id),
    item TEXT NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('present', 'absent', 'unknown')),
    PRIMARY KEY (assessment_id, item)
);

CREATE TABLE assessment_agencies (
    assessment_id BIGINT NOT NULL REFERENCES assessments (id),
    agency TEXT NOT NULL CHECK (agency IN ('police', 'labour_inspectorate', 'social_services', 'health_services', 'judicial_authority')),
    PRIMARY KEY (assessment_id, agency)
);

CREATE TABLE case_outcomes (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('counselling', 'interview', 'emergency_reception', 'multi_agency_action', 'art18_programme', 'transfer', 'awareness_workshop')),
    project_id TEXT,
    transfer_state TEXT CHECK (transfer_state IN ('pending', 'accepted', 'declined')),
    consent BOOLEAN,
    decided_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    CHECK ((kind = 'transfer') = (transfer_state IS NOT NULL))
);
CREATE INDEX case_outcomes_case ON case_outcomes (case_id, id);

-- Two more notifications: a case given to an operator, an interview booked with a mediator.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind CHECK (kind IN ('new_referral', 'emergency', 'escalation', 'overdue', 'decision', 'feedback', 'consent_withdrawn', 'case_assigned', 'interview_booked'));
