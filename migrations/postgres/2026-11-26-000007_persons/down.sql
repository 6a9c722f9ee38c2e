DROP TABLE match_decisions;
DROP TABLE referral_blind;
DROP TABLE index_keys;
