"""Settings every service shares; each service subclasses with its own defaults."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from environment variables (no prefix), e.g. ``DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # services that seal or open secret event fields (and secrets at rest) refuse to start in
    # production without EVENT_SEAL_KEY; the portal and the operator commands need no key
    seals_secrets: ClassVar[bool] = False

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = Field(
        "development", description="production refuses to start without real keys")
    event_seal_key: SecretStr | None = Field(
        None, description="base64 AES-256-GCM key (32 bytes) that seals secret event fields and secrets at rest "
                          "(shared by identity, dossier, notification, document); a public development key "
                          "outside production")
    event_seal_old_keys: SecretStr | None = Field(
        None, description="former EVENT_SEAL_KEYs, comma-separated: still opened, never used to seal (rotation)")
    database_url: str = ""
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    event_exchange: str = "doorstroom.events"
    event_archive: bool = Field(True, description="keep every event in a stream for replay (<exchange>.archive)")
    event_archive_max_age: str = Field("30D", pattern=r"^[0-9]+[YMDhms]$",
                                       description="how long the archive keeps events (RabbitMQ x-max-age: 30D, 12h, ...)")
    event_archive_max_bytes: int = Field(5 * 1024 ** 3, ge=1024 ** 2, description="largest size of the archive")
    startup_timeout_seconds: float = Field(120.0, ge=0, description="how long a starting service keeps trying "
                                           "to reach PostgreSQL and RabbitMQ before it gives up")
    outbox_max_attempts: int = Field(10, ge=1, description="tries of an event the broker refuses before it is "
                                     "parked in the outbox")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    workers: int = Field(1, ge=1, le=64)
    log_level: str = "INFO"
    db_pool_min: int = 2
    db_pool_max: int = 10
    outbox_poll_seconds: float = 1.0
    consumer_prefetch: int = 32
    queue_type: Literal["quorum", "classic"] = Field(
        "quorum", description="type of each consumer's work and parking queues (quorum in production)")
    retry_delays_ms: tuple[int, ...] = (1_000, 5_000, 30_000, 120_000)
    max_body_bytes: int = 1_048_576
    auth_jwks_url: str = Field("http://127.0.0.1:8081/.well-known/jwks.json",
                               description="where identity serves its public keys")
    access_token_ttl_seconds: int = Field(900, ge=30, description="the longest lifetime of an access token: how "
                                          "long an ended access (identity.access_ended) is remembered")

    @field_validator("event_seal_key", "event_seal_old_keys", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # compose's ${EVENT_SEAL_KEY:-}

    @model_validator(mode="after")
    def _check_seal_keys(self) -> "ServiceSettings":
        if self.seals_secrets and self.environment == "production" and self.event_seal_key is None:
            raise ValueError("EVENT_SEAL_KEY must be set when ENVIRONMENT=production")
        from shared.sealing import keyring_from

        if self.event_seal_key is not None or self.event_seal_old_keys is not None:
            keyring_from(self)  # a key that is not base64 of 32 bytes stops the start here
        return self

    def effective_database_url(self) -> str:
        return self.database_url or f"postgresql://postgres@127.0.0.1:5432/doorstroom_{self.service_name}"
