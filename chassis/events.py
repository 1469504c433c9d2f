"""Domain events: past-tense dataclasses carrying the envelope every event has (SPEC §7)."""

from __future__ import annotations

import contextvars
import dataclasses
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, dataclass_transform

# The correlation id of the request or event being handled; set by the HTTP middleware and by
# stream processors from the incoming event's header, so it follows a flow across services.
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

ENVELOPE_FIELDS = ("event_id", "event_type", "occurred_at", "aggregate_id", "correlation_id")

# (aggregate type, event type) → the event class; filled as the services' events modules load.
EVENT_CLASSES: dict[tuple[str, str], type[Event]] = {}


def current_correlation_id() -> str:
    return correlation_id_var.get() or str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(dataclasses.field,))
class _EventMeta(type):
    """Every subclass of Event is a frozen, keyword-only dataclass without a decorator of its own
    (one line fewer per event, and no way to forget `frozen`)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kw: Any) -> _EventMeta:
        cls = super().__new__(mcs, name, bases, namespace, **kw)
        made: Any = dataclasses.dataclass(frozen=True, kw_only=True)(cls)  # the same class, now a dataclass
        return made


class Event(metaclass=_EventMeta):
    """Base of every event. Subclasses set `aggregate_type` (the topic is named after it) and
    add their own fields; the Avro schema `schemas/<aggregate_type>/<ClassName>.avsc` matches."""

    aggregate_type: ClassVar[str]

    aggregate_id: str
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: datetime = dataclasses.field(default_factory=_now)
    correlation_id: str = dataclasses.field(default_factory=current_correlation_id)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Concrete events (not the `_OrderEvent`-style bases) are found by topic and name.
        if not cls.__name__.startswith("_"):
            EVENT_CLASSES[(cls.aggregate_type, cls.__name__)] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Self:
        """The event from its decoded Avro record (read with this class's own schema, so the
        fields are the class's fields). A missing field raises TypeError: the record can never
        become this event."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in names}
        values["event_id"] = uuid.UUID(str(record["event_id"]))
        return cls(**values)

    def to_record(self) -> dict[str, Any]:
        """The Avro record: envelope plus the event's own fields."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        record["event_id"] = str(self.event_id)
        record["event_type"] = self.event_type()
        return record


def all_event_classes() -> dict[tuple[str, str], type[Event]]:
    """Every service's events, for a consumer that reads events it does not name one by one (the
    notifications feed, the service map, the schema tests): imports `apis.<service>.events`."""
    import importlib
    import importlib.util

    from chassis import local

    for service in local.SERVICES:
        if importlib.util.find_spec(f"apis.{service}.events") is not None:
            importlib.import_module(f"apis.{service}.events")
    return dict(EVENT_CLASSES)
