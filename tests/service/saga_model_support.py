"""The world the saga model (test_saga_model.py) drives: the four saga participants and the
notifications feed, each with its REAL handlers (the functions its stream processor subscribes) applied
through its processor's REAL apply path (`Processor._apply_sync`: the inbox claim via
`first_deliveries`, the handlers, the commit, in one transaction), on the stack's real Postgres inside
one rolled-back transaction per database; plus the topics between them, modelled as FIFO queues per
(consumer, topic, order) so the model can deliver events in any order Kafka allows.

Kafka's guarantees, as modelled: one key (the order id) is on one partition, so each consumer group
reads one order's events on one topic in the order they were published; different topics (and
different orders) are read independently, so any interleaving of them is possible. A consumer that
dies after its commit but before committing its offset reads the events again (a rewind); one that
dies before its commit leaves nothing behind and reads the same events again.

Nothing here talks to Kafka or the registry: events travel as Python objects and go through the Avro
wire format (the schemas in `schemas/`, a fake registry) on each delivery, as the processor decodes
them with its own reader schema.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Engine, Select, create_engine, func, insert, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from apis.delivery import service as delivery
from apis.delivery.models import booking_days, bookings, tasks
from apis.notifications import domain as notices
from apis.notifications.models import notifications
from apis.orders import service as orders
from apis.orders.events import OrderAwaitingPayment, OrderCreated
from apis.orders.models import history
from apis.orders.models import orders as orders_table
from apis.orders.settings import OrderSettings
from apis.payments import service as payments
from apis.payments.models import ledger, order_copies, wallets
from apis.payments.models import payments as payments_table
from apis.restaurants import reservations as kitchen
from apis.restaurants import service as restaurants
from apis.restaurants.models import reservations, reserved_portions
from chassis.avro import EventCodec, SchemaCatalog
from chassis.db import UnitOfWork
from chassis.events import Event
from chassis.problems import Problem
from chassis.settings import ServiceSettings
from chassis.streams import Processor, _Item
from stream_processors import (
    delivery_bookings,
    notifications_feed,
    orders_copies,
    orders_saga,
    payments_orders,
    restaurants_reservations,
)
from tests.fakes import FakeRegistry
from tests.service.conftest import RecordingCodec

# The consumers of saga events, as deployed. orders_copies is used only to set the menu up.
SAGA_PROCESSORS: tuple[Processor, ...] = (
    restaurants_reservations.processor, delivery_bookings.processor, orders_saga.processor,
    payments_orders.processor, notifications_feed.processor)
SERVICES = ("orders", "restaurants", "delivery", "payments", "notifications")

# Small on purpose: a few orders already fill the kitchen and the couriers, so rejections happen.
KITCHEN_CAPACITY = 3  # portions per day
COURIER_SLOTS = 2  # courier slots left per date for the model's orders
SOUP_PRICE, STEW_PRICE = 400, 300
FUNDS = 3000  # the first user's wallet at the start; the second starts empty (its payments fail)
GRACE = OrderSettings().order_payment_grace_seconds
DEADLINE_PASSED, GRACE_PASSED = 1, 2  # an order's clock: 0 before its deadline

# The wire: what the outbox writes and the processor decodes (schemas from schemas/, no registry).
WIRE = EventCodec(SchemaCatalog(ServiceSettings().schema_dirs), client=cast(Any, FakeRegistry()))

READERS = ThreadPoolExecutor(max_workers=len(SERVICES), thread_name_prefix="saga-model-read")

Key = tuple[str, str, int]  # (consumer, aggregate type = topic, the order's index in the model)


def _typed(column: str, value: Any) -> Any:
    """A value from a JSON row as the table has it: the ids are UUIDs, `day` and `date` dates."""
    if value is None:
        return None
    if column in ("id", "order_id", "user_id", "event_id") and isinstance(value, str):
        return uuid.UUID(value)
    if column in ("day", "date"):
        return date.fromisoformat(value)
    return value


class SimulatedCrash(Exception):
    """The worker died after applying the effects and before its commit."""


class _CrashingUnitOfWork(UnitOfWork):
    def commit(self) -> None:
        raise SimulatedCrash("killed before the commit")


class Database:
    """One service database: units of work whose commits are savepoints of one outer transaction
    (rolled back by `close`), and a codec that records what was published (at commit)."""

    def __init__(self, engine: Engine) -> None:
        self.connection: Connection = engine.connect()
        self.outer = self.connection.begin()
        self.sessions: sessionmaker[Session] = sessionmaker(
            bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        self.codec = RecordingCodec()
        self.seen = 0  # how many of codec.events were already put on the topics

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, cast(Any, self.codec))

    def crashing_uow(self) -> UnitOfWork:
        return _CrashingUnitOfWork(self.sessions, cast(Any, self.codec))

    def rows(self, query: Any) -> list[Any]:
        # Straight on the connection, inside the outer transaction: a read needs no savepoint of its
        # own, and the checks after every step read a lot (a savepoint costs two more round trips).
        return list(self.connection.execute(query).all())

    def fetch(self, **queries: Select) -> dict[str, list[Any]]:
        """Several queries in one round trip, each as a JSON array of its rows (ids and dates typed back)."""
        parts = []
        for name, query in queries.items():
            rows = query.subquery(f"q_{name}")
            parts.append(select(func.coalesce(func.json_agg(literal_column(f"q_{name}")), literal_column("'[]'::json")))
                         .select_from(rows).scalar_subquery().label(name))
        got = self.connection.execute(select(*parts)).one()._mapping
        return {name: [SimpleNamespace(**{k: _typed(k, v) for k, v in row.items()}) for row in got[name]]
                for name in queries}

    def close(self) -> None:
        self.outer.rollback()
        self.connection.close()


class Consumer:
    """A processor as deployed (its subscriptions, its name as the inbox consumer), applying events
    through its own `_apply_sync`, with the model's database in place of its service's."""

    def __init__(self, processor: Processor, db: Database) -> None:
        self.processor = processor
        self.name = processor.name
        self.db = db
        self._crash = False
        self._shim = copy.copy(processor)  # the processor's code, the model's database and wire
        self._shim.service = cast(Any, SimpleNamespace(uow=self._uow, codec=WIRE, name=processor.service.name,
                                                       settings=processor.service.settings))

    def _uow(self) -> UnitOfWork:
        return self.db.crashing_uow() if self._crash else self.db.uow()

    def handles(self, event: Event) -> bool:
        return type(event) in self.processor.subscriptions.get(event.aggregate_type, {})

    def apply(self, events: Sequence[Event], crash: bool = False) -> None:
        """One batch from one topic, as the processor's agent applies it: decoded from the wire with
        the consumer's schema, then inbox + handlers + commit in one transaction. With `crash`, the
        worker dies just before the commit: SimulatedCrash, and nothing of it stays."""
        [aggregate_type] = {e.aggregate_type for e in events}
        handlers = self.processor.subscriptions[aggregate_type]
        items = []
        for event in events:
            record = cast(Any, SimpleNamespace(value=WIRE.encode(event)))
            decoded = Processor.decode(self._shim, aggregate_type, event.event_type(), record)
            items.append(_Item(cast(Any, None), event.event_type(), handlers[type(event)], decoded))
        self._crash = crash
        try:
            Processor._apply_sync(self._shim, self.processor.service.settings.topic(aggregate_type), items)
        finally:
            self._crash = False


@dataclass
class Order:
    """What the model knows of one order it placed."""

    id: uuid.UUID
    user: int
    total: int
    portions: dict[date, int]  # per day
    clock: int = 0  # 0, DEADLINE_PASSED, GRACE_PASSED
    seen: list[str] = field(default_factory=lambda: ["PENDING"])  # statuses observed after each step
    paid: str | None = None  # what POST /payments answered: succeeded / failed (refusals leave None)

    @property
    def dates(self) -> list[date]:
        return sorted(self.portions)


class World:
    """The participants, their databases, the topics between them, and the user's and staff's actions."""

    def __init__(self, engines: dict[str, Engine], users: int = 2) -> None:
        for service in SERVICES:
            if service not in engines:
                engines[service] = create_engine(ServiceSettings().database_url(service))
        self.db: dict[str, Database] = {}
        try:
            for service in SERVICES:
                self.db[service] = Database(engines[service])
            self.consumers = {p.name: Consumer(p, self.db[p.service.name]) for p in SAGA_PROCESSORS}
            self.pending: dict[Key, deque[Event]] = defaultdict(deque)
            self.delivered: dict[Key, list[Event]] = defaultdict(list)
            self.published: list[tuple[int, Event]] = []  # every event of the model's orders, by order index
            self.orders: list[Order] = []
            self.index: dict[str, int] = {}
            self.users = [uuid.uuid4() for _ in range(users)]
            self.courier = uuid.uuid4()
            # orders' sweep compares with its transaction's now(): the outer transaction's start.
            self.db_now: datetime = self.db["orders"].rows(select(func.now()))[0][0]
            self._menu()
            self._couriers()
            payments.deposit(uow=self.db["payments"].uow(), user_id=self.users[0], amount=FUNDS)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for db in self.db.values():
            db.close()

    # ---------------------------------------------------------------- set-up

    def _menu(self) -> None:
        """A kitchen with two dishes, copied into orders through orders_copies; then the stew runs out
        in the kitchen, a change orders' copy has not heard of yet (so it can still be ordered, and
        the kitchen rejects it)."""
        r = self.db["restaurants"]
        kitchen_row = restaurants.create_restaurant(uow=r.uow(), data={
            "name": f"model kitchen {uuid.uuid4().hex}", "address": "1 Street", "daily_capacity": KITCHEN_CAPACITY,
            "active": True})
        self.restaurant_id: uuid.UUID = kitchen_row.id
        dishes = {}
        for text, price in (("Soup", SOUP_PRICE), ("Stew", STEW_PRICE)):
            dishes[text] = restaurants.add_dish(uow=r.uow(), restaurant_id=kitchen_row.id, data={
                "text": text, "calories": 300, "kind": "main", "price": price, "available": True}).id
        self.soup, self.stew = str(dishes["Soup"]), str(dishes["Stew"])
        copies = Consumer(orders_copies.processor, self.db["orders"])
        copies.apply(r.codec.events)
        restaurants.replace_dish(uow=r.uow(), restaurant_id=kitchen_row.id, dish_id=dishes["Stew"],
                                 data={"available": False})
        r.seen = len(r.codec.events)
        self.db["orders"].seen = len(self.db["orders"].codec.events)

    def _couriers(self) -> None:
        """Two dates no one else uses, with all but COURIER_SLOTS of the day's courier slots taken."""
        offset = uuid.uuid4().int % 3000  # not Hypothesis' seeded random: distinct dates for every example
        first = date(2040, 1, 1) + timedelta(days=offset)
        self.dates = [first, first + timedelta(days=1)]
        taken = delivery_bookings.settings.delivery_slots_per_day - COURIER_SLOTS
        fillers = [uuid.uuid4() for _ in range(max(taken, 0))]
        if fillers:
            with self.db["delivery"].uow() as uow:
                uow.session.execute(insert(bookings), [{
                    "order_id": f, "user_id": uuid.uuid4(), "restaurant_id": uuid.uuid4(), "address": "x", "phone": "x",
                    "status": "confirmed", "version": 1} for f in fillers])
                uow.session.execute(insert(booking_days), [{"order_id": f, "date": d} for f in fillers
                                                           for d in self.dates])
                uow.commit()

    # ---------------------------------------------------------------- the topics

    def collect(self) -> None:
        """What the last step committed (its outbox) goes onto the topics, to every consumer that reads it."""
        for db in self.db.values():
            fresh, db.seen = db.codec.events[db.seen:], len(db.codec.events)
            for event in fresh:
                i = self.index.get(str(getattr(event, "order_id", "")))
                if i is None:  # the stack's own orders, swept by our expiry: not the model's business
                    continue
                self.published.append((i, event))
                for consumer in self.consumers.values():
                    if consumer.handles(event):
                        self.pending[(consumer.name, event.aggregate_type, i)].append(event)

    def waiting(self) -> list[Key]:
        return sorted(k for k, q in self.pending.items() if q)

    def redeliverable(self) -> list[Key]:
        return sorted(k for k, done in self.delivered.items() if done)

    def deliver(self, picks: Sequence[Key], crash: bool = False) -> bool:
        """The next event of each pick (picks of one consumer and topic; a key picked twice gives its
        next two events, in order) as one batch. False when the worker crashed before committing:
        the events stay on the topic."""
        taken: dict[Key, int] = defaultdict(int)
        batch = []
        for key in picks:
            if taken[key] < len(self.pending[key]):
                batch.append(self.pending[key][taken[key]])
                taken[key] += 1
        if not batch:
            return True
        try:
            self.consumers[picks[0][0]].apply(batch, crash=crash)
        except SimulatedCrash:
            return False
        for key, n in taken.items():
            for _ in range(n):
                self.delivered[key].append(self.pending[key].popleft())
        self.collect()
        return True

    def rewind(self, key: Key, start: int) -> None:
        """The consumer read these again from `start` (it died before committing its offset)."""
        self.consumers[key[0]].apply(self.delivered[key][start:])
        self.collect()

    def drain(self) -> None:
        """Deliver everything, a whole topic's backlog per batch, until nothing is left anywhere."""
        while waiting := self.waiting():
            consumer, topic, _ = waiting[0]
            picks = [k for k in waiting if k[:2] == (consumer, topic) for _ in self.pending[k]]
            self.deliver(picks)

    # ---------------------------------------------------------------- what people do

    def place(self, user: int, dates: Iterable[date], quantity: int, stew: bool) -> int | None:
        """POST /orders (no Idempotency-Key): the index of the order, or None when refused."""
        body = {"restaurant_id": str(self.restaurant_id), "delivery_address": "2 Road", "phone": "+100",
                "days": [{"date": d.isoformat(), "meals": [{"meal": "lunch", "dishes": [
                    {"dish_id": self.stew if stew else self.soup, "quantity": quantity}]}]} for d in sorted(dates)]}
        try:
            answer, created = orders.place_order(uow=self.db["orders"].uow(), settings=OrderSettings(),
                                                 user_id=self.users[user], body=body, idempotency_key=None)
        except Problem:
            return None
        if not created:  # a blind retry of an open order: the natural key answers with that order
            return self.index[str(answer["order_id"])]
        self.index[str(answer["order_id"])] = len(self.orders)
        self.orders.append(Order(id=answer["order_id"], user=user, total=answer["total"],
                                 portions={d: quantity for d in dates}))
        self.collect()
        return len(self.orders) - 1

    def deposit(self, user: int, amount: int) -> None:
        payments.deposit(uow=self.db["payments"].uow(), user_id=self.users[user], amount=amount)
        self.collect()

    def pay(self, i: int, amount: int) -> str | None:
        """POST /payments: succeeded / failed, or None when refused (nothing charged)."""
        order = self.orders[i]
        try:
            row = payments.pay(uow=self.db["payments"].uow(), user_id=self.users[order.user], order_id=order.id,
                               amount=amount)
        except Problem:
            return None
        finally:
            self.collect()
        order.paid = order.paid or row.status
        return str(row.status)

    def cancel(self, i: int) -> str | None:
        order = self.orders[i]
        try:
            return str(orders.cancel(uow=self.db["orders"].uow(), order_id=order.id,
                                     user_id=self.users[order.user])["status"])
        except Problem:
            return None
        finally:
            self.collect()

    def time_passes(self, i: int) -> None:
        """The clock moves past the order's deadline, then past the grace period. The clock cannot be
        moved, so the deadline moves back instead, everywhere it is kept: orders' row, payments' copy
        and the events still on their way (the same events, by id; only the instant is earlier)."""
        order = self.orders[i]
        order.clock = min(order.clock + 1, GRACE_PASSED)
        deadline = self.db_now - (timedelta(seconds=1) if order.clock == DEADLINE_PASSED
                                  else timedelta(seconds=GRACE + 60))
        for service, table, key in (("orders", orders_table, orders_table.c.id),
                                    ("payments", order_copies, order_copies.c.order_id)):
            with self.db[service].uow() as uow:
                uow.session.execute(update(table).where(key == order.id, table.c.expires_at.is_not(None))
                                    .values(expires_at=deadline))
                uow.commit()
        for queues in (self.pending, self.delivered):
            for (_, _, j), events in queues.items():
                if j == i:
                    for n, e in enumerate(events):
                        if isinstance(e, OrderCreated | OrderAwaitingPayment) and e.expires_at is not None:
                            events[n] = dataclasses.replace(e, expires_at=deadline)

    def sweep(self) -> None:
        """orders_saga's timer: expire_due as it calls it, until no due order is left."""
        while orders.expire_due(uow=self.db["orders"].uow(), grace_seconds=GRACE) >= 100:
            pass
        self.collect()

    def prepare(self, i: int, day: date) -> bool:
        """The kitchen marks a day's meals prepared (refused unless the order is confirmed)."""
        try:
            kitchen.mark_prepared(uow=self.db["restaurants"].uow(), restaurant_id=self.restaurant_id,
                                  order_id=self.orders[i].id, day=day)
            return True
        except Problem:
            return False
        finally:
            self.collect()

    def _task(self, i: int, day: date) -> uuid.UUID | None:
        rows = self.db["delivery"].rows(select(tasks.c.id).where(tasks.c.order_id == self.orders[i].id,
                                                                 tasks.c.date == day))
        return rows[0][0] if rows else None

    def courier_moves(self, i: int, day: date, deliver: bool) -> bool:
        """The courier picks a day's meals up, or delivers them (refused when the task does not allow it)."""
        task_id = self._task(i, day)
        if task_id is None:
            return False
        move = delivery.deliver if deliver else delivery.pick_up
        try:
            move(uow=self.db["delivery"].uow(), task_id=task_id, courier_id=self.courier)
            return True
        except Problem:
            return False
        finally:
            self.collect()

    # ---------------------------------------------------------------- what the databases say

    def snapshot(self) -> Snapshot:
        """One round trip per database (the checks read after every step, on a busy machine)."""
        ids, users = [o.id for o in self.orders], self.users
        event_ids = [e.event_id for _, e in self.published] or [uuid.uuid4()]
        reads: dict[str, dict[str, Select]] = {
            "orders": {
                "orders": select(orders_table.c.id, orders_table.c.status, orders_table.c.delivered_dates)
                .where(orders_table.c.id.in_(ids)),
                "history": select(history.c.id, history.c.order_id, history.c.status)
                .where(history.c.order_id.in_(ids))},
            "restaurants": {
                "reservations": select(reservations.c.order_id, reservations.c.status)
                .where(reservations.c.order_id.in_(ids)),
                "portions": select(reserved_portions.c.order_id, reserved_portions.c.day, reserved_portions.c.portions)
                .where(reserved_portions.c.restaurant_id == self.restaurant_id)},
            "delivery": {
                "bookings": select(bookings.c.order_id, bookings.c.status).where(bookings.c.order_id.in_(ids)),
                "days": select(booking_days.c.order_id, booking_days.c.date).where(booking_days.c.order_id.in_(ids)),
                "used": select(booking_days.c.date, func.count().label("n"))
                .join(bookings, bookings.c.order_id == booking_days.c.order_id)
                .where(booking_days.c.date.in_(self.dates), bookings.c.status.in_(("pending", "confirmed")))
                .group_by(booking_days.c.date),
                "tasks": select(tasks.c.order_id, tasks.c.date, tasks.c.status).where(tasks.c.order_id.in_(ids))},
            "payments": {
                "payments": select(payments_table.c.order_id, payments_table.c.status, payments_table.c.amount)
                .where(payments_table.c.order_id.in_(ids)),
                "copies": select(order_copies.c.order_id, order_copies.c.status)
                .where(order_copies.c.order_id.in_(ids)),
                "ledger": select(ledger.c.user_id, ledger.c.kind, ledger.c.amount, ledger.c.order_id)
                .where(ledger.c.user_id.in_(users)),
                "wallets": select(wallets.c.user_id, wallets.c.balance).where(wallets.c.user_id.in_(users))},
            "notifications": {
                "told": select(notifications.c.event_id, notifications.c.user_id, func.count().label("n"))
                .where(notifications.c.event_id.in_(event_ids))
                .group_by(notifications.c.event_id, notifications.c.user_id)},
        }
        # The five databases at once, each on its own connection: the wait is the server's, not ours.
        got = dict(zip(reads, READERS.map(lambda name: self.db[name].fetch(**reads[name]), reads), strict=True))
        o, r, d, p, n = (got[name] for name in ("orders", "restaurants", "delivery", "payments", "notifications"))
        return Snapshot(
            orders={x.id: x for x in o["orders"]},
            history=[(x.order_id, x.status) for x in sorted(o["history"], key=lambda x: x.id)],
            reservations={x.order_id: x.status for x in r["reservations"]},
            portions=[(x.order_id, x.day, x.portions) for x in r["portions"]],
            bookings={x.order_id: x.status for x in d["bookings"]},
            booking_days=[(x.order_id, x.date) for x in d["days"]],
            used_slots={x.date: x.n for x in d["used"]},
            tasks=[(x.order_id, x.date, x.status) for x in d["tasks"]],
            payments={x.order_id: x for x in p["payments"]},
            copies={x.order_id: x for x in p["copies"]},
            ledger=p["ledger"],
            wallets={x.user_id: x.balance for x in p["wallets"]},
            notifications=[(x.event_id, x.user_id, x.n) for x in n["told"]],
        )

    def notifiable(self) -> dict[uuid.UUID, uuid.UUID]:
        """Every event of the model's orders that tells someone something: event id → recipient."""
        told = {}
        for _, e in self.published:
            notice = notices.notice_for(e.event_type(), e.to_record())
            if notice is not None:
                told[e.event_id] = notice.user_id
        return told


@dataclass
class Snapshot:
    """The participants' rows for the model's orders, read after a step."""

    orders: dict[uuid.UUID, Any]
    history: list[Any]
    reservations: dict[uuid.UUID, str]
    portions: list[tuple[uuid.UUID, date, int]]
    bookings: dict[uuid.UUID, str]
    booking_days: list[tuple[uuid.UUID, date]]
    used_slots: dict[date, int]
    tasks: list[tuple[uuid.UUID, date, str]]
    payments: dict[uuid.UUID, Any]
    copies: dict[uuid.UUID, Any]
    ledger: list[Any]
    wallets: dict[uuid.UUID, int]
    notifications: list[Any]
