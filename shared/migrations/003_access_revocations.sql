-- Ended access (identity.access_ended): a logout, a password change, a deactivated account. The
-- consumer of each service writes the event here; the trigger tells every process of the service
-- (LISTEN access_revocations) with the row itself, so each one refuses the covered tokens at once.
-- session_id NULL: every session of the account. Rows are purged once every token they cover
-- has expired (ended_at + the longest token lifetime).
CREATE TABLE access_revocations (
    event_id     uuid        PRIMARY KEY,
    account_id   uuid        NOT NULL,
    session_id   text,
    reason       text        NOT NULL,
    ended_at     timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_revocations_ended ON access_revocations (ended_at);

CREATE FUNCTION access_revocations_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('access_revocations', json_build_object(
        'account_id', NEW.account_id, 'session_id', NEW.session_id,
        'ended_at', extract(epoch FROM NEW.ended_at))::text);
    RETURN NULL;
END $$;
CREATE TRIGGER access_revocations_notify AFTER INSERT ON access_revocations
    FOR EACH ROW EXECUTE FUNCTION access_revocations_notify();
