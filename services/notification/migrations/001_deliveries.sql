-- Every mail and its state. A delivery is made from an event in the consumer's transaction
-- (with the inbox row), and sent afterwards by the delivery worker, so a redelivered event
-- never makes a second mail and a crash between the two loses nothing.
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    event_id        uuid        NOT NULL,
    template        text        NOT NULL,
    recipient       text        NOT NULL,
    context         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    last_error      text,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (event_id, template, recipient)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_recipient ON deliveries (recipient);

CREATE FUNCTION deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deliveries', '');
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_notify();
