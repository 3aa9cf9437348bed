"""A valid payload for every registered event type, every optional field filled: what the contract
tests publish, decode and validate. Made from the payload models themselves, so a new event type or
field is covered without a change here."""
from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, EmailStr
from pydantic.fields import FieldInfo

from shared.events.envelope import Envelope
from shared.events.registry import EventType
from shared.sealing import Sealed


def _bounds(info: FieldInfo | None) -> tuple[int | None, int | None]:
    low = high = None
    for m in (info.metadata if info else []):
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low = m.gt + 1
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high = m.lt - 1
    return low, high


def _text(name: str) -> str:
    if name.endswith("url"):
        return f"https://portaal.example.nl/{name}/{uuid.uuid4().hex[:8]}"
    if name == "crebo":
        return "25655"
    if name == "brin":
        return "12AB"
    if name == "school_year":
        return "2026-2027"
    return f"{name.replace('_', ' ')} voorbeeld"


def sample_value(annotation: Any, name: str, info: FieldInfo | None = None) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return sample_value(args[0], name, info)
    if origin in (typing.Union, types.UnionType):
        return sample_value(next(a for a in args if a is not type(None)), name, info)
    if origin is Literal:
        return args[0]
    if origin in (list, tuple, set, frozenset):
        return [sample_value(args[0], name)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sample_payload(annotation)
    if annotation is EmailStr or name.endswith("email"):
        return f"{name.replace('_', '.')}@example.nl"
    if annotation is Sealed:
        return f"https://portaal.example.nl/link?token={uuid.uuid4().hex}"
    if annotation is uuid.UUID:
        return uuid.uuid4()
    if annotation is datetime:
        return datetime.now(UTC) + timedelta(days=1)
    if annotation is date:
        return date(2010, 5, 17)
    if annotation is bool:
        return True
    if annotation is int:
        low, high = _bounds(info)
        value = max(low if low is not None else 1, 1)
        return min(value, high) if high is not None else value
    if annotation is str:
        return _text(name)
    raise TypeError(f"no sample for {name}: {annotation!r}")


def sample_payload(model: type[BaseModel]) -> BaseModel:
    return model(**{name: sample_value(f.annotation, name, f) for name, f in model.model_fields.items()})


def sample_envelope(et: EventType, *, subject: str | None = None, requestid: str | None = None) -> Envelope:
    """As ``shared.outbox.Outbox.add`` makes it."""
    payload = sample_payload(et.payload)
    return Envelope(source=f"/doorstroom/{et.producer}", type=et.name, dataversion=et.version,
                    subject=subject or str(uuid.uuid4()), requestid=requestid,
                    data=payload.model_dump(mode="json"))
