from __future__ import annotations

import os

from pydantic import Field

from shared.settings import ServiceSettings


class DocumentSettings(ServiceSettings):
    seals_secrets = True  # EVENT_SEAL_KEY required in production
    service_name: str = "document"
    http_port: int = 8084
    render_processes: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1), ge=1, le=32,
                                  description="size of the process pool that renders PDFs")
    letters_chunk_size: int = Field(50, ge=1, le=1000,
                                    description="letters rendered per piece; bounds memory and sets progress steps")
    print_job_lease_seconds: float = Field(60.0, gt=0,
                                           description="a job whose worker was not heard of this long is taken over")
    print_job_max_attempts: int = Field(5, ge=1, description="claims of a job before it is marked failed")
    print_job_poll_seconds: float = Field(2.0, gt=0, description="how often the worker looks for jobs without a signal")
    file_ttl_hours: float = Field(24 * 14, gt=0, description="how long a rendered file is kept")
    cleanup_interval_seconds: float = Field(3600.0, gt=0, description="how often expired files are removed")
    dossier_url: str = Field("http://127.0.0.1:8082", description="base URL of the dossier service")
    dossier_timeout_seconds: float = Field(10.0, gt=0)
    public_base_url: str = Field("http://localhost:8080",
                                 description="the portal, for links in mails (the print job's download page)")
    scratch_dir: str | None = Field(None, description="folder for temporary files while merging (default: system temp)")
