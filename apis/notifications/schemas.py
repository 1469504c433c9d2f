"""notifications' response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str = Field(examples=["welcome", "order_rejected"])
    event_type: str = Field(examples=["UserRegistered", "OrderRejected"])
    event_id: uuid.UUID
    title: str
    body: str
    data: dict[str, Any] = Field(description="ids and figures the notification is about: order_id, plan_id, date, …")
    created_at: datetime = Field(description="when the event happened")
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
