"""Events auth publishes (schemas in schemas/auth.account/)."""

from __future__ import annotations

from chassis.events import Event


class UserRegistered(Event):
    aggregate_type = "auth.account"
    user_id: str
    email: str
    name: str
    phone: str | None = None
    address: str | None = None
    roles: list[str]
    restaurant_id: str | None = None
