"""payments (the pivot) and delivery (courier slots) on their real databases: pay once, the exact
total, a short wallet, a refund for a payment that raced a closing; slots per day and release."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from apis.delivery import service as delivery
from apis.delivery.events import DeliveryRejected, DeliveryReleased, DeliveryReserved
from apis.payments import service as payments
from apis.payments.events import OrderPaid, OrderPaymentFailed, PaymentRefunded
from chassis.problems import Problem


def payable(t, total: int, funds: int) -> tuple[uuid.UUID, uuid.UUID]:
    order_id, user_id = uuid.uuid4(), uuid.uuid4()
    with t.uow() as uow:
        payments.copy_awaiting(uow=uow, order_id=order_id, user_id=user_id, total=total)
        uow.commit()
    if funds:
        payments.deposit(uow=t.uow(), user_id=user_id, amount=funds)
    return order_id, user_id


def test_pays_the_exact_total_once(tier) -> None:
    t = tier("payments")
    order_id, me = payable(t, total=1250, funds=2000)
    with pytest.raises(Problem) as wrong:
        payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=1000)
    assert wrong.value.status in (409, 422)
    first = payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=1250)
    again = payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=1250)
    assert first.status == again.status == "succeeded"
    assert len(t.codec.of(OrderPaid)) == 1 and payments.balance(uow=t.uow(), user_id=me) == 750


def test_a_short_wallet_fails_the_payment_and_charges_nothing(tier) -> None:
    t = tier("payments")
    order_id, me = payable(t, total=1250, funds=100)
    assert payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=1250).status == "failed"
    assert len(t.codec.of(OrderPaymentFailed)) == 1 and payments.balance(uow=t.uow(), user_id=me) == 100


def test_a_payment_that_raced_a_cancellation_is_refunded_once(tier) -> None:
    t = tier("payments")
    order_id, me = payable(t, total=500, funds=500)
    payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=500)
    for _ in range(2):  # the closing event twice: one refund
        with t.uow() as uow:
            payments.close_order(uow=uow, order_id=order_id, user_id=me, event_type="OrderCancelled",
                                 reason="changed my mind")
            uow.commit()
    assert len(t.codec.of(PaymentRefunded)) == 1 and payments.balance(uow=t.uow(), user_id=me) == 500
    with pytest.raises(Problem):
        payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=500)


def test_payment_after_the_order_deadline_is_refused_and_charges_nothing(tier) -> None:
    t = tier("payments")
    order_id, me = uuid.uuid4(), uuid.uuid4()
    with t.uow() as uow:
        payments.copy_awaiting(uow=uow, order_id=order_id, user_id=me, total=500,
                               expires_at=datetime.now(UTC) - timedelta(seconds=1))
        uow.commit()
    payments.deposit(uow=t.uow(), user_id=me, amount=500)
    with pytest.raises(Problem) as late:
        payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=500)
    assert late.value.status == 409 and "deadline" in late.value.detail
    assert t.codec.of(OrderPaid) == [] and payments.balance(uow=t.uow(), user_id=me) == 500


def test_payment_before_the_order_deadline_is_taken(tier) -> None:
    t = tier("payments")
    order_id, me = uuid.uuid4(), uuid.uuid4()
    with t.uow() as uow:
        payments.copy_awaiting(uow=uow, order_id=order_id, user_id=me, total=500,
                               expires_at=datetime.now(UTC) + timedelta(minutes=5))
        uow.commit()
    payments.deposit(uow=t.uow(), user_id=me, amount=500)
    assert payments.pay(uow=t.uow(), user_id=me, order_id=order_id, amount=500).status == "succeeded"


def book(t, order_id: uuid.UUID, days: list[date], capacity: int) -> None:
    with t.uow() as uow:
        delivery.reserve(uow=uow, order_id=order_id, user_id=uuid.uuid4(), restaurant_id=uuid.uuid4(),
                         address="2 Road", phone="+1", dates=days, capacity=capacity)
        uow.commit()


def test_slots_per_day_reject_past_capacity_and_come_back_on_release(tier) -> None:
    t = tier("delivery")
    day = date(2031, 1, uuid.uuid4().int % 28 + 1)  # a day no other test books
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with t.uow() as uow:
        used = delivery.used_slots(uow, [day]).get(day, 0)
    book(t, first, [day], capacity=used + 1)
    book(t, second, [day], capacity=used + 1)
    assert [e.order_id for e in t.codec.of(DeliveryReserved)] == [str(first)]
    assert [e.order_id for e in t.codec.of(DeliveryRejected)] == [str(second)]
    with t.uow() as uow:
        delivery.release(uow=uow, order_id=first, user_id=uuid.uuid4(), event_type="OrderCancelled", reason=None)
        uow.commit()
    book(t, third, [day], capacity=used + 1)
    assert len(t.codec.of(DeliveryReleased)) == 1
    assert [e.order_id for e in t.codec.of(DeliveryReserved)] == [str(first), str(third)]


def test_a_release_before_its_reservation_is_recorded_and_wins(tier) -> None:
    t = tier("delivery")
    order_id = uuid.uuid4()
    with t.uow() as uow:
        delivery.release(uow=uow, order_id=order_id, user_id=uuid.uuid4(), event_type="OrderExpired", reason=None)
        uow.commit()
    book(t, order_id, [date(2031, 2, 1)], capacity=100)
    assert not t.codec.of(DeliveryReserved)
