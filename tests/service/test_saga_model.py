"""A model-based test of the order saga (issue 16: "every interleaving, not a sample").

Hypothesis drives the participants' real effect functions — the handlers restaurants_reservations,
delivery_bookings, orders_saga, payments_orders and notifications_feed subscribe, applied through
`Processor._apply_sync` (inbox, effects, outbox, one transaction) on the real Postgres — and the
user's, kitchen's and courier's use cases, in any order the topics allow (see saga_model_support):

- the next event of any (consumer, topic, order) queue, or a batch of several from one topic;
- a worker killed before its commit (the batch rolls back and stays on the topic);
- a rewind: a consumer reads again events it already applied (a crash after the commit, before the
  offset commit; or Debezium publishing an outbox row twice);
- the user placing orders, depositing, paying (the exact total or a wrong amount) and cancelling;
- the clock passing an order's deadline, then the grace period, and orders' expiry sweep;
- the kitchen preparing and the courier picking up and delivering a day.

After every step the invariants of SPEC §8 that hold at every instant are checked across the five
databases; whenever nothing is in flight, also those that hold once the saga is quiet; at the end
every queue is drained, unpaid orders left to expire and paid ones delivered, and every order must
have reached a terminal state.

`make test` runs a bounded search (CALORIES_MODEL_EXAMPLES=8 examples of up to CALORIES_MODEL_STEPS=30
steps); a longer one, printing what it explored:
    source .venv/bin/activate && CALORIES_ENVIRONMENT=development CALORIES_MODEL_EXAMPLES=300 \
        CALORIES_MODEL_STEPS=60 pytest tests/service/test_saga_model.py -k any_order -s -q
"""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import cast

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from apis.orders import domain
from apis.orders.domain import ACTIVE, AWAITING_PAYMENT, CANCELLED, COMPLETED, EXPIRED, PENDING, REJECTED
from tests.service.saga_model_support import (
    DEADLINE_PASSED,
    GRACE_PASSED,
    KITCHEN_CAPACITY,
    Key,
    Order,
    Snapshot,
    World,
    delivery_bookings,
)

EXAMPLES = int(os.environ.get("CALORIES_MODEL_EXAMPLES", "8"))
STEPS = int(os.environ.get("CALORIES_MODEL_STEPS", "30"))
MAX_ORDERS = 4
HELD = ("pending", "confirmed")
WENT_AHEAD = (ACTIVE, COMPLETED)
CALLED_OFF = (REJECTED, CANCELLED, EXPIRED)


def _reachable() -> dict[str, set[str]]:
    """Every status reachable from each status along domain.TRANSITIONS (one step may apply a batch)."""
    step: dict[str, set[str]] = defaultdict(set)
    for (now, _), then in domain.TRANSITIONS.items():
        step[str(now)].add(str(then))
    reach: dict[str, set[str]] = {}
    for start in map(str, domain.OrderStatus):
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in step[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        reach[start] = seen
    return reach


REACHABLE = _reachable()
# What the runs explored, printed after the search (pytest -s): steps, faults, outcomes, paths taken.
EXPLORED: Counter[str] = Counter()
MOVES = {(str(a), str(b)) for (a, _), b in domain.TRANSITIONS.items()}


# ---- invariants that hold after every step ----------------------------------------------------------

def orders_move_only_along_the_state_machine(w: World, s: Snapshot) -> None:
    # §8 "every accepted order reaches a terminal state": the terminal states are final, and an order
    # moves only along TRANSITIONS (docs/saga.md, Statuses), whatever order its events come in.
    for o in w.orders:
        now = s.orders[o.id].status
        assert now == o.seen[-1] or now in REACHABLE[o.seen[-1]], f"order {o.id}: {o.seen} then {now}"
        if now != o.seen[-1]:
            o.seen.append(now)
    by_order: dict[uuid.UUID, list[str]] = defaultdict(list)
    for order_id, status in s.history:
        if not by_order[order_id] or by_order[order_id][-1] != status:
            by_order[order_id].append(status)
    for order_id, statuses in by_order.items():
        for a, b in itertools.pairwise(statuses):
            assert (a, b) in MOVES, f"order {order_id}: history moved {a} → {b} ({statuses})"


def money_is_conserved(w: World, s: Snapshot) -> None:
    # §8 "money is conserved" (§5: deposits - charges + refunds = balances, always; no wallet below 0).
    sums: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for row in s.ledger:
        sums[row.user_id][row.kind] += row.amount
    for user in w.users:
        m, balance = sums[user], s.wallets.get(user, 0)
        assert m["deposit"] - m["charge"] + m["refund"] == balance >= 0, f"user {user}: {dict(m)} vs {balance}"


def charged_at_most_once_and_exactly_the_total(w: World, s: Snapshot) -> None:
    # §8 "each order is charged at most once"; §5 step 5: only an order payments knows to be awaiting
    # payment, with the exact total; a refund gives back that one charge, once.
    kinds: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    for row in s.ledger:
        if row.order_id is not None:
            kinds[row.order_id][row.kind] += 1
            order = w.orders[w.index[str(row.order_id)]]
            assert row.amount == order.total, f"order {order.id}: {row.kind} of {row.amount}, total {order.total}"
    awaited = {order_id for order_id, status in s.history if status == AWAITING_PAYMENT}
    for order_id, k in kinds.items():
        assert k["charge"] <= 1 and k["refund"] <= k["charge"], f"order {order_id}: {dict(k)}"
        assert order_id in awaited, f"order {order_id} charged without ever awaiting payment"


def after_the_pivot_the_order_holds_kitchen_courier_and_payment(w: World, s: Snapshot) -> None:
    # §8 "reserved portions and courier slots equal those of orders awaiting payment or active" and §5
    # step 5 "after [payment] nothing is rolled back": an ACTIVE or COMPLETED order has its kitchen
    # reservation and courier booking held (pending until OrderActivated reaches them) and a payment
    # that succeeded, of its total, never refunded.
    for o in w.orders:
        if s.orders[o.id].status in WENT_AHEAD:
            assert s.reservations.get(o.id) in HELD and s.bookings.get(o.id) in HELD, \
                f"{o.id} {s.orders[o.id].status}: kitchen {s.reservations.get(o.id)}, courier {s.bookings.get(o.id)}"
            payment = s.payments.get(o.id)
            assert payment is not None and payment.status == "succeeded" and payment.amount == o.total, \
                f"{o.id} {s.orders[o.id].status} with payment {payment}"


def nothing_is_confirmed_before_the_pivot(w: World, s: Snapshot) -> None:
    # §5a semantic lock ("a released reservation cannot be confirmed") and pessimistic view (nothing
    # irreversible before the payment): a confirmed reservation or booking, or a delivery task,
    # belongs to an order that went ahead (ACTIVE/COMPLETED).
    for o in w.orders:
        status = s.orders[o.id].status
        confirmed = "confirmed" in (s.reservations.get(o.id), s.bookings.get(o.id))
        assert not confirmed or status in WENT_AHEAD, f"{o.id} is {status} but confirmed"
    for order_id, day, task in s.tasks:
        assert s.bookings.get(order_id) == "confirmed", f"task {day} {task} of {order_id} without a confirmed booking"


def refunds_only_for_orders_that_did_not_go_ahead(w: World, s: Snapshot) -> None:
    # §5 step 8: a payment that lands on a cancelled or expired order is refunded; a refund never
    # touches an order that went ahead.
    for order_id, payment in s.payments.items():
        if payment.status == "refunded":
            assert s.orders[order_id].status in CALLED_OFF, f"{order_id} refunded while {s.orders[order_id].status}"


def capacity_is_never_exceeded(w: World, s: Snapshot) -> None:
    # §5 steps 2-3 (capacity) and §5a commutative updates: the kitchen's portions per day and the
    # couriers' slots per date never exceed what there is, however the reservations interleave.
    per_day: Counter = Counter()
    for _, day, n in s.portions:
        per_day[day] += n
    assert all(n <= KITCHEN_CAPACITY for n in per_day.values()), f"kitchen over capacity: {dict(per_day)}"
    slots = delivery_bookings.settings.delivery_slots_per_day
    assert all(n <= slots for n in s.used_slots.values()), f"couriers over capacity: {s.used_slots}"


def holds_are_exactly_the_orders(w: World, s: Snapshot) -> None:
    # §5a commutative updates keyed by order id: a held reservation holds exactly its order's portions
    # per day, a held booking exactly one slot per date of its order; a released or rejected one nothing.
    portions: dict[uuid.UUID, dict] = defaultdict(dict)
    for order_id, day, n in s.portions:
        portions[order_id][day] = n
    days: dict[uuid.UUID, set] = defaultdict(set)
    for order_id, day in s.booking_days:
        days[order_id].add(day)
    for o in w.orders:
        held = s.reservations.get(o.id) in HELD
        assert portions.get(o.id, {}) == (o.portions if held else {}), \
            f"{o.id} kitchen {s.reservations.get(o.id)}: holds {portions.get(o.id)}, order {o.portions}"
        booked = s.bookings.get(o.id) in HELD
        assert days.get(o.id, set()) == (set(o.dates) if booked else set()), \
            f"{o.id} courier {s.bookings.get(o.id)}: holds {days.get(o.id)}, order {o.dates}"


def at_most_one_notification_per_event_and_recipient(w: World, s: Snapshot) -> None:
    # §8 "one notification per (event, recipient)" (§6: whatever the redeliveries).
    expected = w.notifiable()
    for event_id, user_id, count in s.notifications:
        assert count == 1 and expected.get(event_id) == user_id, f"event {event_id}: {count} for {user_id}"


ALWAYS: tuple[Callable[[World, Snapshot], None], ...] = (
    orders_move_only_along_the_state_machine, money_is_conserved, charged_at_most_once_and_exactly_the_total,
    after_the_pivot_the_order_holds_kitchen_courier_and_payment, nothing_is_confirmed_before_the_pivot,
    refunds_only_for_orders_that_did_not_go_ahead, capacity_is_never_exceeded, holds_are_exactly_the_orders,
    at_most_one_notification_per_event_and_recipient)


# ---- invariants that hold once nothing is in flight --------------------------------------------------

def no_order_is_left_pending(w: World, s: Snapshot) -> None:
    # §8 "every accepted order reaches a terminal state": with every event delivered, the kitchen and
    # the courier have decided; what is left open waits only for the user (AWAITING_PAYMENT).
    for o in w.orders:
        assert s.orders[o.id].status != PENDING, f"{o.id} still PENDING with nothing in flight"


def reservations_equal_orders_awaiting_payment_or_active(w: World, s: Snapshot) -> None:
    # §8 "reserved portions and courier slots equal those of orders that are awaiting payment or
    # active; nothing stays reserved for a rejected, cancelled or expired order" (completed ones keep
    # theirs: they were cooked and carried).
    for o in w.orders:
        status = s.orders[o.id].status
        kitchen, courier = s.reservations.get(o.id), s.bookings.get(o.id)
        if status == AWAITING_PAYMENT:
            assert (kitchen, courier) == ("pending", "pending"), f"{o.id} {status}: {kitchen}, {courier}"
        elif status in WENT_AHEAD:
            assert (kitchen, courier) == ("confirmed", "confirmed"), f"{o.id} {status}: {kitchen}, {courier}"
        else:
            assert kitchen not in HELD and courier not in HELD, f"{o.id} {status}: {kitchen}, {courier}"


def each_order_is_charged_its_total_or_nothing(w: World, s: Snapshot) -> None:
    # §8 "charged at most once; money is conserved", per order once quiet: an order that went ahead
    # cost exactly its total; any other cost nothing (a charge that raced its end was refunded), and
    # payments will take no payment for it any more.
    net: Counter = Counter()
    for row in s.ledger:
        if row.order_id is not None:
            net[row.order_id] += row.amount if row.kind == "charge" else -row.amount if row.kind == "refund" else 0
    for o in w.orders:
        status = s.orders[o.id].status
        assert net[o.id] == (o.total if status in WENT_AHEAD else 0), f"{o.id} {status}: net charge {net[o.id]}"
        if status in CALLED_OFF:
            copy = s.copies.get(o.id)
            assert copy is not None and copy.status == "closed", f"{o.id} {status}: payments' copy {copy}"


def every_notifiable_event_notified_exactly_once(w: World, s: Snapshot) -> None:
    # §8 "one notification per (event, recipient)": not zero either, once everything is delivered.
    got = {event_id: (user_id, count) for event_id, user_id, count in s.notifications}
    for event_id, user_id in w.notifiable().items():
        assert got.get(event_id) == (user_id, 1), f"event {event_id}: {got.get(event_id)}, expected one for {user_id}"


QUIET = (no_order_is_left_pending, reservations_equal_orders_awaiting_payment_or_active,
         each_order_is_charged_its_total_or_nothing, every_notifiable_event_notified_exactly_once)


def every_order_ended(w: World, s: Snapshot) -> None:
    # §8 "every accepted order reaches a terminal state (REJECTED, ACTIVE→COMPLETED, CANCELLED,
    # EXPIRED)"; a COMPLETED one had every day delivered.
    for o in w.orders:
        row = s.orders[o.id]
        assert row.status in domain.TERMINAL, f"{o.id} ended the run {row.status} ({o.seen})"
        if row.status == COMPLETED:
            assert sorted(row.delivered_dates) == [d.isoformat() for d in o.dates], f"{o.id}: {row.delivered_dates}"


def check(w: World, *invariants: Callable[[World, Snapshot], None]) -> None:
    s = w.snapshot()
    for inv in invariants:
        inv(w, s)


def finish(w: World) -> None:
    """The end of the story: everything delivered; the orders nobody paid expire; the paid ones are
    cooked, picked up and delivered; every invariant, and every order ended."""
    w.drain()
    check(w, *ALWAYS, *QUIET)
    for i, o in enumerate(w.orders):
        while o.clock < GRACE_PASSED:
            w.time_passes(i)
    w.sweep()
    w.drain()
    for i, o in enumerate(w.orders):
        for day in o.dates:
            w.prepare(i, day)
    w.drain()
    for i, o in enumerate(w.orders):
        for day in o.dates:
            w.courier_moves(i, day, deliver=False)
            w.courier_moves(i, day, deliver=True)
    w.drain()
    check(w, *ALWAYS, *QUIET, every_order_ended)


# ---- the model ---------------------------------------------------------------------------------------

def awaited(o: Order) -> bool:
    return AWAITING_PAYMENT in o.seen


def still_open(o: Order) -> bool:
    return o.seen[-1] in domain.OPEN

class SagaModel(RuleBasedStateMachine):
    """One rule, `step`, draws what happens next from the actions possible now, weighted: Hypothesis
    picks among separate rules unevenly (and switches some off per example), and the saga only gets
    anywhere if events are delivered far more often than people act. A shrunk counterexample lists
    each step's draws by label: the action, then its arguments."""

    def __init__(self, engines: dict) -> None:
        super().__init__()
        self.w = World(engines)

    def _order(self, data: st.DataObject, which: Callable[[Order], bool] = lambda o: True) -> int:
        return data.draw(st.sampled_from([i for i, o in enumerate(self.w.orders) if which(o)]), label="order")

    def _picks(self, data: st.DataObject) -> list[Key]:
        """One waiting queue, and maybe more of the same consumer and topic: a batch."""
        # The consumer first, then one of its queues: otherwise the feed, which reads most topics,
        # would take most deliveries.
        consumer = data.draw(st.sampled_from(sorted({k[0] for k in self.w.waiting()})), label="consumer")
        first = data.draw(st.sampled_from([k for k in self.w.waiting() if k[0] == consumer]), label="queue")
        same = [k for k in self.w.waiting() if k[:2] == first[:2]]
        more = data.draw(st.lists(st.sampled_from(same), max_size=3), label="batched with")
        return [first, *more]

    def _actions(self) -> list[tuple[str, int]]:
        """(action, weight) for what can make a difference now; refusals (paying a PENDING order,
        cancelling a finished one) are the service and e2e tests' business."""
        w, orders = self.w, self.w.orders
        possible = [
            ("deliver", 8, bool(w.waiting())),
            ("fault", 2 if w.waiting() else 1, bool(w.waiting() or w.redeliverable())),
            ("place_order", 2, len(orders) < MAX_ORDERS),
            ("deposit", 1, True),
            ("pay", 2, any(awaited(o) for o in orders)),
            ("cancel", 1, any(still_open(o) for o in orders)),
            ("time_passes", 1, any(still_open(o) and o.clock < GRACE_PASSED for o in orders)),
            ("expiry_sweep", 1, any(still_open(o) and o.clock == GRACE_PASSED for o in orders)),
            ("kitchen_prepares", 1, any(o.paid == "succeeded" for o in orders)),
            ("courier_moves", 2, any(o.paid == "succeeded" for o in orders)),
        ]
        return [(name, weight) for name, weight, can in possible if can]

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        choices = [name for name, weight in self._actions() for _ in range(weight)]
        action = data.draw(st.sampled_from(choices), label="action")
        EXPLORED[f"action {action}"] += 1
        getattr(self, action)(data)

    # -- the topics

    def deliver(self, data: st.DataObject) -> None:
        """A few batches in a row (the processors run on while people think), each one checked."""
        rounds = data.draw(st.integers(1, 6), label="batches")
        for n in range(rounds):
            if n:
                if not self.w.waiting():
                    break
                self._check()
            picks = self._picks(data)
            self.w.deliver(picks)
            EXPLORED[f"batches of {len(picks)}"] += 1

    def fault(self, data: st.DataObject) -> None:
        """A worker killed before its commit (its batch stays on the topic), or one that reads again
        what it applied (killed after its commit, before its offset commit; or an outbox row
        published twice)."""
        kinds = [k for k, can in (("crash", self.w.waiting()), ("rewind", self.w.redeliverable())) if can]
        if data.draw(st.sampled_from(kinds), label="fault") == "crash":
            assert not self.w.deliver(self._picks(data), crash=True)
            EXPLORED["crashes before a commit"] += 1
        else:
            key = data.draw(st.sampled_from(self.w.redeliverable()), label="queue")
            start = data.draw(st.integers(0, len(self.w.delivered[key]) - 1), label="from")
            self.w.rewind(key, start)
            EXPLORED["rewinds"] += 1

    # -- people

    def place_order(self, data: st.DataObject) -> None:
        user = data.draw(st.integers(0, 1), label="user")
        dates = data.draw(st.sampled_from([(0,), (1,), (0, 1)]), label="dates")
        quantity = data.draw(st.integers(1, 2), label="quantity")
        stew = data.draw(st.sampled_from([False, False, False, True]), label="stew (the kitchen ran out)")
        self.w.place(user, [self.w.dates[d] for d in dates], quantity, stew)

    def deposit(self, data: st.DataObject) -> None:
        self.w.deposit(data.draw(st.integers(0, 1), label="user"),
                       data.draw(st.sampled_from([300, 800, 2000]), label="amount"))

    def pay(self, data: st.DataObject) -> None:
        i = self._order(data, awaited)  # awaiting payment, or was: it may be cancelled or expired meanwhile
        exact = data.draw(st.sampled_from([True, True, True, False]), label="the exact total")
        order = self.w.orders[i]
        clock, first = order.clock, order.paid is None
        outcome = self.w.pay(i, order.total if exact else order.total + 1)
        # §5: "Payments refuses a payment after the order's deadline"; only the exact total is taken (a
        # repeat is answered with the first payment, whatever it says).
        assert not first or outcome is None or (exact and clock < DEADLINE_PASSED), f"{outcome} (clock {clock})"
        EXPLORED[f"payment {outcome or 'refused'}"] += 1

    def cancel(self, data: st.DataObject) -> None:
        i = self._order(data, still_open)
        before = self.w.snapshot().orders[self.w.orders[i].id].status
        outcome = self.w.cancel(i)
        # §5 step 8: the user cancels before paying: a PENDING or AWAITING_PAYMENT order is cancelled.
        assert (outcome == CANCELLED) == (before in (PENDING, AWAITING_PAYMENT, CANCELLED)), f"{before}: {outcome}"
        EXPLORED[f"cancel while {before}"] += 1

    def time_passes(self, data: st.DataObject) -> None:
        """An order's deadline passes (payments refuses it from now on), or then its grace period; the
        expiry sweep runs now, or at a later step."""
        self.w.time_passes(self._order(data, lambda o: still_open(o) and o.clock < GRACE_PASSED))
        if data.draw(st.booleans(), label="the sweep runs"):
            self.w.sweep()

    def expiry_sweep(self, data: st.DataObject) -> None:
        self.w.sweep()

    def kitchen_prepares(self, data: st.DataObject) -> None:
        i = self._order(data, lambda o: o.paid == "succeeded")
        day = data.draw(st.sampled_from(self.w.orders[i].dates), label="day")
        self.w.prepare(i, day)

    def courier_moves(self, data: st.DataObject) -> None:
        i = self._order(data, lambda o: o.paid == "succeeded")
        day = data.draw(st.sampled_from(self.w.orders[i].dates), label="day")
        self.w.courier_moves(i, day, deliver=data.draw(st.booleans(), label="delivered (else picked up)"))

    # -- the checks

    def _check(self) -> None:
        check(self.w, *ALWAYS, *(QUIET if not self.w.waiting() else ()))

    @invariant()
    def after_every_step(self) -> None:
        EXPLORED["steps"] += 1
        self._check()

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:  # a step failed already: report that, not its aftermath
                finish(self.w)
                EXPLORED["examples"] += 1
                EXPLORED.update(" → ".join(o.seen) for o in self.w.orders)
                EXPLORED.update(f"events {type(e).__name__}" for _, e in self.w.published)
        finally:
            self.w.close()


SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
                    print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def test_the_saga_keeps_its_invariants_in_any_order_the_topics_allow(engines: dict) -> None:
    EXPLORED.clear()
    # run_state_machine_as_test calls what it is given; a factory passes the fixture's engines in.
    run_state_machine_as_test(cast(type[SagaModel], lambda: SagaModel(engines)), settings=SETTINGS)
    print("\nexplored:", *(f"{n:6} {what}" for what, n in sorted(EXPLORED.items())), sep="\n")


def _placed(w: World, user: int, day: int, stew: bool = False) -> int:
    i = w.place(user, [w.dates[day]], 1, stew)
    assert i is not None
    return i


def test_the_model_reaches_every_ending(engines: dict) -> None:
    """The harness itself, scripted through each ending, so a model that silently stopped driving the
    saga (no event delivered, every payment refused) fails here instead of passing vacuously."""
    w = World(engines)
    try:
        paid, cancelled, short = _placed(w, 0, 0), _placed(w, 0, 1), _placed(w, 1, 0)
        _placed(w, 1, 1, stew=True)  # orders still sells the stew; the kitchen has run out
        w.drain()
        assert w.pay(paid, w.orders[paid].total) == "succeeded"
        assert w.cancel(cancelled) == CANCELLED
        assert w.pay(short, w.orders[short].total) == "failed"  # the second user's wallet is empty
        finish(w)
        s = w.snapshot()
        assert [s.orders[o.id].status for o in w.orders] == [COMPLETED, CANCELLED, REJECTED, REJECTED]
    finally:
        w.close()


def test_the_model_plays_the_races_docs_saga_md_decides(engines: dict) -> None:
    """docs/saga.md "Races decided", driven through the model's own moves: a payment whose OrderPaid is
    still on its way when the user cancels, and one accepted before the deadline whose OrderPaid
    arrives after the sweep expired the order; both end refunded, with nothing held."""
    w = World(engines)
    try:
        raced_cancel, raced_expiry = _placed(w, 0, 0), _placed(w, 0, 1)
        w.drain()
        for i in (raced_cancel, raced_expiry):
            assert w.pay(i, w.orders[i].total) == "succeeded"
        assert w.cancel(raced_cancel) == CANCELLED  # before orders_saga read the OrderPaid
        w.time_passes(raced_expiry)
        w.time_passes(raced_expiry)
        w.sweep()
        check(w, *ALWAYS)
        finish(w)
        s = w.snapshot()
        assert [s.orders[o.id].status for o in w.orders] == [CANCELLED, EXPIRED]
        assert [s.payments[o.id].status for o in w.orders] == ["refunded", "refunded"]
    finally:
        w.close()
