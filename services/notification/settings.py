from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    service_name: str = "notification"
    http_port: int = 8083
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "Doorstroom <noreply@doorstroom.local>"
    smtp_connections: int = Field(4, ge=1, le=64)
    smtp_timeout_seconds: float = 15.0
    smtp_use_tls: bool = False
    smtp_start_tls: bool | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    delivery_max_attempts: int = 8
    delivery_poll_seconds: float = 1.0
    delivery_retention_days: int = Field(30, ge=1, description="sent and failed deliveries are deleted after this")
