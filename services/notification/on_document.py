"""Mails for the document service's events."""
from __future__ import annotations

from shared.consumer import Subscription

SUBSCRIPTIONS: list[Subscription] = []
