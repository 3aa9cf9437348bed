"""Every event type of Doorstroom, with its payload. These modules ARE the published contract:
docs/asyncapi.json is generated from them (``python -m shared.events.asyncapi``).

One module per producing service; importing this module registers them all. Events carry what a
consumer needs to act and no more personal data than that: never a BSN.
"""
from __future__ import annotations

from shared.events.identity_events import *  # noqa: F401,F403
from shared.events.dossier_events import *  # noqa: F401,F403
from shared.events.document_events import *  # noqa: F401,F403
