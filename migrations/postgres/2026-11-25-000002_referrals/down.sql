DROP TABLE outbox;
DROP TABLE shifts;
DROP TABLE hotline_calls;
DROP TABLE idempotency_keys;
DROP TABLE referral_feedback;
DROP TABLE referral_events;
DROP TABLE referrals;
ALTER TABLE users DROP COLUMN languages;
