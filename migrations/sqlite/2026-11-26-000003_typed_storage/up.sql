-- Typed storage and sealed person records (issue 6).
--
-- Every closed vocabulary stored in a column is backed by a CHECK constraint listing the codes its
-- Rust enum declares (a test compares them), with the obvious invariants (versions >= 1,
-- non-negative counts and durations, ends after starts). Multi-valued facts become rows of their
-- own tables. The referral is split along its concerns (facts and state, routing, decision).
-- Personal fields are sealed under a data key per referral: the plain values stored by the
-- earlier schema move to `pending_seal`, which the service seals at start and then empties.
--
-- SQLite cannot add a constraint to an existing table: each table is rebuilt (create, copy, drop,
-- rename). The migration runner turns foreign keys off around the migrations and checks them
-- after (`PRAGMA foreign_key_check`).

-- ----- accounts -----

CREATE TABLE organisations_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind TEXT NOT NULL CHECK (kind IN ('cas', 'sai', 'prefecture', 'territorial_commission', 'questura', 'carabinieri', 'labour_inspectorate', 'social_health_service', 'street_unit', 'ngo', 'art18_project', 'anti_violence_centre', 'other')),
    section TEXT,
    region TEXT CHECK (region IS NULL OR (length(region) = 2 AND region NOT GLOB '*[^0-9]*')),
    province TEXT CHECK (province IS NULL OR (length(province) = 3 AND province NOT GLOB '*[^0-9]*')),
    email TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO organisations_new (id, name, kind, section, region, province, email, active, version, created_at, updated_at)
    SELECT id, name, kind, section, region, province, email, active, version, created_at, updated_at FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_new RENAME TO organisations;
CREATE UNIQUE INDEX organisations_name ON organisations (name);

CREATE TABLE users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'operator', 'mediator', 'referrer', 'commission', 'analyst')),
    org_id BIGINT REFERENCES organisations (id),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until TIMESTAMP,
    last_login_at TIMESTAMP,
    password_changed_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO users_new (id, username, display_name, email, role, org_id, password_hash, disabled, failed_logins,
        locked_until, last_login_at, password_changed_at, version, created_at, updated_at)
    SELECT id, username, display_name, email, role, org_id, password_hash, disabled, failed_logins,
        locked_until, last_login_at, password_changed_at, version, created_at, updated_at FROM users;

-- The languages a user speaks, a row each (they were a comma-separated list).
CREATE TABLE user_languages (
    user_id BIGINT NOT NULL REFERENCES users (id),
    language TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 3 AND language NOT GLOB '*[^a-z]*'),
    PRIMARY KEY (user_id, language)
) WITHOUT ROWID;
WITH RECURSIVE split (owner, item, rest) AS (
    SELECT id, '', languages || ',' FROM users
    UNION ALL
    SELECT owner, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> ''
)
INSERT INTO user_languages (user_id, language) SELECT DISTINCT owner, item FROM split WHERE item <> '';
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE sessions_new (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK (expires_at > created_at)
) WITHOUT ROWID;
INSERT INTO sessions_new (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
    SELECT id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    label TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('referrer', 'commission', 'analyst')),
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
INSERT INTO api_tokens_new (id, token_hash, prefix, label, org_id, role, created_by, created_at, last_used_at, revoked_at)
    SELECT id, token_hash, prefix, label, org_id, role, created_by, created_at, last_used_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE setup_tokens_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    CHECK (expires_at > created_at)
);
INSERT INTO setup_tokens_new (id, token_hash, created_at, expires_at, used_at)
    SELECT id, token_hash, created_at, expires_at, used_at FROM setup_tokens;
DROP TABLE setup_tokens;
ALTER TABLE setup_tokens_new RENAME TO setup_tokens;
CREATE UNIQUE INDEX setup_tokens_hash ON setup_tokens (token_hash);

-- ----- audit log (append-only: its triggers are recreated) -----

CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'token', 'system', 'anonymous')),
    actor_user_id BIGINT,
    actor_token_id BIGINT,
    actor_label TEXT,
    actor_role TEXT CHECK (actor_role IS NULL OR actor_role IN ('admin', 'coordinator', 'operator', 'mediator', 'referrer', 'commission', 'analyst')),
    org_id BIGINT,
    ip TEXT,
    request_id TEXT,
    action TEXT NOT NULL,
    entity_type TEXT,
    entity_id TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
    detail TEXT
);
INSERT INTO audit_log_new (id, at, actor_kind, actor_user_id, actor_token_id, actor_label, actor_role, org_id, ip,
        request_id, action, entity_type, entity_id, outcome, detail)
    SELECT id, at, actor_kind, actor_user_id, actor_token_id, actor_label, actor_role, org_id, ip,
        request_id, action, entity_type, entity_id, outcome, detail FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);
-- (The index on actor_user_id is gone: no query reads it, and every entry paid for it.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- ----- keys -----

-- The master keys the database has known, by id (never the key): a wrong key file cannot start
-- sealing new records under a key the rest of the data does not share.
CREATE TABLE master_keys (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 16),
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
) WITHOUT ROWID;

-- A data key per person record, wrapped under a master key; destroyed (both columns cleared) to
-- erase everything sealed under it.
CREATE TABLE data_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    wrapped BLOB,
    master_key_id TEXT,
    created_at TIMESTAMP NOT NULL,
    destroyed_at TIMESTAMP,
    CHECK ((wrapped IS NULL AND master_key_id IS NULL AND destroyed_at IS NOT NULL)
        OR (wrapped IS NOT NULL AND master_key_id IS NOT NULL AND destroyed_at IS NULL))
);

-- ----- referrals -----

CREATE TABLE referrals_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'new', 'in_charge', 'declined', 'restricted')),
    channel TEXT NOT NULL CHECK (channel IN ('hotline', 'email', 'pec', 'portal', 'in_person')),
    source_kind TEXT NOT NULL CHECK (source_kind IN ('cas_operator', 'prefecture', 'territorial_commission', 'sai_operator', 'police', 'labour', 'social_health_service', 'street_unit', 'private_citizen', 'self')),
    referring_org_id BIGINT REFERENCES organisations (id),
    received_at TIMESTAMP NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('emergency', 'ordinary')),
    person_gender TEXT NOT NULL CHECK (person_gender IN ('female', 'male', 'trans', 'unknown')),
    person_age_band TEXT CHECK (person_age_band IS NULL OR person_age_band IN ('0-13', '14-17', '18-24', '25-34', '35-44', '45-54', '55+', 'unknown')),
    person_minor BOOLEAN NOT NULL,
    hosted_org_id BIGINT REFERENCES organisations (id),
    emergence_province TEXT CHECK (emergence_province IS NULL
        OR (length(emergence_province) = 3 AND emergence_province NOT GLOB '*[^0-9]*')),
    emergence_context TEXT CHECK (emergence_context IS NULL OR emergence_context IN ('arrival', 'cas_arrival', 'street', 'indoor_venues', 'arrest_or_drugs', 'questura_immigration', 'sai_desk', 'health_social', 'labour_inspection', 'other')),
    indicators_version TEXT,
    interview_joint BOOLEAN,
    submitter_org_id BIGINT REFERENCES organisations (id),
    created_by_user_id BIGINT REFERENCES users (id),
    created_by_token_id BIGINT REFERENCES api_tokens (id),
    data_key_id BIGINT REFERENCES data_keys (id),
    version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO referrals_new (id, reference, status, channel, source_kind, referring_org_id, received_at, urgency,
        person_gender, person_age_band, person_minor, hosted_org_id, emergence_province, emergence_context,
        indicators_version, interview_joint, submitter_org_id, created_by_user_id, created_by_token_id, data_key_id,
        version, created_at, updated_at)
    SELECT id, reference, status, channel, source_kind, referring_org_id, received_at, urgency,
        person_gender, person_age_band, person_minor, hosted_org_id, emergence_province, emergence_context,
        indicators_version, interview_joint, submitter_org_id, created_by_user_id, created_by_token_id, NULL,
        version, created_at, updated_at FROM referrals;

-- Who a referral went to.
CREATE TABLE referral_routing (
    referral_id INTEGER PRIMARY KEY REFERENCES referrals (id),
    assigned_operator_id BIGINT REFERENCES users (id),
    proposed_mediator_id BIGINT REFERENCES users (id),
    acknowledged_at TIMESTAMP,
    escalated_at TIMESTAMP
);
INSERT INTO referral_routing (referral_id, assigned_operator_id, proposed_mediator_id, acknowledged_at, escalated_at)
    SELECT id, assigned_operator_id, proposed_mediator_id, acknowledged_at, escalated_at FROM referrals;
CREATE INDEX referral_routing_operator ON referral_routing (assigned_operator_id);

-- The unit's decision (its note sealed).
CREATE TABLE referral_decisions (
    referral_id INTEGER PRIMARY KEY REFERENCES referrals (id),
    decided_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decline_reason TEXT CHECK (decline_reason IS NULL OR decline_reason IN ('redirected_1522', 'redirected_social_services', 'redirected_asylum_system', 'duplicate', 'withdrawn_by_referrer')),
    duplicate_of BIGINT REFERENCES referrals (id),
    note BLOB,
    CHECK (duplicate_of IS NULL OR decline_reason = 'duplicate')
);
INSERT INTO referral_decisions (referral_id, decided_at, decided_by, decline_reason, duplicate_of, note)
    SELECT id, decided_at, decided_by, decline_reason, duplicate_of, NULL FROM referrals WHERE decided_at IS NOT NULL;

-- Multi-valued facts, a row each.
CREATE TABLE referral_exploitation (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    exploitation TEXT NOT NULL CHECK (exploitation IN ('sexual', 'labour', 'begging', 'forced_illegal_activities', 'forced_marriage', 'other')),
    PRIMARY KEY (referral_id, exploitation)
) WITHOUT ROWID;
WITH RECURSIVE split (owner, item, rest) AS (
    SELECT id, '', exploitation_types || ',' FROM referrals
    UNION ALL
    SELECT owner, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> ''
)
INSERT INTO referral_exploitation (referral_id, exploitation) SELECT DISTINCT owner, item FROM split WHERE item <> '';

CREATE TABLE referral_indicators (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    indicator TEXT NOT NULL CHECK (length(indicator) BETWEEN 1 AND 100),
    PRIMARY KEY (referral_id, indicator)
) WITHOUT ROWID;
WITH RECURSIVE split (owner, item, rest) AS (
    SELECT id, '', indicators || ',' FROM referrals
    UNION ALL
    SELECT owner, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> ''
)
INSERT INTO referral_indicators (referral_id, indicator) SELECT DISTINCT owner, item FROM split WHERE item <> '';

CREATE TABLE referral_languages (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    language TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 3 AND language NOT GLOB '*[^a-z]*'),
    PRIMARY KEY (referral_id, language)
) WITHOUT ROWID;
WITH RECURSIVE split (owner, item, rest) AS (
    SELECT referral_id, '', languages || ',' FROM referral_people
    UNION ALL
    SELECT owner, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> ''
)
INSERT INTO referral_languages (referral_id, language) SELECT DISTINCT owner, item FROM split WHERE item <> '';

-- Plain personal values of the earlier schema, until the service seals them at start.
CREATE TABLE pending_seal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    target TEXT NOT NULL CHECK (target IN ('person.alias', 'person.age', 'person.nationality',
        'person.referrer_contact', 'person.notes', 'person.source_file', 'decision.note',
        'consent.collected_by', 'consent.contact_detail', 'feedback.body')),
    row_id BIGINT,
    value TEXT NOT NULL
);
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'person.alias', alias FROM referral_people WHERE alias IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'person.age', CAST(age AS TEXT) FROM referral_people WHERE age IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'person.nationality', nationality FROM referral_people WHERE nationality IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'person.referrer_contact', referrer_contact FROM referral_people WHERE referrer_contact IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'person.notes', notes FROM referral_people WHERE notes IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'person.source_file', source_file FROM referral_people WHERE source_file IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT p.referral_id, 'decision.note', p.decision_note FROM referral_people p
    WHERE p.decision_note IS NOT NULL AND EXISTS (SELECT 1 FROM referral_decisions d WHERE d.referral_id = p.referral_id);
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'consent.collected_by', collected_by FROM referral_consents WHERE collected_by IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, value)
    SELECT referral_id, 'consent.contact_detail', contact_detail FROM referral_consents WHERE contact_detail IS NOT NULL;
INSERT INTO pending_seal (referral_id, target, row_id, value)
    SELECT referral_id, 'feedback.body', id, body FROM referral_feedback WHERE body <> '[erased: consent withdrawn]';

-- The personal fields, sealed under the referral's data key.
DROP TABLE referral_people;
CREATE TABLE referral_people (
    referral_id INTEGER PRIMARY KEY REFERENCES referrals (id),
    alias BLOB,
    age BLOB,
    nationality BLOB,
    referrer_contact BLOB,
    notes BLOB,
    source_file BLOB
);

CREATE TABLE referral_consents_new (
    referral_id INTEGER PRIMARY KEY REFERENCES referrals (id),
    audition_date DATE NOT NULL CHECK (audition_date BETWEEN '1900-01-01' AND '2200-12-31'),
    commission_org_id BIGINT NOT NULL REFERENCES organisations (id),
    section TEXT,
    collected_by BLOB,
    scope TEXT NOT NULL CHECK (scope IN ('social_protection_information')),
    contact_route TEXT NOT NULL CHECK (contact_route IN ('cas_operator', 'own_contact', 'prefecture_reconvene')),
    contact_detail BLOB,
    withdrawn_at TIMESTAMP
);
INSERT INTO referral_consents_new (referral_id, audition_date, commission_org_id, section, collected_by, scope,
        contact_route, contact_detail, withdrawn_at)
    SELECT referral_id, audition_date, commission_org_id, section, NULL, scope, contact_route, NULL, withdrawn_at
    FROM referral_consents;
DROP TABLE referral_consents;
ALTER TABLE referral_consents_new RENAME TO referral_consents;

-- History: a typed kind, the person an entry is about as a column, details that are codes only
-- (the languages once kept in `mediator_missing` described the person: dropped).
CREATE TABLE referral_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT,
    actor_label TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'consent_recorded', 'task_contact_cas', 'task_interview_sai_desk', 'assigned', 'unassigned', 'mediator_proposed', 'mediator_missing', 'acknowledged', 'escalated', 'overdue', 'taken_in_charge', 'declined', 'feedback_sent', 'consent_withdrawn', 'confirmed', 'imported')),
    subject_user_id BIGINT REFERENCES users (id),
    detail TEXT
);
INSERT INTO referral_events_new (id, referral_id, at, actor_user_id, actor_label, kind, subject_user_id, detail)
    SELECT id, referral_id, at, actor_user_id, actor_label, kind,
        CASE WHEN kind IN ('assigned', 'mediator_proposed') AND detail LIKE 'user %'
            THEN CAST(substr(detail, 6) AS INTEGER) END,
        CASE WHEN kind IN ('assigned', 'mediator_proposed', 'mediator_missing') THEN NULL ELSE detail END
    FROM referral_events;
DROP TABLE referral_events;
ALTER TABLE referral_events_new RENAME TO referral_events;
CREATE INDEX referral_events_referral ON referral_events (referral_id, id);

CREATE TABLE referral_feedback_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    at TIMESTAMP NOT NULL,
    author_user_id BIGINT REFERENCES users (id),
    body BLOB
);
INSERT INTO referral_feedback_new (id, referral_id, at, author_user_id, body)
    SELECT id, referral_id, at, author_user_id, NULL FROM referral_feedback;
DROP TABLE referral_feedback;
ALTER TABLE referral_feedback_new RENAME TO referral_feedback;
CREATE INDEX referral_feedback_referral ON referral_feedback (referral_id, id);

DROP TABLE referrals;
ALTER TABLE referrals_new RENAME TO referrals;
CREATE UNIQUE INDEX referrals_reference ON referrals (reference);
CREATE INDEX referrals_status ON referrals (status, received_at);
CREATE INDEX referrals_submitter ON referrals (submitter_org_id, id);

-- ----- hotline, roster, outbox -----

CREATE TABLE hotline_calls_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TIMESTAMP NOT NULL,
    duration_secs INTEGER NOT NULL CHECK (duration_secs BETWEEN 0 AND 86400),
    language TEXT NOT NULL CHECK (language IN ('it', 'en', 'zh', 'ru', 'ro', 'uk', 'es', 'sq', 'mo')),
    caller_kind TEXT NOT NULL CHECK (caller_kind IN ('potential_victim', 'relative_or_friend', 'private_citizen', 'service_operator', 'police', 'other')),
    region TEXT CHECK (region IS NULL OR (length(region) = 2 AND region NOT GLOB '*[^0-9]*')),
    province TEXT CHECK (province IS NULL OR (length(province) = 3 AND province NOT GLOB '*[^0-9]*')),
    outcome TEXT NOT NULL CHECK (outcome IN ('information', 'diverted', 'referral_opened', 'emergency_activation')),
    diverted_project TEXT CHECK (diverted_project IS NULL OR outcome = 'diverted'),
    referral_id BIGINT REFERENCES referrals (id)
        CHECK (referral_id IS NULL OR outcome IN ('referral_opened', 'emergency_activation')),
    operator_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
INSERT INTO hotline_calls_new (id, started_at, duration_secs, language, caller_kind, region, province, outcome,
        diverted_project, referral_id, operator_id, created_at)
    SELECT id, started_at, duration_secs, language, caller_kind, region, province, outcome,
        diverted_project, referral_id, operator_id, created_at FROM hotline_calls;
DROP TABLE hotline_calls;
ALTER TABLE hotline_calls_new RENAME TO hotline_calls;
CREATE INDEX hotline_calls_started ON hotline_calls (started_at);

CREATE TABLE shifts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    duty TEXT NOT NULL CHECK (duty IN ('operator', 'coordinator', 'mediator')),
    mode TEXT NOT NULL CHECK (mode IN ('on_duty', 'on_call')),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
INSERT INTO shifts_new (id, user_id, duty, mode, starts_at, ends_at, created_by, created_at)
    SELECT id, user_id, duty, mode, starts_at, ends_at, created_by, created_at FROM shifts;
DROP TABLE shifts;
ALTER TABLE shifts_new RENAME TO shifts;
CREATE INDEX shifts_duty_time ON shifts (duty, starts_at, ends_at);

CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('new_referral', 'emergency', 'escalation', 'overdue', 'decision', 'feedback', 'consent_withdrawn')),
    reference TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO outbox_new (id, recipient, subject, body_text, kind, reference, status, attempts, next_attempt_at,
        locked_until, last_error, created_at, sent_at)
    SELECT id, recipient, subject, body_text, kind, reference, status, attempts, next_attempt_at,
        locked_until, last_error, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
