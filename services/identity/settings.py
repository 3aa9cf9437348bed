from __future__ import annotations

from shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    http_port: int = 8081
    public_base_url: str = "http://localhost:8080"
    verification_ttl_hours: int = 48
