DROP TABLE referral_labour_sectors;
