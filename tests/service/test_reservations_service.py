"""restaurants' side of the saga on its real database: capacity, availability, the version file
(a release before its reservation), release and confirm, each with the event it publishes."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from apis.orders.events import OrderCreated
from apis.restaurants import reservations
from apis.restaurants import service as restaurants
from apis.restaurants.events import OrderReserved, OrderReserveRejected, ReservationConfirmed, ReservationReleased

DAY = date(2027, 3, 1)


def kitchen(t, capacity: int = 5, available: bool = True) -> tuple[str, str]:
    r = restaurants.create_restaurant(uow=t.uow(), data={"name": f"K {uuid.uuid4().hex[:8]}", "address": "1 St",
                                                         "daily_capacity": capacity, "active": True})
    d = restaurants.add_dish(uow=t.uow(), restaurant_id=r.id, data={
        "text": "Soup", "calories": 300, "kind": "soup", "price": 400, "available": available})
    return str(r.id), str(d.id)


def created(rid: str, dish: str, quantity: int) -> OrderCreated:
    order_id = str(uuid.uuid4())
    return OrderCreated(aggregate_id=order_id, order_id=order_id, user_id=str(uuid.uuid4()), restaurant_id=rid,
                        delivery_address="2 Road", phone="+1", total=400 * quantity,
                        expires_at=datetime(2027, 3, 1, 12),
                        days=[{"date": DAY, "meals": [{"meal": "lunch", "dishes": [
                            {"dish_id": dish, "quantity": quantity, "calories": 300, "price": 400, "text": "Soup"}]}]}])


def apply(t, fn, *args) -> None:
    with t.uow() as uow:
        fn(uow, *args)
        uow.commit()


def test_reserves_within_capacity_and_rejects_past_it(tier) -> None:
    t = tier("restaurants")
    rid, dish = kitchen(t, capacity=5)
    first, second = created(rid, dish, 3), created(rid, dish, 3)
    apply(t, reservations.reserve, first)
    apply(t, reservations.reserve, second)
    [reserved] = t.codec.of(OrderReserved)
    [rejected] = t.codec.of(OrderReserveRejected)
    assert reserved.order_id == first.order_id and reserved.portions == 3 and reserved.dates == [DAY]
    assert rejected.order_id == second.order_id and "fully booked" in rejected.reason


def test_an_unavailable_dish_is_rejected_by_name(tier) -> None:
    t = tier("restaurants")
    rid, dish = kitchen(t, available=False)
    apply(t, reservations.reserve, created(rid, dish, 1))
    [rejected] = t.codec.of(OrderReserveRejected)
    assert rejected.reason == "Soup is not available"


def test_release_frees_capacity_once_and_a_released_reservation_is_never_confirmed(tier) -> None:
    t = tier("restaurants")
    rid, dish = kitchen(t, capacity=3)
    order = created(rid, dish, 3)
    apply(t, reservations.reserve, order)
    apply(t, reservations.release, order.order_id, order.user_id, "payment failed")
    apply(t, reservations.release, order.order_id, order.user_id, "payment failed")  # a repeat frees nothing
    apply(t, reservations.confirm, order.order_id, order.user_id)
    assert len(t.codec.of(ReservationReleased)) == 1 and not t.codec.of(ReservationConfirmed)
    apply(t, reservations.reserve, created(rid, dish, 3))  # the capacity is free again
    assert len(t.codec.of(OrderReserved)) == 2


def test_a_release_that_overtakes_its_reservation_is_kept_and_wins(tier) -> None:
    t = tier("restaurants")
    rid, dish = kitchen(t)
    order = created(rid, dish, 1)
    apply(t, reservations.release, order.order_id, order.user_id, "order cancelled")  # version file
    apply(t, reservations.reserve, order)
    assert not t.codec.of(OrderReserved) and not t.codec.of(OrderReserveRejected)


def test_confirm_clears_the_pending_flag_once(tier) -> None:
    t = tier("restaurants")
    rid, dish = kitchen(t)
    order = created(rid, dish, 1)
    apply(t, reservations.reserve, order)
    apply(t, reservations.confirm, order.order_id, order.user_id)
    apply(t, reservations.confirm, order.order_id, order.user_id)
    apply(t, reservations.release, order.order_id, order.user_id, "too late")  # after the pivot: kept
    assert len(t.codec.of(ReservationConfirmed)) == 1 and not t.codec.of(ReservationReleased)
