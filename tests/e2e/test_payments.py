"""payments through the HTTP entry: the wallet stub, paying an order once, and the saga's reactions.

orders' events (OrderAwaitingPayment, OrderCancelled, …) are published by the test itself, encoded
with orders' codec and carrying the headers Debezium's EventRouter sets, so payments is tested as a
participant whatever state the upstream services are in. Every test ends by checking that money is
conserved for its user: deposits - charges + refunds = balance, from payments' own ledger.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from confluent_kafka import Message, Producer
from sqlalchemy import func, select

from apis.orders.events import OrderAwaitingPayment, OrderCancelled, OrderExpired
from apis.payments.models import ledger, order_copies, payments, wallets
from chassis.events import Event
from chassis.outbox import inbox, outbox
from chassis.service import Service
from chassis.settings import stack_settings
from tests.e2e.helpers import Account, client, register
from tests.support import TopicReader, poll_until

PAYMENTS = Service("payments")
ORDERS = Service("orders")
CONSUMER = "payments_orders"  # the inbox name of stream_processors/payments_orders.py
PAYMENT_TOPIC = stack_settings().topic("payments.payment")
WALLET_TOPIC = stack_settings().topic("payments.wallet")
TIMEOUT = 30


# --- helpers --------------------------------------------------------------------------------------

_producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})


def publish(event: Event) -> None:
    """As orders' outbox would: Avro value, key = order id, the EventRouter's headers."""
    _producer.produce(stack_settings().topic(event.aggregate_type), key=event.aggregate_id.encode(),
                      value=ORDERS.codec.encode(event),
                      headers=[("event_id", str(event.event_id).encode()),
                               ("event_type", event.event_type().encode()),
                               ("correlation_id", event.correlation_id.encode())])
    assert _producer.flush(10) == 0


def processed(event: Event) -> None:
    """Wait until payments_orders has taken `event` (its id is in payments' inbox)."""
    def done() -> bool:
        with PAYMENTS.sessions() as s:
            return s.execute(select(inbox.c.event_id).where(inbox.c.consumer == CONSUMER,
                                                            inbox.c.event_id == event.event_id)).first() is not None
    poll_until(done, TIMEOUT, f"payments_orders to process {event.event_type()} {event.event_id}")


def copy_of(order_id: str):
    with PAYMENTS.sessions() as s:
        return s.execute(select(order_copies).where(order_copies.c.order_id == uuid.UUID(order_id))).first()


def awaiting(me: Account, total: int, expires_at: datetime | None = None) -> str:
    """A fresh order id that orders says awaits payment by `me` (until `expires_at`), once payments
    has its copy."""
    order_id = str(uuid.uuid4())
    event = OrderAwaitingPayment(aggregate_id=order_id, order_id=order_id, user_id=me.user_id, total=total,
                                 expires_at=expires_at)
    publish(event)
    processed(event)
    assert copy_of(order_id).status == "awaiting"
    return order_id


def cancelled(me: Account, order_id: str, reason: str = "changed my mind") -> OrderCancelled:
    return OrderCancelled(aggregate_id=order_id, order_id=order_id, user_id=me.user_id, reason=reason)


def deposit(api: httpx.Client, me: Account, amount: int) -> int:
    resp = api.post("/payments/wallet/deposit", headers=me.auth, json={"amount": amount})
    assert resp.status_code == 200, resp.text
    return resp.json()["balance"]


def balance(api: httpx.Client, me: Account) -> int:
    resp = api.get("/payments/wallet", headers=me.auth)
    assert resp.status_code == 200, resp.text
    return resp.json()["balance"]


def pay(api: httpx.Client, me: Account, order_id: str, amount: int) -> httpx.Response:
    return api.post("/payments", headers=me.auth, json={"order_id": order_id, "amount": amount})


def ledger_of(me: Account, kind: str, order_id: str | None = None) -> list[int]:
    query = select(ledger.c.amount).where(ledger.c.user_id == uuid.UUID(me.user_id), ledger.c.kind == kind)
    if order_id:
        query = query.where(ledger.c.order_id == uuid.UUID(order_id))
    with PAYMENTS.sessions() as s:
        return list(s.execute(query).scalars())


def published(aggregate_id: str, event_type: str) -> int:
    """How many such events payments committed to its outbox (every one reaches Kafka)."""
    with PAYMENTS.sessions() as s:
        return s.execute(select(func.count()).select_from(outbox).where(
            outbox.c.aggregateid == aggregate_id, outbox.c.type == event_type)).scalar_one()


def assert_conserved(api: httpx.Client, me: Account) -> None:
    with PAYMENTS.sessions() as s:
        stored = s.execute(select(wallets.c.balance).where(wallets.c.user_id == uuid.UUID(me.user_id))).scalar() or 0
    deposits, charges, refunds = (sum(ledger_of(me, k)) for k in ("deposit", "charge", "refund"))
    assert deposits - charges + refunds == stored == balance(api, me), (deposits, charges, refunds, stored)


def events_for(reader: TopicReader, key: str, count: int) -> list[dict]:
    """The first `count` events on the reader's topic keyed `key`, decoded with payments' codec."""
    def mine(seen: list[Message]) -> list[Message]:
        return [m for m in seen if m.key() == key.encode()]
    seen = reader.read_until(lambda seen: len(mine(seen)) >= count, TIMEOUT)
    return [PAYMENTS.codec.decode(m.value()) for m in mine(seen)]


@pytest.fixture
def payment_events() -> Iterator[TopicReader]:
    reader = TopicReader(PAYMENT_TOPIC)
    yield reader
    reader.close()


# --- the wallet -----------------------------------------------------------------------------------


def test_deposits_add_up_and_are_events(api: httpx.Client) -> None:
    me = register(api)
    reader = TopicReader(WALLET_TOPIC)
    try:
        assert balance(api, me) == 0
        assert deposit(api, me, 5000) == 5000
        assert deposit(api, me, 250) == 5250
        assert balance(api, me) == 5250
        events = events_for(reader, me.user_id, 2)
    finally:
        reader.close()
    assert [(e["event_type"], e["amount"], e["balance"]) for e in events] == [
        ("WalletDeposited", 5000, 5000), ("WalletDeposited", 250, 5250)]
    assert_conserved(api, me)


@pytest.mark.parametrize("amount", [0, -100, "5000", 12.5, None])
def test_a_deposit_needs_a_positive_whole_amount(api: httpx.Client, amount: object) -> None:
    me = register(api)
    resp = api.post("/payments/wallet/deposit", headers=me.auth, json={"amount": amount})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in resp.json()["errors"]] == ["body.amount"]
    assert balance(api, me) == 0
    assert_conserved(api, me)


def test_the_wallet_needs_a_signed_in_user(api: httpx.Client) -> None:
    assert api.get("/payments/wallet").status_code == 401
    assert api.post("/payments/wallet/deposit", json={"amount": 5}).status_code == 401
    assert api.post("/payments", json={"order_id": str(uuid.uuid4()), "amount": 5}).status_code == 401


# --- paying ---------------------------------------------------------------------------------------


def test_an_order_not_awaiting_payment_cannot_be_paid(api: httpx.Client) -> None:
    me = register(api)
    deposit(api, me, 5000)
    resp = pay(api, me, str(uuid.uuid4()), 1250)  # unknown to payments, as a PENDING order is
    assert resp.status_code == 409, resp.text
    assert "is not awaiting payment" in resp.json()["detail"]
    bad = api.post("/payments", headers=me.auth, json={"order_id": "not-an-id", "amount": 1250})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.order_id"
    assert balance(api, me) == 5000
    assert_conserved(api, me)


def test_pay_once_with_the_exact_total(api: httpx.Client, payment_events: TopicReader) -> None:
    me, other = register(api), register(api)
    deposit(api, me, 5000)
    deposit(api, other, 5000)
    order_id = awaiting(me, 1250)

    wrong = pay(api, me, order_id, 1000)
    assert wrong.status_code == 422, wrong.text
    assert "1000" in wrong.json()["detail"] and "1250" in wrong.json()["detail"]
    assert pay(api, other, order_id, 1250).status_code == 404  # someone else's order

    paid = pay(api, me, order_id, 1250)
    assert paid.status_code == 200, paid.text
    first = paid.json()
    assert first == {"order_id": order_id, "amount": 1250, "status": "succeeded", "reason": None}
    assert balance(api, me) == 3750

    again = pay(api, me, order_id, 1250)  # a retry: the first answer, nothing charged again
    assert again.status_code == 200 and again.json() == first
    assert pay(api, me, order_id, 999).json() == first  # even with another amount: it is the same payment
    assert balance(api, me) == 3750 and balance(api, other) == 5000
    assert ledger_of(me, "charge", order_id) == [1250]

    [event] = events_for(payment_events, order_id, 1)
    assert (event["event_type"], event["user_id"], event["amount"]) == ("OrderPaid", me.user_id, 1250)
    assert published(order_id, "OrderPaid") == 1
    assert_conserved(api, me)
    assert_conserved(api, other)


def test_concurrent_payments_of_one_order_charge_once(api: httpx.Client) -> None:
    me = register(api)
    deposit(api, me, 10_000)
    order_id = awaiting(me, 3000)
    start = threading.Barrier(10)

    def attempt(_: int) -> httpx.Response:
        with client() as c:
            start.wait()
            return pay(c, me, order_id, 3000)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(attempt, range(10)))
    assert [r.status_code for r in answers] == [200] * 10, [r.text for r in answers]
    assert {r.json()["status"] for r in answers} == {"succeeded"}
    assert balance(api, me) == 7000
    assert ledger_of(me, "charge", order_id) == [3000]
    assert published(order_id, "OrderPaid") == 1
    assert_conserved(api, me)


def test_insufficient_funds_fail_the_payment_once(api: httpx.Client, payment_events: TopicReader) -> None:
    me = register(api)
    deposit(api, me, 500)
    order_id = awaiting(me, 1250)

    failed = pay(api, me, order_id, 1250)
    assert failed.status_code == 200, failed.text
    first = failed.json()
    assert first["status"] == "failed" and first["reason"] == "insufficient funds: balance 500, total 1250"
    assert balance(api, me) == 500

    [event] = events_for(payment_events, order_id, 1)
    assert event["event_type"] == "OrderPaymentFailed"
    assert (event["order_id"], event["user_id"], event["amount"]) == (order_id, me.user_id, 1250)
    assert event["reason"] == "insufficient funds: balance 500, total 1250"

    deposit(api, me, 5000)  # topping up does not turn a failed payment into a charge
    assert pay(api, me, order_id, 1250).json() == first
    assert balance(api, me) == 5500
    assert ledger_of(me, "charge") == []
    assert published(order_id, "OrderPaymentFailed") == 1 and published(order_id, "OrderPaid") == 0
    assert_conserved(api, me)


# --- the saga's reactions: closing orders, the race, redelivery ----------------------------------------


def test_a_payment_that_lands_on_a_cancelled_order_is_refunded(api: httpx.Client,
                                                               payment_events: TopicReader) -> None:
    me = register(api)
    deposit(api, me, 5000)
    order_id = awaiting(me, 1250)
    assert pay(api, me, order_id, 1250).json()["status"] == "succeeded"
    assert balance(api, me) == 3750

    # orders had cancelled it meanwhile (its cancel won there): payments gives the money back
    publish(cancelled(me, order_id))
    paid, refunded = events_for(payment_events, order_id, 2)
    assert paid["event_type"] == "OrderPaid"
    assert refunded["event_type"] == "PaymentRefunded"
    assert (refunded["user_id"], refunded["amount"], refunded["reason"]) == (me.user_id, 1250, "order cancelled")
    poll_until(lambda: balance(api, me) == 5000, TIMEOUT, "the refund to reach the wallet")

    late = pay(api, me, order_id, 1250)  # the copy is closed now
    assert late.status_code == 409, late.text
    assert "cancelled" in late.json()["detail"]
    assert ledger_of(me, "refund", order_id) == [1250]
    with PAYMENTS.sessions() as s:
        assert s.execute(select(payments.c.status).where(payments.c.order_id == uuid.UUID(order_id))).scalar() \
            == "refunded"
    assert_conserved(api, me)


def test_a_closed_order_is_refused_and_never_reopened(api: httpx.Client) -> None:
    me = register(api)
    deposit(api, me, 5000)

    expired_id = awaiting(me, 800)
    expired = OrderExpired(aggregate_id=expired_id, order_id=expired_id, user_id=me.user_id)
    publish(expired)
    processed(expired)
    resp = pay(api, me, expired_id, 800)
    assert resp.status_code == 409 and "expired" in resp.json()["detail"], resp.text

    # cancelled while still PENDING (payments never saw it payable), then a late or replayed
    # OrderAwaitingPayment: the copy stays closed
    early_id = str(uuid.uuid4())
    publish(cancelled(me, early_id, "wrong address"))
    late = OrderAwaitingPayment(aggregate_id=early_id, order_id=early_id, user_id=me.user_id, total=900)
    publish(late)
    processed(late)
    assert (copy_of(early_id).status, copy_of(early_id).reason) == ("closed", "cancelled (wrong address)")
    resp = pay(api, me, early_id, 900)
    assert resp.status_code == 409 and "cancelled" in resp.json()["detail"], resp.text

    assert balance(api, me) == 5000
    assert ledger_of(me, "charge") == [] and ledger_of(me, "refund") == []
    assert published(expired_id, "PaymentRefunded") == 0
    assert_conserved(api, me)


def test_a_redelivered_cancellation_refunds_once(api: httpx.Client) -> None:
    me = register(api)
    deposit(api, me, 5000)
    order_id = awaiting(me, 2000)
    assert pay(api, me, order_id, 2000).json()["status"] == "succeeded"

    cancel = cancelled(me, order_id)
    publish(cancel)
    publish(cancel)  # the same event (same event_id) delivered twice
    # a later event on the same key: once it is processed, both copies before it have been too
    after = OrderExpired(aggregate_id=order_id, order_id=order_id, user_id=me.user_id)
    publish(after)
    processed(after)

    assert balance(api, me) == 5000
    assert ledger_of(me, "refund", order_id) == [2000]
    assert published(order_id, "PaymentRefunded") == 1
    assert copy_of(order_id).reason == "cancelled (changed my mind)"  # the first closing's reason stays
    assert_conserved(api, me)


def test_a_payment_after_the_order_deadline_is_refused(api: httpx.Client) -> None:
    """The deadline travels in OrderAwaitingPayment to payments' copy; a payment after it is refused
    with 409 and charges nothing (before, it was taken and judged only when orders heard of it)."""
    me = register(api)
    deposit(api, me, 1000)
    late_id = awaiting(me, 400, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert copy_of(late_id).expires_at is not None
    resp = pay(api, me, late_id, 400)
    assert resp.status_code == 409 and "deadline" in resp.json()["detail"], resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert balance(api, me) == 1000 and ledger_of(me, "charge", late_id) == []
    in_time_id = awaiting(me, 400, expires_at=datetime.now(UTC) + timedelta(minutes=10))
    assert pay(api, me, in_time_id, 400).json()["status"] == "succeeded"
    assert balance(api, me) == 600
    assert_conserved(api, me)
