"""Events published by the document service."""
from __future__ import annotations

__all__: list[str] = []
