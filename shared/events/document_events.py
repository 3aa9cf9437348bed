"""Events published by the document service."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from shared.events.payload import Payload
from shared.events.registry import event

__all__ = ["PrintJobCompleted", "PrintJobFailed"]

PrintJobKind = Literal["activation_letters"]


@event("document.print_job_completed", producer="document",
       summary="A print job (a batch of activation letters) is rendered: its PDF can be downloaded "
               "by the one who asked for it.")
class PrintJobCompleted(Payload):
    job_id: uuid.UUID
    kind: PrintJobKind = "activation_letters"
    batch_id: uuid.UUID = Field(description="the batch of identity.activation_letters_requested")
    school_id: uuid.UUID
    requested_by: uuid.UUID = Field(description="account id of the counsellor or mentor who asked")
    requested_by_email: EmailStr
    pages: int = Field(ge=0, description="one page per letter")
    download_url: str = Field(description="the portal page where the requester downloads the PDF")
    expires_at: datetime = Field(description="the PDF is removed after this moment")


@event("document.print_job_failed", producer="document",
       summary="A print job could not be rendered after its retries; the requester may try again.")
class PrintJobFailed(Payload):
    job_id: uuid.UUID
    kind: PrintJobKind = "activation_letters"
    batch_id: uuid.UUID
    school_id: uuid.UUID
    requested_by: uuid.UUID
    requested_by_email: EmailStr
    reason: str = Field(description="Dutch, for the requester")
    page_url: str = Field(description="the portal page of the print job")
