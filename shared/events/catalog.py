"""Every event type of Doorstroom, with its payload. This module IS the published contract:
docs/asyncapi.json is generated from it (``python -m shared.events.asyncapi``).

Events carry what a consumer needs to act and no more personal data than that: never a BSN.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.events.registry import event


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


@event("identity.verification_requested", producer="identity",
       summary="Someone asked to verify an e-mail address; the link lets them continue.")
class VerificationRequested(Payload):
    verification_id: uuid.UUID
    email: EmailStr
    verify_url: str = Field(description="single-use link that expires at expires_at")
    expires_at: datetime
