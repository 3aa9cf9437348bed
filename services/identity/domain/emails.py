"""How an e-mail address is compared and stored: without surrounding spaces, in lower case."""
from __future__ import annotations


def normalize_email(email: str) -> str:
    return email.strip().lower()
