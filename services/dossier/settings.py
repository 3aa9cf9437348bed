from __future__ import annotations

from shared.settings import ServiceSettings


class DossierSettings(ServiceSettings):
    service_name: str = "dossier"
    http_port: int = 8082
