"""users' profile copy of every account: UserRegistered (auth) → a profile in the users database.

Run: faust -A stream_processors.users_profiles worker
"""

from __future__ import annotations

from apis.auth.events import UserRegistered
from apis.users import service as users
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor, event_uuid

processor = Processor("users_profiles", Service("users"))
app = processor.app


def create_profile(uow: UnitOfWork, e: UserRegistered) -> None:
    users.create_profile(uow=uow, user_id=event_uuid(e.user_id, "user_id"), email=e.email, name=e.name,
                         phone=e.phone, address=e.address)


processor.consume("auth.account", {UserRegistered: create_profile})
