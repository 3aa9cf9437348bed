from __future__ import annotations

from shared.settings import ServiceSettings


class DocumentSettings(ServiceSettings):
    service_name: str = "document"
    http_port: int = 8084
