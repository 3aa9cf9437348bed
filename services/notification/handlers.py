"""Which mail each event asks for: the subscriptions of every ``on_<producer>`` module."""
from __future__ import annotations

from services.notification import digest, on_document, on_dossier, on_identity, on_retention

SUBSCRIPTIONS = [*on_identity.SUBSCRIPTIONS, *on_dossier.SUBSCRIPTIONS, *on_document.SUBSCRIPTIONS,
                 *on_retention.SUBSCRIPTIONS, *digest.SUBSCRIPTIONS]
