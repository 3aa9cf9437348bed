from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """Base of every event's ``data``: unknown fields are ignored, so adding a field is compatible.

    A field that lets its holder act (a link with a token, an activation code) is typed
    ``shared.sealing.Sealed``: producers pass a plain string, it travels and rests sealed, and a
    consumer calls ``.reveal()``. ``tests/unit/test_sealing.py`` lists the sealed fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)
