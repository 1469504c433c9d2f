"""Stream processors: a Faust app per processor, typed events in, effects applied exactly once.

A processor module is a few lines (see `stream_processors/`):

    processor = Processor("delivery_bookings", Service("delivery", DeliverySettings()))
    processor.consume("restaurants.reservation", {OrderReserved: reserve, DayPrepared: day_prepared})
    app = processor.app

`consume` checks at start-up that each handled class is an event of that topic with a schema.
The agent takes what the broker has (up to `batch_max` events: whatever arrived while the previous
batch was applied, see `take_ready`), skips types without a handler by their `event_type` header
before decoding anything, decodes the rest with the consumer's own schema into the event
classes, and applies the batch in ONE transaction with its inbox rows (a redelivered event does
nothing). Events apply in the order they arrived, so one aggregate's events (one key, one
partition) stay in order.

Failures are classified (`classify`): a transient one (the database or the registry unreachable,
a serialization failure or deadlock) retries with backoff while the partition waits; a permanent
one (undecodable bytes, a missing field, bad data the database refuses, `PermanentFailure`) sends
that one event to `<prefix>.dlq.<processor>` with the reason, and the stream moves on. A batch
that fails is retried event by event, so only the poison event is dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
from prometheus_client import Counter, Histogram, generate_latest
from sqlalchemy import exc as sa_exc

from chassis import local
from chassis.avro import UndecodableRecord
from chassis.db import UnitOfWork
from chassis.events import EVENT_CLASSES, Event, correlation_id_var
from chassis.logs import logging_config
from chassis.outbox import first_deliveries
from chassis.service import Service

log = logging.getLogger(__name__)

EVENTS = Counter("calories_stream_events_total", "Events read by a processor, by what became of them.",
                 ["processor", "topic", "event_type", "outcome"])
APPLY_SECONDS = Histogram("calories_stream_apply_seconds", "One transaction applying a batch of events.",
                          ["processor", "topic"], buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
BATCH_SIZE = Histogram("calories_stream_batch_size", "Events taken from the broker at once.",
                       ["processor", "topic"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
RETRIES = Counter("calories_stream_retries_total", "Transient failures retried.", ["processor", "topic"])
AGENT_CRASHES = Counter("calories_stream_agent_crashes_total",
                        "An agent's loop ended with an exception (Faust's supervisor restarts it).",
                        ["processor", "agent"])
# A processor whose agent crashed this recently answers /readyz 503: a crash loop (the supervisor
# restarts an agent every few seconds) keeps it unready, a single crash heals by itself.
CRASH_UNREADY_SECONDS = 30.0

# An effect: (the unit of work, the event as its class) → None. Typed per event in each processor.
Handler = Callable[[UnitOfWork, Any], None]


class PermanentFailure(Exception):
    """The event can never be applied; retrying would block its partition forever."""


# Never true however often retried: the bytes, the record or the data are wrong.
PERMANENT: tuple[type[BaseException], ...] = (
    PermanentFailure, UndecodableRecord, KeyError, TypeError, ValueError, AttributeError,
    sa_exc.DataError, sa_exc.IntegrityError, sa_exc.ProgrammingError,
)


def classify(exc: BaseException) -> str:
    """'permanent' or 'transient'. Connection, timeout, serialization and deadlock errors are
    OperationalError/InterfaceError (transient), as are registry and network errors; anything not
    known to be permanent is retried, since losing an event is worse than waiting."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "transient"
    return "permanent" if isinstance(exc, PERMANENT) else "transient"


async def retrying(what: str, fn: Callable[[], Awaitable[Any]], on_retry: Callable[[], None] | None = None) -> Any:
    """Await `fn()` until it succeeds, backing off on transient failures; re-raise permanent ones."""
    delay = 0.1
    while True:
        try:
            return await fn()
        except Exception as exc:
            if classify(exc) == "permanent":
                raise
            log.warning("%s failed (%r); retrying in %.1fs", what, exc, delay)
            if on_retry:
                on_retry()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def static_instance_id(base: str, topics: set[str]) -> str:
    """The group instance id of a static member (chassis/settings.py): `base` and a digest of what it
    subscribes to. A static member that rejoins within its session gets its previous assignment
    back without a rebalance, even when it now subscribes to more topics (seen with aiokafka 0.14:
    a second topic stayed unassigned), so a worker whose subscription changed comes back as a new
    member instead, once: the group rebalances after the old member's session."""
    digest = hashlib.sha256("\n".join(sorted(topics)).encode()).hexdigest()[:10]
    return f"{base}-{digest}"


class _App(faust.App):
    """A Faust app whose tables' changelog topics exist before its consumer joins its group.

    Faust creates them itself as its tables start, just before the consumer subscribes; on a fresh
    broker the group's first assignment can then run on metadata that does not list them yet
    ("Ignoring missing topic"), the changelog partitions are never assigned, and the first table
    write crashes its agent (PartitionsMismatch: the changelog "has 0 partitions") for good while
    the worker still reports ready. Seen once in CI, records_totals. Creating them first (here,
    before any child service starts) leaves nothing to race."""

    static_id_base: str | None = None  # chassis/settings.py faust_group_instance_id

    async def on_first_start(self) -> None:
        await super().on_first_start()
        if self.tables:
            await asyncio.to_thread(self._create_changelogs)
        if self.static_id_base:
            # Here every agent and table exists and the consumer is not made yet (nor has it read
            # the setting: set before that, Faust does not warn of a late change).
            self.conf.consumer_group_instance_id = static_instance_id(self.static_id_base, self.subscribed_topics())

    def subscribed_topics(self) -> set[str]:
        """What the worker's consumer asks its group for: its agents' topics and its tables' changelogs."""
        topics = {name for agent in self.agents.values() for name in agent.channel.topics}
        return topics | {t.changelog_topic.get_topic_name() for t in self.tables.values()}

    def _create_changelogs(self) -> None:
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": ",".join(f"{u.host}:{u.port}" for u in self.conf.broker)})
        wanted = [NewTopic(t.changelog_topic.get_topic_name(), t.partitions or self.conf.topic_partitions,
                           self.conf.topic_replication_factor, config={"cleanup.policy": "compact"})
                  for t in self.tables.values()]
        for topic, done in admin.create_topics(wanted, request_timeout=30).items():
            try:
                done.result()
                log.info("created changelog topic %s", topic)
            except Exception as exc:
                err = exc.args[0] if exc.args else None
                if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                    raise


def create_app(name: str, service: Service, **options: Any) -> faust.App:
    settings = service.settings
    datadir = os.path.join(settings.faust_data_dir, name)
    os.makedirs(datadir, exist_ok=True)  # Faust does not create the parents
    app = _App(
        f"{settings.topic_prefix}-{name}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        # json for tables and their changelogs; event topics carry raw Avro bytes.
        key_serializer="json",
        value_serializer="json",
        topic_partitions=6,
        web_enabled=True,
        web_port=settings.faust_web_port or local.processor_port(name),
        web_bind="127.0.0.1" if settings.environment in ("development", "test") else "0.0.0.0",
        consumer_auto_offset_reset="earliest",
        # A crashed worker's partitions move to a live one after this long (Faust's default is 60 s).
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        datadir=datadir,
        logging_config=logging_config(name),
        **options,
    )
    app.static_id_base = settings.faust_group_instance_id
    return app


async def take_ready(stream: faust.Stream, max_: int) -> AsyncIterator[list[faust.EventT]]:
    """Batches of a stream's events: whatever arrived while the previous batch was applied, at most
    `max_`, each event acknowledged once its batch is done.

    Faust's `take_events(max_, within)` flushes on a timer: every `within` seconds its loop wakes,
    even with nothing buffered (ten workers of two or three agents each, at 20 ms, cost a third of
    a core doing nothing), and a lone event waits for the tick. Here the first event goes at once
    and the loop sleeps while there is nothing; under load the batches grow by themselves, since
    what arrives during one transaction is the next batch. The buffering is take_events' own
    (a processor the stream's passive drainer calls for every event), without the timer."""
    events: list[faust.EventT] = []
    ready = asyncio.Event()  # something is buffered
    room = asyncio.Event()  # the buffer is below max_: the drainer may add
    room.set()

    async def add(value: Any) -> Any:
        event = stream.current_event
        if event is None:
            raise RuntimeError("a buffered value without its event")
        events.append(event)
        ready.set()
        if len(events) >= max_:
            room.clear()
            await stream.wait(room)  # type: ignore[arg-type]  # mode takes anything with an awaitable .wait()
        return value

    stream.enable_acks = False  # acked here, once applied
    stream.add_processor(add)
    # Faust's own take_events starts the stream's drainer the same way.
    stream._enable_passive(aiter(stream.channel))  # type: ignore[arg-type]  # as take_events does
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(ready)  # type: ignore[arg-type]
            batch = events[:]
            events.clear()
            ready.clear()
            room.set()
            if not batch:
                continue
            yield batch
            # Acked only once applied: the batch of an agent that raised stays unacked, so no
            # offset is committed past it and the events are applied again after a restart.
            for event in batch:
                await stream.ack(event)
    finally:
        # The agent ended (after a crash Faust's supervisor starts it again on this same stream):
        # this buffer must stop taking events, or the drainer would wait on it for good.
        with contextlib.suppress(ValueError):
            stream._processors.remove(add)
        room.set()


def set_current(stream: faust.StreamT, record: faust.EventT) -> None:
    """Make `record` the event a table write belongs to: Faust sends the change to the changelog
    partition of the event being processed. `take_ready` drains the stream in another task, so an
    agent folding a batch into a table names each record before its writes."""
    cast(faust.Stream, stream)._set_current_event(record)


def _header(headers: Any, name: str) -> str | None:
    items = headers.items() if isinstance(headers, dict) else headers or ()
    for k, v in items:
        if k == name:
            return v.decode() if isinstance(v, bytes) else v
    return None


class _Poison(str):
    """Stands in for an event whose record could not be decoded; the string is the reason."""


@dataclass
class _Item:
    """One record of a batch on its way through: what it is, and (once decoded) the event."""

    record: faust.EventT
    event_type: str
    handler: Handler | None
    event: Event | _Poison | None = None


class Processor:
    """One stream processor: its Faust app, the service database it writes, its subscriptions."""

    def __init__(self, name: str, service: Service, *, batch_max: int | None = None,
                 **app_options: Any) -> None:
        if name not in local.PROCESSORS and service.settings.faust_web_port is None:
            raise ValueError(f"processor {name!r} is not in chassis/local.py PROCESSORS (and has no port set)")
        self.name = name
        self.service = service
        self.app = create_app(name, service, **app_options)
        self.batch_max = batch_max or service.settings.stream_batch_max
        # aggregate type → event class → handler; read by the service map and the tests.
        self.subscriptions: dict[str, dict[type[Event], Callable[..., Any]]] = {}
        self.dlq = self.app.topic(f"{service.settings.topic_prefix}.dlq.{name}", key_type=bytes,
                                  value_type=bytes, key_serializer="raw", value_serializer="raw")
        self._add_pages()
        self.app.task(self._freeze_startup_objects)
        self.app.timer(interval=10.0)(self._resume_stuck_partitions)
        self.app.timer(interval=5.0)(self._heal_commit_holes)
        self._paused_seen: frozenset[Any] = frozenset()
        self._holes_seen: dict[Any, tuple[int, int]] = {}
        self.last_crash: tuple[float, str] | None = None  # (monotonic time, reason)

    async def _resume_stuck_partitions(self) -> None:
        """A source partition still paused (or the flow still stopped) on two ticks in a row while no
        rebalance or recovery is under way is resumed, with a warning. Seen here: after a kill -9
        and a rewind, a worker applied one event and then fetched nothing more from some partitions
        until restarted (Faust pauses partitions during recovery and, rarely, does not resume them)."""
        app = self.app
        recovery = getattr(app.tables, "recovery", None)
        if app.rebalancing or app.in_recovery or recovery is None or not recovery.completed.is_set():
            self._paused_seen = frozenset()
            return
        consumer = app.consumer
        sources = {self.service.settings.topic(a) for a in self.subscriptions}
        paused = frozenset(tp for tp in getattr(consumer, "_paused_partitions", ()) if tp.topic in sources)
        stopped = not getattr(consumer, "flow_active", True) or not app.flow_control.is_active()
        if (paused and paused <= self._paused_seen) or (stopped and self._paused_seen == frozenset({"flow"})):
            log.warning("%s: resuming partitions left paused outside a rebalance: %s (flow stopped: %s)",
                        self.name, sorted(map(str, paused)), stopped)
            consumer.resume_partitions(paused)
            consumer.resume_flow()
            app.flow_control.resume()
            self._paused_seen = frozenset()
            return
        self._paused_seen = paused or (frozenset({"flow"}) if stopped else frozenset())

    async def _heal_commit_holes(self) -> None:
        """A source partition whose commits stopped behind a hole in Faust's acked offsets, on two
        ticks in a row, commits again from the first acked offset, with a warning.

        Faust commits the first run of consecutive acked offsets, and only if it starts at most one
        past the last commit; each commit drops its run from the list. Seen here, after a kill -9
        and a rewind to the start of the topic: every event was applied and acked, but the offsets
        between the last commit and the first acked one had left the list without being
        committed, so the worker never committed again and a restart replayed it all. The hole
        holds no event in flight (none unacked below it, and everything below the read offset was
        fetched), so committing past it loses nothing."""
        consumer: Any = self.app.consumer
        if self.app.rebalancing or self.app.in_recovery:
            self._holes_seen = {}
            return
        sources = {self.service.settings.topic(a) for a in self.subscriptions}
        in_flight: dict[Any, int] = {}
        for message in list(getattr(consumer, "_unacked_messages", ())):
            in_flight[message.tp] = min(message.offset, in_flight.get(message.tp, message.offset))
        if not getattr(consumer, "flow_active", True) or not self.app.flow_control.is_active():
            self._holes_seen = {}
            return
        paused = set(getattr(consumer, "_paused_partitions", ()))
        holes = {}
        for tp, acked in list(getattr(consumer, "_acked", {}).items()):
            committed = consumer._committed_offset.get(tp)
            read = consumer._read_offset.get(tp)
            if tp.topic not in sources or not acked or committed is None or read is None or tp in paused:
                continue
            first = min(acked)
            # Everything below `first` was fetched (the read offset is past it) and none of it is
            # still on its way through a stream.
            if first - committed > 1 and read >= first and in_flight.get(tp, first) >= first:
                holes[tp] = (committed, first)
        for tp, (committed, first) in holes.items():
            if self._holes_seen.get(tp) == (committed, first):
                log.warning("%s: commits of %s stopped at %d with offsets acked from %d on; committing from there",
                            self.name, tp, committed, first)
                consumer._committed_offset[tp] = first - 1
        self._holes_seen = {tp: h for tp, h in holes.items() if self._holes_seen.get(tp) != h}

    @staticmethod
    async def _freeze_startup_objects() -> None:
        """Move what start-up made (modules, apps, schemas) out of the collector's sight: fewer
        full collections while running, and no long final collection at shutdown — a
        stopped worker otherwise sits in it past `make down`'s grace and gets SIGKILLed."""
        gc.freeze()

    # ------------------------------------------------------------------ wiring

    def topic(self, aggregate_type: str) -> faust.TopicT:
        return self.app.topic(self.service.settings.topic(aggregate_type), key_type=bytes, value_type=bytes,
                              key_serializer="raw", value_serializer="raw")

    def consume(self, aggregate_type: str, handlers: Mapping[type[Event], Handler]) -> None:
        """Apply `handlers` (event class → effect) to the events of one topic, exactly once each."""
        self.subscribe(aggregate_type, handlers)
        by_name: dict[str, Handler] = {cls.__name__: h for cls, h in handlers.items()}
        topic_name = self.service.settings.topic(aggregate_type)

        async def agent(stream: faust.StreamT) -> None:
            # Agents are given a Stream; faust types it as the narrower StreamT.
            async for batch in take_ready(cast(faust.Stream, stream), self.batch_max):
                await self.apply_batch(aggregate_type, topic_name, by_name, batch)

        name = f"{self.name}.{aggregate_type}"
        self.app.agent(self.topic(aggregate_type), name=name)(self.guarded(name, agent))

    def guarded(self, name: str, agent: Callable[[faust.StreamT], Awaitable[None]]
                ) -> Callable[[faust.StreamT], Awaitable[None]]:
        """`agent`, with a crash counted and remembered for /readyz before Faust restarts it.
        Every agent of a processor goes through here (`consume` does it; a table agent uses
        `@processor.agent(...)`)."""

        @functools.wraps(agent)
        async def run(stream: faust.StreamT) -> None:
            try:
                await agent(stream)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_crash = (time.monotonic(), f"{name}: {type(exc).__name__}: {exc}")
                AGENT_CRASHES.labels(self.name, name).inc()
                raise

        return run

    def agent(self, aggregate_type: str) -> Callable[[Callable[[faust.StreamT], Awaitable[None]]], Any]:
        """Decorator for an agent of its own on `aggregate_type`'s topic (a table fold), guarded."""
        def decorate(fn: Callable[[faust.StreamT], Awaitable[None]]) -> Any:
            name = f"{self.name}.{fn.__name__}"
            return self.app.agent(self.topic(aggregate_type), name=name)(self.guarded(name, fn))
        return decorate

    def crashed_recently(self, now: float | None = None) -> str | None:
        """Why an agent crashed in the last CRASH_UNREADY_SECONDS, or None."""
        if self.last_crash is None:
            return None
        at, reason = self.last_crash
        return reason if (time.monotonic() if now is None else now) - at < CRASH_UNREADY_SECONDS else None

    def subscribe(self, aggregate_type: str, handlers: Mapping[type[Event], Callable[..., Any]]) -> None:
        """Record (and check) what this processor reads; `consume` does it for the usual agent."""
        for cls in handlers:
            if EVENT_CLASSES.get((aggregate_type, cls.__name__)) is not cls:
                raise ValueError(f"{self.name}: {cls.__name__} is not an event of {aggregate_type}")
            self.service.codec.catalog.get(aggregate_type, cls.__name__)  # LookupError without a schema
        self.subscriptions.setdefault(aggregate_type, {}).update(handlers)

    def _add_pages(self) -> None:
        app = self.app

        @self.app.page("/metrics")
        async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            # aiohttp refuses a charset inside content_type; the exposition format is ASCII anyway.
            return web.bytes(generate_latest(), content_type="text/plain; version=0.0.4")

        @self.app.page("/healthz")
        async def healthz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            return web.json({"status": "ok"})

        @self.app.page("/debug/consumer")
        async def consumer_state(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            # What the consumer holds per source partition: for a worker that stops fetching or
            # committing, this says which of Faust's sets a partition is stuck in.
            c: Any = app.consumer
            sources = {self.service.settings.topic(a) for a in self.subscriptions}

            def tps(items: Any) -> list[str]:
                return sorted(f"{tp.topic}[{tp.partition}]" for tp in items or () if tp.topic in sources)

            return web.json({
                "assigned": tps(c.assignment()), "active": tps(c._active_partitions),
                "paused": tps(c._paused_partitions), "buffered": tps(c._buffered_partitions),
                "acked_pending": {f"{tp.topic}[{tp.partition}]": [len(v), sorted(v)[:12]]
                                  for tp, v in c._acked.items() if v},
                "gaps": {f"{tp.topic}[{tp.partition}]": sorted((i.begin, i.end) for i in g)[:6]
                         for tp, g in c._gap.items() if g},
                "committed": {f"{tp.topic}[{tp.partition}]": v for tp, v in c._committed_offset.items()
                              if tp.topic in sources},
                "read": {f"{tp.topic}[{tp.partition}]": v for tp, v in c._read_offset.items() if tp.topic in sources},
                "flow_active": getattr(c, "flow_active", None), "app_flow": app.flow_control.is_active(),
                "rebalancing": app.rebalancing, "in_recovery": app.in_recovery,
                "unacked": len(getattr(c, "_unacked_messages", ())),
            })

        @self.app.page("/readyz")
        async def readyz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            # Ready once the tables are recovered and no rebalance is under way (partitions assigned).
            # faust's TableManagerT leaves out `recovery`, which its TableManager (app.tables) has.
            recovered = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]
            ok = recovered and not app.rebalancing and not app.in_recovery
            if ok and (crash := self.crashed_recently()):
                return web.json({"status": "crashing", "detail": crash}, status=503)
            return web.json({"status": "ready" if ok else "starting"}, status=200 if ok else 503)

    # ------------------------------------------------------------------ applying

    async def read(self, aggregate_type: str, batch: Sequence[faust.EventT]) -> list[tuple[faust.EventT, Event]]:
        """A batch of records as their events, for an agent of its own (a table fold), in order:
        records of types this processor does not handle are left out, poison is dead-lettered.
        The agent counts them with `applied` once applied."""
        if not batch:
            return []
        handled = dict.fromkeys(cls.__name__ for cls in self.subscriptions.get(aggregate_type, {}))
        items = await self._decoded(aggregate_type, batch[0].message.topic, handled, batch)
        return [(item.record, cast(Event, item.event)) for item in items]

    def applied(self, pairs: Sequence[tuple[faust.EventT, Event]]) -> None:
        """Count what an agent of its own has applied (once its effects are written)."""
        for record, event in pairs:
            EVENTS.labels(self.name, record.message.topic, event.event_type(), "applied").inc()

    def decode(self, aggregate_type: str, event_type: str, record: faust.EventT) -> Event:
        """The record as its event class, read with the class's own schema."""
        cls = EVENT_CLASSES.get((aggregate_type, event_type))
        if cls is None:
            raise UndecodableRecord(f"no event class {event_type} for {aggregate_type}")
        return cls.from_record(self.service.codec.decode(record.value, reader=(aggregate_type, event_type)))

    async def _decoded(self, aggregate_type: str, topic: str, handlers: Mapping[str, Handler | None],
                       batch: Sequence[faust.EventT]) -> list[_Item]:
        """The records of `batch` whose type is in `handlers`, decoded in one thread hop, in order;
        the poison among them dead-lettered and left out."""
        BATCH_SIZE.labels(self.name, topic).observe(len(batch))
        items = []
        for record in batch:
            event_type = _header(record.message.headers, "event_type") or ""
            if event_type not in handlers:  # not this processor's business: no decode, no database
                EVENTS.labels(self.name, topic, event_type or "unknown", "ignored").inc()
                continue
            items.append(_Item(record, event_type, handlers[event_type]))
        if not items:
            return []
        await retrying(f"{self.name}: decoding from {topic}",
                       lambda: asyncio.to_thread(self._decode_all, aggregate_type, items),
                       RETRIES.labels(self.name, topic).inc)
        for item in [i for i in items if isinstance(i.event, _Poison)]:
            await self._dead_letter(topic, item, str(item.event))
        return [i for i in items if isinstance(i.event, Event)]

    async def apply_batch(self, aggregate_type: str, topic: str, handlers: Mapping[str, Handler],
                          batch: Sequence[faust.EventT]) -> None:
        good = await self._decoded(aggregate_type, topic, handlers, batch)
        if not good:
            return
        try:
            await retrying(f"{self.name}: applying {len(good)} from {topic}",
                           lambda: asyncio.to_thread(self._apply_sync, topic, good),
                           RETRIES.labels(self.name, topic).inc)
        except Exception as exc:
            if len(good) == 1:
                await self._dead_letter(topic, good[0], f"{type(exc).__name__}: {exc}")
                return
            # One of them can never apply: find it by applying them one at a time, in order.
            for item in good:
                try:
                    await retrying(f"{self.name}: applying {item.event_type} from {topic}",
                                   functools.partial(asyncio.to_thread, self._apply_sync, topic, [item]),
                                   RETRIES.labels(self.name, topic).inc)
                except Exception as exc:
                    await self._dead_letter(topic, item, f"{type(exc).__name__}: {exc}")

    def _decode_all(self, aggregate_type: str, items: list[_Item]) -> None:
        for item in items:
            if item.event is not None:
                continue  # decoded in an earlier try
            try:
                item.event = self.decode(aggregate_type, item.event_type, item.record)
            except PERMANENT as exc:
                item.event = _Poison(f"undecodable {item.event_type}: {exc!r}")

    def _apply_sync(self, topic: str, items: list[_Item]) -> None:
        started = time.perf_counter()
        events = [i.event for i in items if isinstance(i.event, Event)]
        with self.service.uow() as uow:
            fresh = first_deliveries(uow.session, self.name, [e.event_id for e in events])
            outcomes = []
            for item in items:
                event = item.event
                assert isinstance(event, Event) and item.handler is not None
                if event.event_id not in fresh:
                    outcomes.append((item.event_type, "duplicate"))
                    continue
                fresh.discard(event.event_id)  # the same event twice in one batch applies once
                token = correlation_id_var.set(event.correlation_id)
                try:
                    item.handler(uow, event)
                finally:
                    correlation_id_var.reset(token)
                outcomes.append((item.event_type, "applied"))
            uow.commit()
        APPLY_SECONDS.labels(self.name, topic).observe(time.perf_counter() - started)
        for event_type, outcome in outcomes:
            EVENTS.labels(self.name, topic, event_type, outcome).inc()

    async def dead_letter(self, record: faust.EventT, error: str) -> None:
        """Set aside a record its agent can never apply, with the reason (for agents of their own)."""
        event_type = _header(record.message.headers, "event_type") or ""
        await self._dead_letter(record.message.topic, _Item(record, event_type, None), error)

    async def _dead_letter(self, topic: str, item: _Item, error: str) -> None:
        msg = item.record.message
        log.error("%s: dead-lettering %s[%s]@%s: %s", self.name, msg.topic, msg.partition, msg.offset, error)
        # A consumed message's headers are a list of (key, value) pairs.
        received = cast(list[tuple[str, bytes]], msg.headers or [])
        headers = [*received, ("error", error.encode()), ("source_topic", msg.topic.encode()),
                   ("source_partition", str(msg.partition).encode()), ("source_offset", str(msg.offset).encode())]
        await self.dlq.send(key=msg.key, value=item.record.value, headers=headers)
        EVENTS.labels(self.name, topic, item.event_type, "dead_lettered").inc()


def event_uuid(value: str, field: str) -> uuid.UUID:
    """An id field of an event as a UUID; a malformed one can never apply (PermanentFailure)."""
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        raise PermanentFailure(f"{field} {value!r} is not a UUID") from None
