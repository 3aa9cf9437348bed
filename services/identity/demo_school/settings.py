"""Where the demo loader finds the services it drives (the same variables as the portal's)."""
from __future__ import annotations

from pydantic import Field

from services.identity.settings import IdentitySettings


class DemoSettings(IdentitySettings):
    """Identity's settings (the loader writes identity's demo data) plus the services' addresses."""

    identity_url: str = Field("http://127.0.0.1:8081", description="identity's HTTP API")
    dossier_url: str = Field("http://127.0.0.1:8082", description="dossier's HTTP API")
    demo_wait_seconds: float = Field(60.0, gt=0, description="how long the loader waits for what travels as events "
                                                             "(a student, a programme, a parent's link)")
