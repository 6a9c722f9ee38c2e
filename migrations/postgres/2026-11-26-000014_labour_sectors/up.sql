-- The sector of labour exploitation, where known (issue 10: "sector of exploitation where known";
-- the CTDC global dataset's typeOfLabour* fields). Multi-valued: one row per sector.
CREATE TABLE referral_labour_sectors (
    referral_id BIGINT NOT NULL REFERENCES referrals (id),
    sector TEXT NOT NULL CHECK (sector IN ('agriculture', 'construction', 'domestic_work', 'hospitality', 'manufacturing', 'other')),
    PRIMARY KEY (referral_id, sector)
);
