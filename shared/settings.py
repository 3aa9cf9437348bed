"""Settings every service shares; each service subclasses with its own defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from environment variables (no prefix), e.g. ``DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    service_name: str = "service"
    database_url: str = ""
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    event_exchange: str = "doorstroom.events"
    event_archive: bool = Field(True, description="keep every event in a stream for replay")
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

    def effective_database_url(self) -> str:
        return self.database_url or f"postgresql://postgres@127.0.0.1:5432/doorstroom_{self.service_name}"
