DROP INDEX referrals_received;
ALTER TABLE referrals DROP COLUMN person_age_broad;
ALTER TABLE referrals DROP COLUMN exploitation_province;
ALTER TABLE referrals DROP COLUMN person_citizenship;
