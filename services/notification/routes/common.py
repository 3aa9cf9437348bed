"""The notification service's API object; each route module registers on it."""
from __future__ import annotations

from shared.api import Api

api = Api(title="Doorstroom notification")
