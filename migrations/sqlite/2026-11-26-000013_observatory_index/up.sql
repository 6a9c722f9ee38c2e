-- The observatory reads every referral of a period: one index holding the period and every
-- column its tables group by, so that a report over a long period reads the index alone
-- (SQLite: a covering index; PostgreSQL: an index-only scan once vacuumed) instead of jumping
-- from the period index to each row.
CREATE INDEX referrals_observatory ON referrals (
    received_at, status, person_gender, person_age_band, person_minor, person_citizenship,
    source_kind, channel, emergence_province, exploitation_province, id
);
