"""users' use cases: plain functions over a unit of work."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from apis.users.events import UserProfileChanged
from apis.users.models import profiles
from chassis.db import UnitOfWork
from chassis.problems import Problem

_EVENT_FIELDS = ("name", "phone", "address", "daily_calorie_goal", "protein_goal", "fat_goal", "carbs_goal")


def _changed(row: Any) -> UserProfileChanged:
    return UserProfileChanged(aggregate_id=str(row.user_id), user_id=str(row.user_id), version=row.version,
                              **{f: getattr(row, f) for f in _EVENT_FIELDS})


def create_profile(*, uow: UnitOfWork, user_id: uuid.UUID, email: str, name: str, phone: str | None,
                   address: str | None) -> None:
    """From UserRegistered; the caller's unit of work is already open (the consumer's inbox)."""
    row = uow.session.execute(
        insert(profiles).values(user_id=user_id, email=email, name=name, phone=phone, address=address, version=1)
        .on_conflict_do_nothing().returning(*profiles.c)).first()
    if row is not None:
        uow.publish(_changed(row))


def get_profile(*, uow: UnitOfWork, user_id: uuid.UUID) -> Any:
    with uow:
        row = uow.session.execute(select(profiles).where(profiles.c.user_id == user_id)).first()
    if row is None:
        raise Problem(404, f"No profile for user {user_id} (a new account's profile appears within seconds).")
    return row


def patch_profile(*, uow: UnitOfWork, user_id: uuid.UUID, expected_version: int, changes: dict[str, Any]) -> Any:
    with uow:
        # Compare-and-set on the version: of two writers holding the same version, one wins.
        row = uow.session.execute(
            update(profiles).where(profiles.c.user_id == user_id, profiles.c.version == expected_version)
            .values(**changes, version=profiles.c.version + 1, updated_at=func.now())
            .returning(*profiles.c)).first()
        if row is None:
            current = uow.session.execute(select(profiles.c.version).where(profiles.c.user_id == user_id)).scalar()
            if current is None:
                raise Problem(404, f"No profile for user {user_id}.")
            raise Problem(412, f"The profile changed since you read it (you sent version {expected_version}, "
                               f"it is at {current}); GET it again and reapply your change.",
                          current_version=current)
        uow.publish(_changed(row))
        uow.commit()
        return row
