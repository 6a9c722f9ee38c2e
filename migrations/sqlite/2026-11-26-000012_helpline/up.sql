-- The 1522 anti-violence helpline (seed 000): the switchboard's calls and the chats as imported
-- from Asterisk and LiveHelperChat (no caller number, name or address is kept: only what the
-- quarterly report counts), and the operators' contact records (schede) with their referrals to
-- the anti-violence network.

CREATE TABLE helpline_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Asterisk's uniqueid (the queue_log callid): a re-import adds nothing.
    uniqueid TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    started_at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('answered', 'unanswered', 'voicemail', 'abandoned', 'blacklisted', 'welcome_closed', 'outgoing')),
    wait_secs INTEGER CHECK (wait_secs >= 0),
    talk_secs INTEGER CHECK (talk_secs >= 0),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX helpline_calls_started ON helpline_calls (started_at);

CREATE TABLE helpline_chats (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- LiveHelperChat's chat id, or a digest of the simple CSV's line.
    external_id TEXT NOT NULL UNIQUE,
    started_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('app', 'site')),
    first_response_secs INTEGER CHECK (first_response_secs >= 0),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX helpline_chats_started ON helpline_chats (started_at);

-- A contact record (scheda): only contacts with content; interrupted and empty ones are not records.
CREATE TABLE helpline_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contacted_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('phone', 'chat_app', 'chat_site')),
    who TEXT CHECK (who IN ('victim', 'family', 'friends', 'neighbour', 'police', 'health_worker', 'other')),
    region TEXT,
    reason TEXT CHECK (reason IN ('violence_help', 'stalking_help', 'violence_report', 'discrimination_help', 'emergency', 'legal_info', 'service_info', 'professional_procedures', 'counselling', 'centre_info', 'off_target', 'public_servant_liability', 'service_malfunction', 'media_report', 'psychological_distress', 'hoax', 'harassment', 'wrong_number')),
    learned_from TEXT CHECK (learned_from IN ('internet', 'friends', 'campaign', 'relatives', 'social_media', 'public_service', 'school', 'press', 'place_of_worship', 'counselling_centre', 'other')),
    first_contact BOOLEAN,
    atr TEXT,
    operator_id BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX helpline_contacts_at ON helpline_contacts (contacted_at);

-- Referrals to the network made in a contact (several per contact).
CREATE TABLE helpline_contact_referrals (
    contact_id BIGINT NOT NULL REFERENCES helpline_contacts (id),
    target TEXT NOT NULL CHECK (target IN ('anti_violence_centre', 'police', 'counselling_centre', 'social_services', 'health_services', 'legal', 'shelter', 'other')),
    PRIMARY KEY (contact_id, target)
);

-- The network directory (Mappatura): anti-violence centres, shelters, social-health services,
-- police contacts. A shelter's address is secret: never in clear, sealed under a data key of its
-- own and shown only on an audited request, as an escape point's.
CREATE TABLE helpline_services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('anti_violence_centre', 'shelter', 'social_health', 'police')),
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    province TEXT NOT NULL,
    municipality TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    address TEXT,
    sealed_address BLOB,
    data_key_id BIGINT REFERENCES data_keys (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, name, municipality),
    CHECK (kind <> 'shelter' OR address IS NULL)
);
CREATE INDEX helpline_services_province ON helpline_services (province);
