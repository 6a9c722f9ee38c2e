-- The observatory (seed 004, "Osservatorio sul fenomeno"): two more non-identifying facts of a
-- referral that its indicators need, kept in plain columns beside gender and age band so that
-- reports group by them in SQL (the nationality as typed stays sealed in referral_people).
-- Citizenship as an ISO 3166-1 alpha-2 code; the territory of exploitation as an ISTAT province.
ALTER TABLE referrals ADD COLUMN person_citizenship TEXT
    CHECK (person_citizenship IS NULL OR (length(person_citizenship) = 2 AND person_citizenship NOT GLOB '*[^A-Z]*'));
ALTER TABLE referrals ADD COLUMN exploitation_province TEXT
    CHECK (exploitation_province IS NULL OR (length(exploitation_province) = 3 AND exploitation_province NOT GLOB '*[^0-9]*'));
-- The age in the bands of the IOM Counter Trafficking Data Collaborative (CTDC), from the exact
-- age when one was given (the exact age stays sealed).
ALTER TABLE referrals ADD COLUMN person_age_broad TEXT
    CHECK (person_age_broad IS NULL OR person_age_broad IN ('0--8', '9--17', '18--20', '21--23', '24--26', '27--29', '30--38', '39--47', '48+'));
-- Reports select a period of registration.
CREATE INDEX referrals_received ON referrals (received_at);
