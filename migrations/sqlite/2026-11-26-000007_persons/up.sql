-- One person across channels (seed 004: "la stessa persona può emergere attraverso i diversi
-- canali"): blind indexes of each referral's personal fields, to find the referrals that may be
-- about the same person without decrypting them, and the operators' decisions on the proposals.

-- The deployment's blind-index keys: a data key per purpose, stored wrapped like every data key
-- (a master-key rotation rewraps it and the indexes stay valid). Referrals stored before the key
-- existed (ids below `backfill_below`) are indexed at start; `backfilled_to` is how far that got.
CREATE TABLE index_keys (
    purpose TEXT PRIMARY KEY CHECK (purpose IN ('person_match')),
    data_key_id BIGINT NOT NULL REFERENCES data_keys (id),
    backfill_below BIGINT NOT NULL CHECK (backfill_below >= 0),
    backfilled_to BIGINT NOT NULL CHECK (backfilled_to >= 0),
    created_at TIMESTAMP NOT NULL
);

-- Keyed digests (16 bytes) of a referral's normalised alias, its phonetic codes, nationality and
-- birth year. Deleted with the referral's personal data when consent is withdrawn.
CREATE TABLE referral_blind (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('alias', 'alias_phonetic', 'nationality', 'birth_year')),
    token BLOB NOT NULL CHECK (length(token) = 16),
    PRIMARY KEY (referral_id, purpose, token)
) WITHOUT ROWID;
CREATE INDEX referral_blind_lookup ON referral_blind (purpose, token, referral_id);

-- What the operators decided about a proposed match: the referral is about this person
-- (confirmed), is not (rejected: never proposed again), or was linked by mistake (unlinked).
-- Reasons are codes (`alias=phonetic;nationality=match;…`), never a personal value.
CREATE TABLE match_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected', 'unlinked')),
    score INTEGER CHECK (score >= 0 AND score <= 100),
    reasons TEXT,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP NOT NULL
);
CREATE INDEX match_decisions_referral ON match_decisions (referral_id, person_id, id);
CREATE INDEX match_decisions_person ON match_decisions (person_id, id);
