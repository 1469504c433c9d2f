"""delivery's settings (CALORIES_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from chassis.service import ServiceSettings


class DeliverySettings(ServiceSettings):
    # CALORIES_DELIVERY_SLOTS_PER_DAY: how many orders the couriers can deliver on one date.
    delivery_slots_per_day: int = Field(default=40, ge=0)
