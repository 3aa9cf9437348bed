from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    seals_secrets = True  # EVENT_SEAL_KEY required in production
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
    delivery_max_attempts: int = Field(8, ge=1, description="tries of a mail before it is given up (every kind of failure)")
    delivery_poll_seconds: float = 1.0
    delivery_retry_base_seconds: float = Field(60.0, gt=0, description="first pause after a temporary failure; doubles, up to an hour")
    delivery_lease_seconds: float = Field(60.0, ge=1, description="a claimed mail's lease, renewed while in hand; "
                                          "after a crash the mails it held are sent after this")
    delivery_claim_size: int = Field(8, ge=1, le=100, description="deliveries one SMTP connection claims at a time")
    delivery_retention_days: int = Field(30, ge=1, description="sent and failed deliveries are deleted after this")
    public_base_url: str = Field("http://localhost:8080", description="the portal, for links in mails the "
                                 "service makes itself (the daily digest)")
    digest_auto: bool = Field(True, description="send the daily digest to MBO staff automatically (one process "
                                                "wins each day); off: only by hand (tests)")
    digest_hour: int = Field(7, ge=0, le=23, description="the hour (Europe/Amsterdam) from which the day's digest "
                                                        "is sent")
    digest_check_seconds: float = Field(300.0, gt=0, description="how often each process checks whether today's "
                                                                 "digest is due")
