"""Portal configuration, from environment variables (no prefix)."""
from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    service_name: str = "portal"
    http_port: int = 8080
    identity_url: str = Field("http://127.0.0.1:8081", description="identity's HTTP API")
    dossier_url: str = Field("http://127.0.0.1:8082", description="dossier's HTTP API")
    document_url: str = Field("http://127.0.0.1:8084", description="document's HTTP API")
    public_base_url: str = Field("http://localhost:8080", description="where people reach the portal")
    cookie_secure: bool = Field(True, description="Secure flag on the session cookie (browsers send "
                                "Secure cookies to http://localhost too)")
    session_cookie: str = "doorstroom_sessie"
    session_idle_minutes: int = Field(60, ge=5, description="a session ends after this long unused")
    session_max_hours: int = Field(12, ge=1, description="and after this long in any case")
    backend_timeout_seconds: float = 15.0
    page_size: int = Field(25, ge=5, le=200)
    helpdesk_email: str = "helpdesk@doorstroom.nl"
    helpdesk_phone: str = "0318-860052"
    helpdesk_url: str = ""
