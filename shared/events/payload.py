from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """Base of every event's ``data``: unknown fields are ignored, so adding a field is compatible."""

    model_config = ConfigDict(extra="ignore", frozen=True)
