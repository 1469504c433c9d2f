"""Daily calorie totals from diary events, Kafka Streams style.

State lives in two changelog-backed Faust tables, so a restarted worker recovers it from Kafka:
- `diary-contributions`: entry id → what that entry currently adds to which day (with its version);
- `diary-daily-totals`: "<user>/<date>" → calories and calories per meal.
An event moves the entry's old contribution out of its day and the new one into its own day
(commutative updates keyed by entry id); a duplicate, replayed or older event is not news
(`domain.supersedes`) and changes nothing. Events come in batches (whatever arrived while the last
one was written); the absolute totals of the days a batch touched are then upserted into records'
`daily_totals` table, the read model the API serves, in one statement — an idempotent write, so a
crash between the table update and the offset commit only writes the same totals again.

The calorie goal is records' own copy, kept from users' UserProfileChanged events (newest
version wins) by the chassis' usual consumer. Both topics are keyed by user id with the same
partition count, so one worker owns a user's diary and profile events alike.

Run: faust -A stream_processors.records_totals worker
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import cast

from prometheus_client import Counter

from apis.records import domain
from apis.records import service as records
from apis.records.events import DiaryEntryAdded, DiaryEntryChanged, DiaryEntryRemoved
from apis.users.events import UserProfileChanged
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import APPLY_SECONDS, PERMANENT, Processor, event_uuid, retrying, set_current, take_ready

log = logging.getLogger(__name__)
SINK_REFUSED = Counter("calories_records_totals_refused_days_total",
                       "Daily totals the database refused for good (left out of the read model).")

svc = Service("records")
# RocksDB under the tables (in the processor's data folder): a restart replays only the changelog
# written since the folder's last write, not every diary entry ever (the in-memory store's 45 s
# for 105 000 changelog records on a stack used for a day). A new or emptied folder is rebuilt
# from the changelog, as before.
processor = Processor("records_totals", svc, store="rocksdb://")
app = processor.app
DiaryEvent = DiaryEntryAdded | DiaryEntryChanged | DiaryEntryRemoved

# No key_type/value_type: plain JSON values. (Faust's recovery calls `value_type.from_data`,
# which `dict` does not have: a typed dict table restores nothing after a restart.)
contributions = app.Table("diary-contributions", partitions=6)
totals = app.Table("diary-daily-totals", partitions=6)


def contribution_of(e: DiaryEvent) -> domain.Contribution:
    removed = isinstance(e, DiaryEntryRemoved)
    calories = 0 if isinstance(e, DiaryEntryRemoved) else e.calories
    return domain.check_event_contribution(domain.Contribution(
        user_id=e.user_id, day=e.eaten_on.isoformat(), meal=e.meal, calories=calories,
        version=e.version, removed=removed))


def fold(e: DiaryEvent) -> dict[str, dict]:
    """Apply one diary event to the tables; the days it touched, each key with its total as this
    event leaves it. An event the API could not have written raises ValueError before any table
    changes.

    The totals are read here, with this event current, and handed to the sink rather than read
    again later: the RocksDB store keeps a table per partition and looks a key up in the current
    event's partition only, and a batch spans partitions."""
    incoming = contribution_of(e)
    stored = contributions.get(e.entry_id)
    current = domain.Contribution.from_dict(stored) if stored else None
    if not domain.supersedes(current, incoming):
        # Not news, but write what we have again, to the tables and to the sink: both harmless. A
        # worker killed after RocksDB took a write and before Faust sent its changelog record
        # (sent later, from a buffer) gets the event again, finds the write already here, and
        # would otherwise never send it: a rebuild from the changelog (a new pod) would lack it.
        key = f"{incoming.user_id}/{incoming.day}"
        total = domain.DayTotal.from_dict(totals.get(key)).to_dict()
        if stored is not None:
            contributions[e.entry_id] = stored
        totals[key] = total
        return {key: total}
    touched: dict[str, dict] = {}
    for contribution, sign in domain.moves(current, incoming):
        key = f"{contribution.user_id}/{contribution.day}"
        day = domain.DayTotal.from_dict(totals.get(key))
        day.add(contribution, sign)
        totals[key] = touched[key] = day.to_dict()
    # Removed entries stay as tombstones with their version, so a late older event cannot revive them.
    contributions[e.entry_id] = incoming.to_dict()
    return touched


def write_days(days: dict[str, dict]) -> None:
    with APPLY_SECONDS.labels(processor.name, svc.settings.topic("records.diary")).time(), svc.uow() as uow:
        records.store_day_totals(uow=uow, totals={
            (user_id, day): domain.DayTotal.from_dict(total)
            for key, total in days.items() for user_id, day in [key.split("/", 1)]})
        uow.commit()


def sink(days: dict[str, dict]) -> None:
    """Write the totals of the days a batch touched, in one transaction. A day the database
    refuses for good (a total past its column) is left out, with an error logged, so the other
    days are written and the agent goes on; transient failures are the caller's to retry."""
    try:
        write_days(days)
    except PERMANENT:
        for key, total in sorted(days.items()):
            try:
                write_days({key: total})
            except PERMANENT as exc:
                SINK_REFUSED.inc()
                log.error("records_totals: daily total %s refused by the database: %s", key, exc)


def store_goal(uow: UnitOfWork, e: UserProfileChanged) -> None:
    records.store_goal(uow=uow, user_id=str(event_uuid(e.user_id, "user_id")), goal=e.daily_calorie_goal,
                       version=e.version)


# The diary is folded into tables plus idempotent upserts by its own agent below, not as inbox
# effects: recorded here for the service map and checked against the schemas like any subscription.
processor.subscribe("records.diary", {DiaryEntryAdded: fold, DiaryEntryChanged: fold, DiaryEntryRemoved: fold})
processor.consume("users.profile", {UserProfileChanged: store_goal})


@processor.agent("records.diary")
async def total_diary(stream):
    # A batch is folded into the tables event by event, in order, and its days written once: a
    # replay of the whole topic costs a transaction per batch, not per event.
    async for batch in take_ready(stream, processor.batch_max):
        days: dict[str, dict] = {}  # a day touched twice keeps its later total
        folded = []
        for record, event in await processor.read("records.diary", batch):
            set_current(stream, record)
            try:
                days.update(fold(cast(DiaryEvent, event)))
            except PERMANENT as exc:  # an event no entry could have caused; the tables are untouched
                await processor.dead_letter(record, f"{type(exc).__name__}: {exc}")
            else:
                folded.append((record, event))
        if days:
            # The read model must get the write: wait for the database rather than lose it.
            await retrying("records_totals: writing daily totals", functools.partial(asyncio.to_thread, sink, days))
        processor.applied(folded)
