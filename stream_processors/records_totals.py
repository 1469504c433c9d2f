"""Daily calorie totals from diary events, Kafka Streams style.

State lives in two changelog-backed Faust tables, so a restarted worker recovers it from Kafka:
- `diary-contributions`: entry id → what that entry currently adds to which day (with its version);
- `diary-daily-totals`: "<user>/<date>" → calories and calories per meal.
An event moves the entry's old contribution out of its day and the new one into its own day
(commutative updates keyed by entry id); a duplicate, replayed or older event is not news
(`domain.supersedes`) and changes nothing. Each affected day's absolute total is then upserted
into records' `daily_totals` table, the read model the API serves — an idempotent write, so a
crash between the table update and the offset commit only writes the same total again.

The calorie goal is records' own copy, kept from users' UserProfileChanged events (newest
version wins). Both topics are keyed by user id with the same partition count, so one worker
owns a user's diary and profile events alike.

Run: faust -A stream_processors.records_totals worker
"""

from __future__ import annotations

import asyncio
import functools

from apis.records import domain
from apis.records import service as records
from apis.records.events import DiaryEntryAdded, DiaryEntryChanged, DiaryEntryRemoved
from apis.users.events import UserProfileChanged
from chassis.service import Service
from chassis.streams import APPLY_SECONDS, Processor, retrying

svc = Service("records")
processor = Processor("records_totals", svc)
app = processor.app
DiaryEvent = DiaryEntryAdded | DiaryEntryChanged | DiaryEntryRemoved

# No key_type/value_type: plain JSON values. (Faust's recovery calls `value_type.from_data`,
# which `dict` does not have: a typed dict table restores nothing after a restart.)
contributions = app.Table("diary-contributions", partitions=6)
totals = app.Table("diary-daily-totals", partitions=6)


def contribution_of(e: DiaryEvent) -> domain.Contribution:
    removed = isinstance(e, DiaryEntryRemoved)
    return domain.Contribution(user_id=e.user_id, day=e.eaten_on.isoformat(), meal=e.meal,
                               calories=0 if isinstance(e, DiaryEntryRemoved) else e.calories,
                               version=e.version, removed=removed)


def fold(e: DiaryEvent) -> set[str]:
    """Apply one diary event to the tables; the keys of the days it touched."""
    incoming = contribution_of(e)
    stored = contributions.get(e.entry_id)
    current = domain.Contribution.from_dict(stored) if stored else None
    if not domain.supersedes(current, incoming):
        return {f"{incoming.user_id}/{incoming.day}"}  # rewrite what we have: harmless, and heals the sink
    touched = set()
    for contribution, sign in domain.moves(current, incoming):
        key = f"{contribution.user_id}/{contribution.day}"
        day = domain.DayTotal.from_dict(totals.get(key))
        day.add(contribution, sign)
        totals[key] = day.to_dict()
        touched.add(key)
    # Removed entries stay as tombstones with their version, so a late older event cannot revive them.
    contributions[e.entry_id] = incoming.to_dict()
    return touched


def sink(keys: set[str]) -> None:
    with APPLY_SECONDS.labels(processor.name, svc.settings.topic("records.diary")).time(), svc.uow() as uow:
        for key in sorted(keys):
            user_id, day = key.split("/")
            records.store_day_total(uow=uow, user_id=user_id, day=day,
                                    total=domain.DayTotal.from_dict(totals.get(key)))
        uow.commit()


def store_goal(e: UserProfileChanged) -> None:
    with APPLY_SECONDS.labels(processor.name, svc.settings.topic("users.profile")).time(), svc.uow() as uow:
        records.store_goal(uow=uow, user_id=e.user_id, goal=e.daily_calorie_goal, version=e.version)
        uow.commit()


# The handlers below are folds into tables plus idempotent upserts, not inbox effects: recorded
# here for the service map and checked against the schemas like any subscription.
processor.subscribe("records.diary", {DiaryEntryAdded: fold, DiaryEntryChanged: fold, DiaryEntryRemoved: fold})
processor.subscribe("users.profile", {UserProfileChanged: store_goal})


@app.agent(processor.topic("records.diary"))
async def total_diary(stream):
    async for record in stream.events():
        event = await processor.read("records.diary", record)
        if isinstance(event, DiaryEvent):
            keys = fold(event)
            # The read model must get the write: wait for the database rather than lose it.
            await retrying("records_totals: writing daily totals", functools.partial(asyncio.to_thread, sink, keys))


@app.agent(processor.topic("users.profile"))
async def copy_goals(stream):
    async for record in stream.events():
        event = await processor.read("users.profile", record)
        if isinstance(event, UserProfileChanged):
            await retrying("records_totals: writing a goal", functools.partial(asyncio.to_thread, store_goal, event))
