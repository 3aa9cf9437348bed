from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class DossierSettings(ServiceSettings):
    """Environment variables of the dossier service (besides those of every service)."""

    seals_secrets = True  # EVENT_SEAL_KEY required in production
    service_name: str = "dossier"
    http_port: int = 8082
    public_base_url: str = Field("http://localhost:8080",
                                 description="the portal, for links in mails (dossier pages, parent links)")
    school_year: str | None = Field(None, pattern=r"^\d{4}-\d{4}$",
                                    description="school year for new dossiers; default: today's (1 August - 31 July)")
    parent_link_secret: SecretStr | None = Field(
        None, description="key for parent links; default: one made once and kept in the database")
    parent_link_days: int = Field(14, ge=1, le=90, description="how long a parent link stays valid")
    agreement_overdue_days: int = Field(14, ge=1, description="days in the agreement step before a student is flagged")
    reminder_repeat_days: int = Field(7, ge=1, description="days between automatic reminders to the same student")
    reminder_auto: bool = Field(True, description="send reminders automatically (once a day, one process does it)")
    reminder_check_seconds: float = Field(900.0, gt=0, description="how often each process checks whether today's run is due")
    retention_notice_days: int = Field(30, ge=1, le=180, description=(
        "days between the notice to the school (dossier.retention_notice) and the erasure by the retention rule; "
        "nothing is erased before the school was told this long"))
    retention_auto: bool = Field(True, description="apply the retention rule once a day (one process does it)")
    retention_check_seconds: float = Field(3600.0, gt=0, description="how often each process checks whether "
                                                                     "today's retention run is due")
    page_size_default: int = Field(25, ge=1, le=500)
    page_size_max: int = Field(100, ge=1, le=500)
