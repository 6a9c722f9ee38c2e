ALTER TABLE users ADD COLUMN languages TEXT NOT NULL DEFAULT '';

-- Workflow and non-identifying facts: what the observatory may count.
CREATE TABLE referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    referring_org_id BIGINT REFERENCES organisations (id),
    received_at TIMESTAMP NOT NULL,
    urgency TEXT NOT NULL,
    person_gender TEXT NOT NULL,
    person_age_band TEXT,
    person_minor BOOLEAN NOT NULL,
    hosted_org_id BIGINT REFERENCES organisations (id),
    emergence_province TEXT,
    emergence_context TEXT,
    exploitation_types TEXT NOT NULL DEFAULT '',
    indicators TEXT NOT NULL DEFAULT '',
    indicators_version TEXT,
    interview_joint BOOLEAN,
    assigned_operator_id BIGINT REFERENCES users (id),
    proposed_mediator_id BIGINT REFERENCES users (id),
    acknowledged_at TIMESTAMP,
    escalated_at TIMESTAMP,
    decided_at TIMESTAMP,
    decided_by BIGINT REFERENCES users (id),
    decline_reason TEXT,
    duplicate_of BIGINT REFERENCES referrals (id),
    submitter_org_id BIGINT REFERENCES organisations (id),
    created_by_user_id BIGINT REFERENCES users (id),
    created_by_token_id BIGINT REFERENCES api_tokens (id),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX referrals_reference ON referrals (reference);
CREATE INDEX referrals_status ON referrals (status, received_at);
CREATE INDEX referrals_submitter ON referrals (submitter_org_id, id);
CREATE INDEX referrals_operator ON referrals (assigned_operator_id, status);

-- The personal fields of a referral, kept apart so that erasure (consent withdrawn) is one place.
CREATE TABLE referral_people (
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
    alias TEXT,
    age INTEGER,
    nationality TEXT,
    languages TEXT NOT NULL DEFAULT '',
    referrer_contact TEXT,
    notes TEXT,
    decision_note TEXT,
    source_file TEXT
);

-- The consent a territorial commission collected at the audition (seed 004).
CREATE TABLE referral_consents (
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
    audition_date DATE NOT NULL,
    commission_org_id BIGINT NOT NULL REFERENCES organisations (id),
    section TEXT,
    collected_by TEXT,
    scope TEXT NOT NULL,
    contact_route TEXT NOT NULL,
    contact_detail TEXT,
    withdrawn_at TIMESTAMP
);

CREATE TABLE referral_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT,
    actor_label TEXT,
    kind TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX referral_events_referral ON referral_events (referral_id, id);

CREATE TABLE referral_feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    author_user_id BIGINT REFERENCES users (id),
    body TEXT NOT NULL
);
CREATE INDEX referral_feedback_referral ON referral_feedback (referral_id, id);

CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    request_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_scope_key ON idempotency_keys (scope, key);

CREATE TABLE hotline_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TIMESTAMP NOT NULL,
    duration_secs INTEGER NOT NULL,
    language TEXT NOT NULL,
    caller_kind TEXT NOT NULL,
    region TEXT,
    province TEXT,
    outcome TEXT NOT NULL,
    diverted_project TEXT,
    referral_id BIGINT REFERENCES referrals (id),
    operator_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX hotline_calls_started ON hotline_calls (started_at);

CREATE TABLE shifts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    duty TEXT NOT NULL,
    mode TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX shifts_duty_time ON shifts (duty, starts_at, ends_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
