-- Security hardening (issue 10).
--
-- The BSN typed at registration is a claim, not a binding: several accounts (addresses) may claim
-- one BSN. An account is bound to a student when it redeems that student's activation code and the
-- roster's BSN equals its claim (students.account_id, unique: one account per roster student); the
-- other unlinked accounts claiming that BSN are released then (bsn_* emptied, bsn_released_at set).
ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_bsn_hmac_key;
CREATE INDEX accounts_bsn_claim ON accounts (bsn_hmac) WHERE bsn_hmac IS NOT NULL;
ALTER TABLE accounts ADD COLUMN bsn_released_at timestamptz;

-- Throttle counters count the tries in flight besides the failures: a try is counted before its
-- (slow) check and settled after it, so parallel tries cannot pass the hard limit
-- (services/identity/store/throttle.py). last_failure_at: the last failure (or the row's start).
ALTER TABLE throttle ADD COLUMN in_flight integer NOT NULL DEFAULT 0;
ALTER TABLE throttle ADD COLUMN in_flight_at timestamptz;
