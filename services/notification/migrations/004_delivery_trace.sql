-- The W3C trace context of the event a delivery was made from (shared/tracing.py): the sending
-- of the mail continues that trace, so one user action can be followed into the mail.
ALTER TABLE deliveries ADD COLUMN traceparent text;
