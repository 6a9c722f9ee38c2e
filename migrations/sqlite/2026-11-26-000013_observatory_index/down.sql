DROP INDEX referrals_observatory;
