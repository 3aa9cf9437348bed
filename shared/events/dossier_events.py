"""Events published by the dossier service. ``dossier.completed`` is what MBO systems subscribe to."""
from __future__ import annotations

__all__: list[str] = []
