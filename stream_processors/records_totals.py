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

Run: faust -A stream_processors.diary_totals worker
"""

from __future__ import annotations

import asyncio
from datetime import date

from apis.records import domain
from apis.records import service as records
from chassis.service import Service
from chassis.streams import create_app, decode, event_topic

svc = Service("records")
app = create_app("diary-totals")
diary = event_topic(app, "records.diary")
profiles = event_topic(app, "users.profile")

# No key_type/value_type: plain JSON values. (Faust's recovery calls `value_type.from_data`,
# which `dict` does not have: a typed dict table restores nothing after a restart.)
contributions = app.Table("diary-contributions", partitions=6)
totals = app.Table("diary-daily-totals", partitions=6)


def contribution_of(value: dict) -> domain.Contribution:
    removed = value["event_type"] == "DiaryEntryRemoved"
    day = value["eaten_on"]
    return domain.Contribution(user_id=value["user_id"], day=(day.isoformat() if isinstance(day, date) else day),
                               meal=value["meal"], calories=0 if removed else value["calories"],
                               version=value["version"], removed=removed)


def fold(value: dict) -> set[str]:
    """Apply one diary event to the tables; the keys of the days it touched."""
    entry_id = value["entry_id"]
    incoming = contribution_of(value)
    stored = contributions.get(entry_id)
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
    contributions[entry_id] = incoming.to_dict()
    return touched


def sink(keys: set[str]) -> None:
    with svc.uow() as uow:
        for key in sorted(keys):
            user_id, day = key.split("/")
            records.store_day_total(uow=uow, user_id=user_id, day=day,
                                    total=domain.DayTotal.from_dict(totals.get(key)))
        uow.commit()


async def retrying(fn, *args) -> None:
    """The read model must get the write; wait for the database rather than lose it."""
    delay = 0.2
    while True:
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception:
            app.log.exception("records database write failed; retrying in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


@app.agent(diary)
async def total_diary(stream):
    async for event in stream.events():
        incoming = await asyncio.to_thread(decode, svc.codec, event)
        await retrying(sink, fold(incoming.value))


def store_goal(value: dict) -> None:
    with svc.uow() as uow:
        records.store_goal(uow=uow, user_id=value["user_id"], goal=value["daily_calorie_goal"],
                           version=value["version"])
        uow.commit()


@app.agent(profiles)
async def copy_goals(stream):
    async for event in stream.events():
        incoming = await asyncio.to_thread(decode, svc.codec, event)
        if incoming.event_type == "UserProfileChanged":
            await retrying(store_goal, incoming.value)
