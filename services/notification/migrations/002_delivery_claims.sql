-- Deliveries are claimed like print jobs (shared/claims.py): a claim token and a lease that the
-- worker renews while the mail is in hand; an outcome is written only by the holder of the claim.
-- error_kind says what kind of failure a failed delivery had, without personal data, for the
-- counts in GET /v1/deliveries/stats.
ALTER TABLE deliveries RENAME COLUMN locked_until TO lease_until;
ALTER TABLE deliveries ADD COLUMN claim_token uuid;
ALTER TABLE deliveries ADD COLUMN error_kind text;
CREATE INDEX deliveries_failed ON deliveries (created_at) WHERE status = 'failed';
