"""Who does something, as the history and the audit record it."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.auth import Principal


@dataclass(frozen=True)
class Actor:
    """Who does something, as the history and the audit record it."""

    role: str
    account_id: uuid.UUID | None
    ref: str | None
    name: str | None

    @staticmethod
    def of(principal: Principal, name: str | None = None) -> "Actor":
        ref = principal.staff_id or principal.student_id or principal.client_id
        return Actor(principal.role, principal.account_id, str(ref) if ref else None, name or principal.name)
