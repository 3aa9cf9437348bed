"""Pure rules of the notification service (no SQL, no SMTP, no AMQP)."""
