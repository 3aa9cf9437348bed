"""One registry of event types: producers, consumers, tests and the published contract use it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, TypeVar

from pydantic import BaseModel

P = TypeVar("P", bound=type[BaseModel])


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    payload: type[BaseModel]
    producer: str
    summary: str


EVENT_TYPES: dict[str, EventType] = {}
_BY_MODEL: dict[type[BaseModel], EventType] = {}


@dataclass(frozen=True)
class Fetch:
    """Where a subscriber reads the details of an event: one HTTP call of a Doorstroom service
    (see that service's ``/openapi.json``). Every ``{name}`` in ``path`` and every name in
    ``query`` is filled from the field of that name in the event's ``data``."""

    service: str
    method: str
    path: str
    who: str = ""
    query: tuple[str, ...] = ()
    note: str = ""

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"{([a-z_]+)}", self.path)


@dataclass(frozen=True)
class NothingToFetch:
    """An event that is the whole fact (a mail's trigger, something erased): no call adds to it."""

    reason: str


def event(name: str, *, producer: str, summary: str, version: int = 1) -> Callable[[P], P]:
    """Class decorator: registers a payload model under an event type name."""

    def register(model: P) -> P:
        if name in EVENT_TYPES:
            raise ValueError(f"event type {name} registered twice")
        entry = EventType(name=name, version=version, payload=model, producer=producer, summary=summary)
        EVENT_TYPES[name] = entry
        _BY_MODEL[model] = entry
        return model

    return register


def event_type_of(payload: BaseModel) -> EventType:
    try:
        return _BY_MODEL[type(payload)]
    except KeyError:
        raise LookupError(f"{type(payload).__name__} is not a registered event payload") from None


def lookup(name: str) -> EventType:
    from shared.events import catalog  # noqa: F401  (registers every type)

    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise LookupError(f"unknown event type {name}") from None


def all_event_types() -> list[EventType]:
    from shared.events import catalog  # noqa: F401

    return sorted(EVENT_TYPES.values(), key=lambda e: e.name)
