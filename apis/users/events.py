"""Events users publishes (schemas in schemas/users.profile/)."""

from __future__ import annotations

from chassis.events import Event


class UserProfileChanged(Event):
    aggregate_type = "users.profile"
    user_id: str
    version: int
    name: str
    phone: str | None = None
    address: str | None = None
    daily_calorie_goal: int | None = None
    protein_goal: int | None = None
    fat_goal: int | None = None
    carbs_goal: int | None = None
