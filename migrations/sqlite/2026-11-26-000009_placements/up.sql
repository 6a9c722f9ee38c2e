-- Escape points (punti di fuga) and the placements of persons in them (seed 004: emergency
-- reception 24/7 through twelve escape points). A point's address is sealed under its own data
-- key and shown only on request, audited.

CREATE TABLE escape_points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    province TEXT NOT NULL,
    address BLOB,
    data_key_id BIGINT REFERENCES data_keys (id),
    beds INTEGER NOT NULL CHECK (beds >= 0),
    family_rooms INTEGER NOT NULL CHECK (family_rooms >= 0),
    takes_women BOOLEAN NOT NULL,
    takes_men BOOLEAN NOT NULL,
    takes_minors BOOLEAN NOT NULL,
    takes_children BOOLEAN NOT NULL,
    takes_trans BOOLEAN NOT NULL,
    accessible BOOLEAN NOT NULL,
    contact_phone TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    suspended_reason TEXT,
    example BOOLEAN NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Languages spoken by a point's staff (ISO 639).
CREATE TABLE escape_point_languages (
    point_id BIGINT NOT NULL REFERENCES escape_points (id),
    language TEXT NOT NULL,
    PRIMARY KEY (point_id, language)
);

-- Holds, placements and turn-aways of a case at a point.
CREATE TABLE placements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    point_id BIGINT NOT NULL REFERENCES escape_points (id),
    kind TEXT NOT NULL CHECK (kind IN ('hold', 'emergency', 'observation', 'transfer')),
    place_type TEXT NOT NULL CHECK (place_type IN ('bed', 'family_room')),
    status TEXT NOT NULL CHECK (status IN ('held', 'placed', 'checked_in', 'checked_out', 'released', 'expired', 'turned_away')),
    operator_id BIGINT REFERENCES users (id),
    expires_at TIMESTAMP,
    checked_in_at TIMESTAMP,
    ended_at TIMESTAMP,
    check_out_reason TEXT CHECK (check_out_reason IN ('programme_entry', 'moved_on', 'left_own_will', 'returned_to_exploiter', 'unknown')),
    turn_away_reason TEXT CHECK (turn_away_reason IN ('no_space', 'does_not_fit', 'refused_by_person')),
    version BIGINT NOT NULL CHECK (version >= 1),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX placements_case ON placements (case_id, id);
CREATE INDEX placements_point ON placements (point_id, status);
CREATE INDEX placements_open ON placements (status, expires_at);
