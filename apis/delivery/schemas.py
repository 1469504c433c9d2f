"""delivery's response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

TaskStatus = Literal["waiting_kitchen", "ready", "picked_up", "delivered"]


class TaskOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    date: date
    restaurant_id: uuid.UUID = Field(description="where the meals are picked up")
    address: str
    phone: str
    status: TaskStatus
    courier_id: uuid.UUID | None
    updated_at: datetime


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class DayOut(BaseModel):
    date: date
    capacity: int = Field(description="courier slots per day")
    used: int = Field(description="slots held by pending or confirmed bookings")
    free: int
