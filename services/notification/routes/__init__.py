"""Notification's HTTP API: the operator's view of the mails."""
