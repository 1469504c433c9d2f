"""Domain events: past-tense dataclasses carrying the envelope every event has (SPEC §7)."""

from __future__ import annotations

import contextvars
import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

# The correlation id of the request or event being handled; set by the HTTP middleware and by
# stream processors from the incoming event's header, so it follows a flow across services.
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

ENVELOPE_FIELDS = ("event_id", "event_type", "occurred_at", "aggregate_id", "correlation_id")


def current_correlation_id() -> str:
    return correlation_id_var.get() or str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. Subclasses set `aggregate_type` (the topic is named after it) and
    add their own fields; the Avro schema `schemas/<aggregate_type>/<ClassName>.avsc` matches."""

    aggregate_type: ClassVar[str]

    aggregate_id: str
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: datetime = dataclasses.field(default_factory=_now)
    correlation_id: str = dataclasses.field(default_factory=current_correlation_id)

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    def to_record(self) -> dict[str, Any]:
        """The Avro record: envelope plus the event's own fields."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        record["event_id"] = str(self.event_id)
        record["event_type"] = self.event_type()
        return record
