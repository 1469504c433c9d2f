"""orders' use cases on its real database: placing (idempotency, natural key, pricing from the
copies), the state machine under a row lock, cancel and expiry, with the events they publish."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from apis.delivery.events import DeliveryRejected, DeliveryReserved
from apis.orders import service as orders
from apis.orders.events import OrderAwaitingPayment, OrderCancelled, OrderCreated, OrderExpired, OrderRejected
from apis.orders.models import orders as orders_table
from apis.orders.settings import OrderSettings
from apis.payments.events import OrderPaid
from apis.restaurants.events import DishAdded, RestaurantCreated
from apis.users.events import UserProfileChanged
from chassis.problems import Problem

DAY = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()


def menu(t, price: int = 450) -> tuple[str, str]:
    """A restaurant and one dish in orders' copies, through the copy use cases."""
    rid, dish_id = str(uuid.uuid4()), str(uuid.uuid4())
    with t.uow() as uow:
        orders.copy_restaurant(uow, RestaurantCreated(aggregate_id=rid, restaurant_id=rid, version=1, name="K",
                                                      address="1 St", daily_capacity=10, active=True))
        orders.copy_dish(uow, DishAdded(aggregate_id=rid, dish_id=dish_id, restaurant_id=rid, version=1, text="Soup",
                                        calories=300, kind="soup", price=price, available=True), removed=False)
        uow.commit()
    return rid, dish_id


def body(rid: str, dish_id: str, quantity: int = 2) -> dict:
    return {"restaurant_id": rid, "delivery_address": "2 Road", "phone": "+100",
            "days": [{"date": DAY, "meals": [
                {"meal": "lunch", "dishes": [{"dish_id": dish_id, "quantity": quantity}]}]}]}


def place(t, user: uuid.UUID, b: dict, key: str | None = None) -> tuple[dict, bool]:
    return orders.place_order(uow=t.uow(), settings=OrderSettings(), user_id=user, body=b, idempotency_key=key)


def status(t, order_id) -> str:
    with t.uow() as uow:
        return orders._order(uow, order_id).status


def test_placing_prices_from_the_copies_and_publishes_order_created(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t, price=450)
    answer, created = place(t, uuid.uuid4(), body(rid, dish, quantity=2), key="k-1")
    assert created and answer["total"] == 900 and answer["status"] == "PENDING"
    [event] = t.codec.of(OrderCreated)
    assert event.order_id == str(answer["order_id"]) and event.total == 900
    assert event.days[0]["date"] == date.fromisoformat(DAY)


def test_same_key_same_body_replays_other_body_is_422(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    first, _ = place(t, me, body(rid, dish), key="same")
    again, created = place(t, me, body(rid, dish), key="same")
    assert again["order_id"] == first["order_id"] and not created
    with pytest.raises(Problem) as refused:
        place(t, me, body(rid, dish, quantity=3), key="same")
    assert refused.value.status == 422
    assert len(t.codec.of(OrderCreated)) == 1


def test_natural_key_catches_a_blind_retry(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    first, _ = place(t, me, body(rid, dish))
    again, created = place(t, me, body(rid, dish))
    assert again["order_id"] == first["order_id"] and not created


def test_unknown_dish_is_a_problem_naming_day_meal_and_dish(tier) -> None:
    t = tier("orders")
    rid, _ = menu(t)
    ghost = str(uuid.uuid4())
    with pytest.raises(Problem) as refused:
        place(t, uuid.uuid4(), body(rid, ghost))
    assert refused.value.status == 422 and DAY in refused.value.detail and ghost in refused.value.detail


def test_address_and_phone_come_from_the_profile_copy(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    with t.uow() as uow:
        orders.copy_profile(uow, UserProfileChanged(aggregate_id=str(me), user_id=str(me), version=1, name="A",
                                                    address="9 Home", phone="+999"))
        uow.commit()
    b = body(rid, dish)
    del b["delivery_address"], b["phone"]
    place(t, me, b)
    [event] = t.codec.of(OrderCreated)
    assert (event.delivery_address, event.phone) == ("9 Home", "+999")


def test_the_saga_moves_the_order_only_along_the_table(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    order_id = answer["order_id"]
    with t.uow() as uow:
        assert not orders.transition(uow, order_id, OrderPaid, "OrderPaid")  # not before AWAITING_PAYMENT
        assert orders.transition(uow, order_id, DeliveryReserved, "DeliveryReserved")
        assert not orders.transition(uow, order_id, DeliveryRejected, "DeliveryRejected", "late")  # stale
        uow.commit()
    assert status(t, order_id) == "AWAITING_PAYMENT"
    assert [type(e) for e in t.codec.events[1:]] == [OrderAwaitingPayment]


def test_cancel_wins_over_a_later_payment_event(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    answer, _ = place(t, me, body(rid, dish))
    order_id = answer["order_id"]
    with t.uow() as uow:
        orders.transition(uow, order_id, DeliveryReserved, "DeliveryReserved")
        uow.commit()
    assert orders.cancel(uow=t.uow(), order_id=order_id, user_id=me)["status"] == "CANCELLED"
    with t.uow() as uow:
        assert not orders.transition(uow, order_id, OrderPaid, "OrderPaid")
        uow.commit()
    assert status(t, order_id) == "CANCELLED" and len(t.codec.of(OrderCancelled)) == 1


def test_another_users_order_cannot_be_cancelled(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    with pytest.raises(Problem) as refused:
        orders.cancel(uow=t.uow(), order_id=answer["order_id"], user_id=uuid.uuid4())
    assert refused.value.status == 404


def test_rejection_carries_the_reason(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    with t.uow() as uow:
        orders.transition(uow, answer["order_id"], DeliveryRejected, "DeliveryRejected", "no courier")
        uow.commit()
    [rejected] = t.codec.of(OrderRejected)
    assert rejected.reason == "no courier" and status(t, answer["order_id"]) == "REJECTED"


def test_expiry_sweeps_only_orders_past_their_deadline(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    with t.uow() as uow:
        uow.session.execute(orders_table.update().where(orders_table.c.id == answer["order_id"])
                            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        uow.commit()
    orders.expire_due(uow=t.uow())
    assert status(t, answer["order_id"]) == "EXPIRED"
    assert [e.order_id for e in t.codec.of(OrderExpired)] == [str(answer["order_id"])]
