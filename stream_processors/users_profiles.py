"""users' profile copy of every account: UserRegistered (auth) → a profile in the users database.

Run: faust -A stream_processors.user_profiles worker
"""

from __future__ import annotations

import uuid

from apis.users import service as users
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, by_event_type, create_app, event_topic

svc = Service("users")
app = create_app("user-profiles")
accounts = event_topic(app, "auth.account")
effects = ExactlyOnceEffects(app, "users.user-profiles", svc.sessions, svc.codec)


def create_profile(uow: UnitOfWork, event: IncomingEvent) -> None:
    v = event.value
    users.create_profile(uow=uow, user_id=uuid.UUID(v["user_id"]), email=v["email"], name=v["name"],
                         phone=v["phone"], address=v["address"])


apply = by_event_type({"UserRegistered": create_profile})


@app.agent(accounts)
async def profiles_from_accounts(stream):
    async for event in stream.events():
        await effects.apply(event, apply)
