-- Typed storage and sealed person records (issue 6).
--
-- Every closed vocabulary stored in a column is backed by a CHECK constraint listing the codes its
-- Rust enum declares (a test compares them), with the obvious invariants (versions >= 1,
-- non-negative counts and durations, ends after starts). Multi-valued facts become rows of their
-- own tables. The referral is split along its concerns (facts and state, routing, decision).
-- Personal fields are sealed under a data key per referral: the plain values stored by the
-- earlier schema move to `pending_seal`, which the service seals at start and then empties.

-- ----- accounts -----

ALTER TABLE organisations
    ADD CONSTRAINT organisations_name_length CHECK (length(name) BETWEEN 1 AND 200),
    ADD CONSTRAINT organisations_kind CHECK (kind IN ('cas', 'sai', 'prefecture', 'territorial_commission', 'questura', 'carabinieri', 'labour_inspectorate', 'social_health_service', 'street_unit', 'ngo', 'art18_project', 'anti_violence_centre', 'other')),
    ADD CONSTRAINT organisations_region CHECK (region IS NULL OR region ~ '^[0-9]{2}$'),
    ADD CONSTRAINT organisations_province CHECK (province IS NULL OR province ~ '^[0-9]{3}$'),
    ADD CONSTRAINT organisations_version CHECK (version >= 1);

-- The languages a user speaks, a row each (they were a comma-separated list).
CREATE TABLE user_languages (
    user_id BIGINT NOT NULL REFERENCES users (id),
    language TEXT NOT NULL CHECK (language ~ '^[a-z]{2,3}$'),
    PRIMARY KEY (user_id, language)
);
INSERT INTO user_languages (user_id, language)
    SELECT DISTINCT id, item FROM users, unnest(string_to_array(languages, ',')) AS item WHERE item <> '';
ALTER TABLE users
    DROP COLUMN languages,
    ADD CONSTRAINT users_role CHECK (role IN ('admin', 'coordinator', 'operator', 'mediator', 'referrer', 'commission', 'analyst')),
    ADD CONSTRAINT users_failed_logins CHECK (failed_logins >= 0),
    ADD CONSTRAINT users_version CHECK (version >= 1);

ALTER TABLE sessions ADD CONSTRAINT sessions_expiry CHECK (expires_at > created_at);
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role CHECK (role IN ('referrer', 'commission', 'analyst'));
ALTER TABLE setup_tokens ADD CONSTRAINT setup_tokens_expiry CHECK (expires_at > created_at);

-- ----- audit log -----

ALTER TABLE audit_log
    ADD CONSTRAINT audit_log_actor_kind CHECK (actor_kind IN ('user', 'token', 'system', 'anonymous')),
    ADD CONSTRAINT audit_log_actor_role CHECK (actor_role IS NULL OR actor_role IN ('admin', 'coordinator', 'operator', 'mediator', 'referrer', 'commission', 'analyst')),
    ADD CONSTRAINT audit_log_outcome CHECK (outcome IN ('success', 'denied', 'failure'));
-- No query reads it, and every entry paid for it.
DROP INDEX audit_log_actor;

-- ----- keys -----

-- The master keys the database has known, by id (never the key).
CREATE TABLE master_keys (
    id TEXT PRIMARY KEY CHECK (length(id) = 16),
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

-- A data key per person record, wrapped under a master key; destroyed (both columns cleared) to
-- erase everything sealed under it.
CREATE TABLE data_keys (
    id BIGSERIAL PRIMARY KEY,
    wrapped BYTEA,
    master_key_id TEXT,
    created_at TIMESTAMP NOT NULL,
    destroyed_at TIMESTAMP,
    CHECK ((wrapped IS NULL AND master_key_id IS NULL AND destroyed_at IS NOT NULL)
        OR (wrapped IS NOT NULL AND master_key_id IS NOT NULL AND destroyed_at IS NULL))
);

-- ----- referrals -----

-- Who a referral went to.
CREATE TABLE referral_routing (
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
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
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
    decided_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decline_reason TEXT CHECK (decline_reason IS NULL OR decline_reason IN ('redirected_1522', 'redirected_social_services', 'redirected_asylum_system', 'duplicate', 'withdrawn_by_referrer')),
    duplicate_of BIGINT REFERENCES referrals (id),
    note BYTEA,
    CHECK (duplicate_of IS NULL OR decline_reason = 'duplicate')
);
INSERT INTO referral_decisions (referral_id, decided_at, decided_by, decline_reason, duplicate_of)
    SELECT id, decided_at, decided_by, decline_reason, duplicate_of FROM referrals WHERE decided_at IS NOT NULL;

-- Multi-valued facts, a row each.
CREATE TABLE referral_exploitation (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    exploitation TEXT NOT NULL CHECK (exploitation IN ('sexual', 'labour', 'begging', 'forced_illegal_activities', 'forced_marriage', 'other')),
    PRIMARY KEY (referral_id, exploitation)
);
INSERT INTO referral_exploitation (referral_id, exploitation)
    SELECT DISTINCT id, item FROM referrals, unnest(string_to_array(exploitation_types, ',')) AS item WHERE item <> '';

CREATE TABLE referral_indicators (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    indicator TEXT NOT NULL CHECK (length(indicator) BETWEEN 1 AND 100),
    PRIMARY KEY (referral_id, indicator)
);
INSERT INTO referral_indicators (referral_id, indicator)
    SELECT DISTINCT id, item FROM referrals, unnest(string_to_array(indicators, ',')) AS item WHERE item <> '';

CREATE TABLE referral_languages (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    language TEXT NOT NULL CHECK (language ~ '^[a-z]{2,3}$'),
    PRIMARY KEY (referral_id, language)
);
INSERT INTO referral_languages (referral_id, language)
    SELECT DISTINCT referral_id, item FROM referral_people, unnest(string_to_array(languages, ',')) AS item
    WHERE item <> '';

-- Plain personal values of the earlier schema, until the service seals them at start.
CREATE TABLE pending_seal (
    id BIGSERIAL PRIMARY KEY,
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
    referral_id BIGINT PRIMARY KEY REFERENCES referrals (id),
    alias BYTEA,
    age BYTEA,
    nationality BYTEA,
    referrer_contact BYTEA,
    notes BYTEA,
    source_file BYTEA
);

ALTER TABLE referral_consents
    DROP COLUMN collected_by,
    DROP COLUMN contact_detail,
    ADD COLUMN collected_by BYTEA,
    ADD COLUMN contact_detail BYTEA,
    ADD CONSTRAINT referral_consents_audition_date CHECK (audition_date BETWEEN '1900-01-01' AND '2200-12-31'),
    ADD CONSTRAINT referral_consents_scope CHECK (scope IN ('social_protection_information')),
    ADD CONSTRAINT referral_consents_contact_route CHECK (contact_route IN ('cas_operator', 'own_contact', 'prefecture_reconvene'));

-- History: a typed kind, the person an entry is about as a column, details that are codes only
-- (the languages once kept in `mediator_missing` described the person: dropped).
ALTER TABLE referral_events ADD COLUMN subject_user_id BIGINT REFERENCES users (id);
UPDATE referral_events SET subject_user_id = CAST(substr(detail, 6) AS BIGINT)
    WHERE kind IN ('assigned', 'mediator_proposed') AND detail LIKE 'user %';
UPDATE referral_events SET detail = NULL WHERE kind IN ('assigned', 'mediator_proposed', 'mediator_missing');
ALTER TABLE referral_events ADD CONSTRAINT referral_events_kind CHECK (kind IN ('created', 'consent_recorded', 'task_contact_cas', 'task_interview_sai_desk', 'assigned', 'unassigned', 'mediator_proposed', 'mediator_missing', 'acknowledged', 'escalated', 'overdue', 'taken_in_charge', 'declined', 'feedback_sent', 'consent_withdrawn', 'confirmed', 'imported'));

ALTER TABLE referral_feedback DROP COLUMN body, ADD COLUMN body BYTEA;

ALTER TABLE referrals
    DROP COLUMN exploitation_types,
    DROP COLUMN indicators,
    DROP COLUMN assigned_operator_id,
    DROP COLUMN proposed_mediator_id,
    DROP COLUMN acknowledged_at,
    DROP COLUMN escalated_at,
    DROP COLUMN decided_at,
    DROP COLUMN decided_by,
    DROP COLUMN decline_reason,
    DROP COLUMN duplicate_of,
    ADD COLUMN data_key_id BIGINT REFERENCES data_keys (id),
    ADD CONSTRAINT referrals_status CHECK (status IN ('draft', 'new', 'in_charge', 'declined', 'restricted')),
    ADD CONSTRAINT referrals_channel CHECK (channel IN ('hotline', 'email', 'pec', 'portal', 'in_person')),
    ADD CONSTRAINT referrals_source_kind CHECK (source_kind IN ('cas_operator', 'prefecture', 'territorial_commission', 'sai_operator', 'police', 'labour', 'social_health_service', 'street_unit', 'private_citizen', 'self')),
    ADD CONSTRAINT referrals_urgency CHECK (urgency IN ('emergency', 'ordinary')),
    ADD CONSTRAINT referrals_person_gender CHECK (person_gender IN ('female', 'male', 'trans', 'unknown')),
    ADD CONSTRAINT referrals_person_age_band CHECK (person_age_band IS NULL OR person_age_band IN ('0-13', '14-17', '18-24', '25-34', '35-44', '45-54', '55+', 'unknown')),
    ADD CONSTRAINT referrals_emergence_province CHECK (emergence_province IS NULL OR emergence_province ~ '^[0-9]{3}$'),
    ADD CONSTRAINT referrals_emergence_context
        CHECK (emergence_context IS NULL OR emergence_context IN ('arrival', 'cas_arrival', 'street', 'indoor_venues', 'arrest_or_drugs', 'questura_immigration', 'sai_desk', 'health_social', 'labour_inspection', 'other')),
    ADD CONSTRAINT referrals_version CHECK (version >= 1);

-- ----- hotline, roster, outbox -----

ALTER TABLE hotline_calls
    ADD CONSTRAINT hotline_calls_duration CHECK (duration_secs BETWEEN 0 AND 86400),
    ADD CONSTRAINT hotline_calls_language CHECK (language IN ('it', 'en', 'zh', 'ru', 'ro', 'uk', 'es', 'sq', 'mo')),
    ADD CONSTRAINT hotline_calls_caller_kind CHECK (caller_kind IN ('potential_victim', 'relative_or_friend', 'private_citizen', 'service_operator', 'police', 'other')),
    ADD CONSTRAINT hotline_calls_region CHECK (region IS NULL OR region ~ '^[0-9]{2}$'),
    ADD CONSTRAINT hotline_calls_province CHECK (province IS NULL OR province ~ '^[0-9]{3}$'),
    ADD CONSTRAINT hotline_calls_outcome CHECK (outcome IN ('information', 'diverted', 'referral_opened', 'emergency_activation')),
    ADD CONSTRAINT hotline_calls_diverted CHECK (diverted_project IS NULL OR outcome = 'diverted'),
    ADD CONSTRAINT hotline_calls_referral
        CHECK (referral_id IS NULL OR outcome IN ('referral_opened', 'emergency_activation'));

ALTER TABLE shifts
    ADD CONSTRAINT shifts_duty CHECK (duty IN ('operator', 'coordinator', 'mediator')),
    ADD CONSTRAINT shifts_mode CHECK (mode IN ('on_duty', 'on_call')),
    ADD CONSTRAINT shifts_span CHECK (ends_at > starts_at);

ALTER TABLE outbox
    ADD CONSTRAINT outbox_kind CHECK (kind IN ('new_referral', 'emergency', 'escalation', 'overdue', 'decision', 'feedback', 'consent_withdrawn')),
    ADD CONSTRAINT outbox_status CHECK (status IN ('pending', 'sent', 'failed')),
    ADD CONSTRAINT outbox_attempts CHECK (attempts >= 0);
