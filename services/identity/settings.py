"""Identity's configuration, from environment variables (see the table in the README)."""
from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from shared.settings import ServiceSettings

# Development only: used when the keys are not set and ENVIRONMENT is not production. They are
# public (they are in this file), so data encrypted with them is not protected at all.
DEV_BSN_ENCRYPTION_KEY = base64.b64encode(b"doorstroom-DEV-ONLY-bsn-aes-key!").decode()
DEV_BSN_HMAC_KEY = base64.b64encode(b"doorstroom-DEV-ONLY-bsn-hmac-key").decode()
DEV_ACTIVATION_CODE_KEY = base64.b64encode(b"doorstroom-DEV-ONLY-code-hmackey").decode()


def _key_bytes(name: str, value: SecretStr, sizes: tuple[int, ...]) -> bytes:
    try:
        raw = base64.b64decode(value.get_secret_value(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} is not valid base64") from None
    if len(raw) not in sizes:
        raise ValueError(f"{name} must decode to {' or '.join(map(str, sizes))} bytes, not {len(raw)}")
    return raw


class IdentitySettings(ServiceSettings):
    seals_secrets = True  # EVENT_SEAL_KEY required in production
    service_name: str = "identity"
    http_port: int = 8081
    environment: Literal["development", "test", "production"] = Field(
        "development", description="production refuses to start without real keys")
    public_base_url: str = Field("http://localhost:8080", description="the portal, for links in mails")

    # personal data at rest
    bsn_encryption_key: SecretStr | None = Field(None, description="base64 AES-256-GCM key (32 bytes)")
    bsn_hmac_key: SecretStr | None = Field(None, description="base64 HMAC-SHA256 key (>= 32 bytes) for look-ups")
    activation_code_key: SecretStr | None = Field(
        None, description="base64 HMAC-SHA256 key (>= 32 bytes) of the stored activation codes; change it only "
                          "when no code is outstanding (after 31 July): codes issued before stop working")

    # passwords: Argon2id at OWASP's recommendation (m=19 MiB, t=2, p=1)
    argon2_time_cost: int = Field(2, ge=1)
    argon2_memory_kib: int = Field(19_456, ge=8)
    argon2_parallelism: int = Field(1, ge=1)
    password_hash_threads: int = Field(0, ge=0, le=64, description="0 = one per CPU")

    # tokens and sessions
    access_token_ttl_seconds: int = Field(900, ge=30)
    session_max_hours: float = Field(12, gt=0, description="a session (refresh token) ends after this")
    verification_ttl_hours: float = Field(48, gt=0)
    password_reset_ttl_minutes: float = Field(30, gt=0)
    invitation_ttl_hours: float = Field(168, gt=0)
    mail_repeat_seconds: float = Field(60, ge=0, description="at most one reset or notice mail per address per interval")
    client_token_ttl_seconds: int = Field(600, ge=30, le=900, description=(
        "access tokens of machine clients (POST /oauth/token); at most the longest token lifetime the other "
        "services keep ends of access for"))
    client_rotation_overlap_minutes: int = Field(60, ge=0, le=1440, description=(
        "after a rotation the old client secret or key keeps working this long, unless the rotation says otherwise"))
    oauth_token_url: str | None = Field(None, description=(
        "the public URL of POST /oauth/token (behind a proxy): a private_key_jwt client assertion's aud"))
    housekeeping_retention_days: int = Field(30, ge=1, description="expired links, ended sessions: deleted after this")

    # throttling (counters in Postgres, shared by every process)
    login_account_soft_limit: int = Field(5, ge=1, description="failures per account before slowing down")
    login_account_hard_limit: int = Field(10, ge=1, description="failures per account before blocking")
    login_ip_soft_limit: int = Field(50, ge=1)
    login_ip_hard_limit: int = Field(200, ge=1)
    redeem_soft_limit: int = Field(5, ge=1, description="wrong activation codes per account before slowing down")
    redeem_hard_limit: int = Field(10, ge=1)
    register_ip_soft_limit: int = Field(50, ge=1, description="registrations per IP address before slowing down")
    register_ip_hard_limit: int = Field(100, ge=1, description="registrations per IP address before blocking")
    throttle_window_minutes: float = Field(15, gt=0)
    throttle_block_minutes: float = Field(15, gt=0)
    throttle_max_delay_seconds: float = Field(60, ge=0)
    trusted_proxies: int = Field(0, ge=0, description="proxies in front that append to X-Forwarded-For")

    # roster and activation codes
    roster_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    roster_max_rows: int = Field(20_000, ge=1)
    roster_import_chunk_size: int = Field(200, ge=1, le=5000, description="students per transaction of an import job")
    roster_import_poll_seconds: float = Field(2.0, gt=0, description="how often a worker looks for unfinished imports")
    roster_import_max_attempts: int = Field(5, ge=1, description="failed chunks in a row before an import fails")
    activation_code_valid_days: int | None = Field(None, ge=1, description="unset = until 31 July (end of school year)")

    @model_validator(mode="after")
    def _check_keys(self) -> "IdentitySettings":
        if self.environment == "production":
            missing = [n for n, v in (("BSN_ENCRYPTION_KEY", self.bsn_encryption_key),
                                      ("BSN_HMAC_KEY", self.bsn_hmac_key),
                                      ("ACTIVATION_CODE_KEY", self.activation_code_key)) if v is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} must be set when ENVIRONMENT=production")
        self.encryption_key_bytes()
        self.hmac_key_bytes()
        self.code_key_bytes()
        return self

    @property
    def uses_dev_keys(self) -> bool:
        return self.bsn_encryption_key is None or self.bsn_hmac_key is None

    def encryption_key_bytes(self) -> bytes:
        value = self.bsn_encryption_key or SecretStr(DEV_BSN_ENCRYPTION_KEY)
        return _key_bytes("BSN_ENCRYPTION_KEY", value, (16, 24, 32))

    def hmac_key_bytes(self) -> bytes:
        value = self.bsn_hmac_key or SecretStr(DEV_BSN_HMAC_KEY)
        return _key_bytes("BSN_HMAC_KEY", value, tuple(range(32, 129)))

    def code_key_bytes(self) -> bytes:
        value = self.activation_code_key or SecretStr(DEV_ACTIVATION_CODE_KEY)
        return _key_bytes("ACTIVATION_CODE_KEY", value, tuple(range(32, 129)))

    def link(self, path: str) -> str:
        return self.public_base_url.rstrip("/") + path
