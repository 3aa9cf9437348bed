"""The event envelope: CloudEvents attribute names, JSON structured mode."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    """One event as it travels. ``data`` is validated against the payload model of ``type``."""

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="unique per event; consumers dedupe on it")
    source: str = Field(description="the producing service, e.g. /doorstroom/identity")
    type: str = Field(description="the event type, also the routing key, e.g. identity.verification_requested")
    dataversion: int = Field(1, ge=1, description="schema version of data for this type")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = Field(None, description="the entity the event is about (an id, never personal data)")
    datacontenttype: Literal["application/json"] = "application/json"
    requestid: str | None = Field(None, description="the request that caused the event, for tracing")
    data: dict[str, Any]
