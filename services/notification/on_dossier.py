"""Signal mails for the dossier workflow's events."""
from __future__ import annotations

from shared.consumer import Subscription

SUBSCRIPTIONS: list[Subscription] = []
