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
from apis.orders.models import plan_copies
from apis.orders.settings import OrderSettings
from apis.payments.events import OrderPaid, OrderPaymentFailed
from apis.restaurants.events import DishAdded, RestaurantCreated
from apis.users.events import UserProfileChanged
from chassis.problems import Problem
from chassis.security import Principal

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
    # the stack's own orders inside their grace period may be swept too (rolled back with the test)
    assert [e.order_id for e in t.codec.of(OrderExpired)].count(str(answer["order_id"])) == 1


# ---- issue 10: defects at the edges -------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "   ", "\t"])
def test_empty_idempotency_key_is_refused_with_400_not_500(tier, key: str) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    for _ in range(2):  # the second one used to hit the unique index on (user, "") and answer 500
        with pytest.raises(Problem) as refused:
            place(t, me, body(rid, dish), key=key)
        assert refused.value.status == 400 and "Idempotency-Key" in refused.value.detail
    assert t.codec.of(OrderCreated) == []


@pytest.mark.parametrize("closing", ["cancel", "reject", "expire"])
def test_natural_key_matches_only_open_orders_and_a_replay_states_the_current_status(tier, closing: str) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    first, _ = place(t, me, body(rid, dish))
    with t.uow() as uow:
        orders.transition(uow, first["order_id"], DeliveryReserved, "DeliveryReserved")
        uow.commit()
    again, created = place(t, me, body(rid, dish))  # still open: a blind retry, told where the order is now
    assert not created and again["order_id"] == first["order_id"] and again["status"] == "AWAITING_PAYMENT"
    if closing == "cancel":
        orders.cancel(uow=t.uow(), order_id=first["order_id"], user_id=me)
    else:
        with t.uow() as uow:
            if closing == "reject":
                orders.transition(uow, first["order_id"], OrderPaymentFailed, "OrderPaymentFailed", "short")
            else:
                orders.transition(uow, first["order_id"], OrderExpired, "deadline passed", "not paid in time")
            uow.commit()
    fresh, created = place(t, me, body(rid, dish))
    assert created and fresh["order_id"] != first["order_id"] and fresh["status"] == "PENDING"
    assert len(t.codec.of(OrderCreated)) == 2


def test_idempotency_key_replay_states_the_current_status(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    first, _ = place(t, me, body(rid, dish), key="k-status")
    orders.cancel(uow=t.uow(), order_id=first["order_id"], user_id=me)
    again, created = place(t, me, body(rid, dish), key="k-status")
    assert not created and again["order_id"] == first["order_id"] and again["status"] == "CANCELLED"


def test_order_awaiting_payment_carries_the_payment_deadline(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    with t.uow() as uow:
        orders.transition(uow, answer["order_id"], DeliveryReserved, "DeliveryReserved")
        deadline = orders._order(uow, answer["order_id"]).expires_at
        uow.commit()
    [awaiting] = t.codec.of(OrderAwaitingPayment)
    assert awaiting.expires_at == deadline is not None


def test_payment_made_before_the_deadline_activates_within_the_grace_period(tier) -> None:
    """The deadline passed while the OrderPaid of an in-time payment was on its way: the sweep waits
    out the grace period, so the payment activates the order instead of being refunded."""
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    order_id = answer["order_id"]
    with t.uow() as uow:
        orders.transition(uow, order_id, DeliveryReserved, "DeliveryReserved")
        uow.session.execute(orders_table.update().where(orders_table.c.id == order_id)
                            .values(expires_at=datetime.now(UTC) - timedelta(seconds=2)))
        uow.commit()
    grace = OrderSettings().order_payment_grace_seconds
    assert grace >= 10
    orders.expire_due(uow=t.uow(), grace_seconds=grace)
    assert status(t, order_id) == "AWAITING_PAYMENT"
    with t.uow() as uow:
        assert orders.transition(uow, order_id, OrderPaid, "OrderPaid")
        uow.commit()
    assert status(t, order_id) == "ACTIVE"
    assert str(order_id) not in [e.order_id for e in t.codec.of(OrderExpired)]  # others' may be swept


def test_expiry_after_the_grace_period(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    answer, _ = place(t, uuid.uuid4(), body(rid, dish))
    with t.uow() as uow:
        uow.session.execute(orders_table.update().where(orders_table.c.id == answer["order_id"])
                            .values(expires_at=datetime.now(UTC) - timedelta(seconds=31)))
        uow.commit()
    orders.expire_due(uow=t.uow(), grace_seconds=30)
    assert status(t, answer["order_id"]) == "EXPIRED"


def test_repeated_dish_in_a_meal_is_one_line_with_the_summed_quantity(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t, price=450)
    b = body(rid, dish, quantity=2)
    b["days"][0]["meals"][0]["dishes"].append({"dish_id": dish, "quantity": 3})
    answer, _ = place(t, uuid.uuid4(), b)
    assert answer["total"] == 5 * 450
    [event] = t.codec.of(OrderCreated)
    [line] = event.days[0]["meals"][0]["dishes"]
    assert (line["dish_id"], line["quantity"]) == (dish, 5)


def test_repeated_dish_in_an_ordered_plan_is_one_line_with_the_summed_quantity(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t, price=450)
    me, plan_id = uuid.uuid4(), uuid.uuid4()
    with t.uow() as uow:
        uow.session.execute(plan_copies.insert().values(
            plan_id=plan_id, user_id=me, restaurant_id=uuid.UUID(rid),
            days=[{"date": DAY, "meals": [{"meal": "lunch", "dish_ids": [dish, dish]}]}]))
        uow.commit()
    answer, _ = place(t, me, {"recommendation_id": str(plan_id), "delivery_address": "2 Road", "phone": "+100"})
    assert answer["total"] == 2 * 450
    [event] = t.codec.of(OrderCreated)
    assert [(x["dish_id"], x["quantity"]) for x in event.days[0]["meals"][0]["dishes"]] == [(dish, 2)]


def limited(**values: int) -> OrderSettings:
    return OrderSettings(**values)


def test_unpaid_orders_per_user_are_capped_with_409(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me, other = uuid.uuid4(), uuid.uuid4()
    settings = limited(order_max_open_per_user=2)
    for q in (1, 2):
        orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, q), idempotency_key=None)
    with pytest.raises(Problem) as refused:
        orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 3), idempotency_key=None)
    assert refused.value.status == 409 and "unpaid orders" in refused.value.detail
    # a replay is still answered, another user is not affected, and a closed order frees a place
    again, _ = orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 1),
                                  idempotency_key=None)
    orders.place_order(uow=t.uow(), settings=settings, user_id=other, body=body(rid, dish, 3), idempotency_key=None)
    orders.cancel(uow=t.uow(), order_id=again["order_id"], user_id=me)
    _, created = orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 3),
                                    idempotency_key=None)
    assert created


def test_placing_orders_is_rate_limited_per_user_with_429_and_retry_after(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    settings = limited(order_rate_limit=2, order_rate_window_seconds=60)
    for q in (1, 2):
        answer, _ = orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, q),
                                       idempotency_key=None)
        orders.cancel(uow=t.uow(), order_id=answer["order_id"], user_id=me)  # not the open-orders cap
    with pytest.raises(Problem) as refused:
        orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 3), idempotency_key=None)
    assert refused.value.status == 429 and refused.value.headers is not None
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    orders.place_order(uow=t.uow(), settings=settings, user_id=uuid.uuid4(), body=body(rid, dish, 3),
                       idempotency_key=None)


def test_an_order_is_read_only_by_its_user_not_by_staff(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me = uuid.uuid4()
    answer, _ = place(t, me, body(rid, dish))
    mine = orders.get_order(uow=t.uow(), order_id=answer["order_id"],
                            principal=Principal(user_id=str(me), roles=frozenset({"user"})))
    assert mine["phone"] == "+100"
    for roles in (frozenset({"manager"}), frozenset({"admin"}), frozenset({"user"})):
        with pytest.raises(Problem) as hidden:
            orders.get_order(uow=t.uow(), order_id=answer["order_id"],
                             principal=Principal(user_id=str(uuid.uuid4()), roles=roles))
        assert hidden.value.status == 404


def test_portions_held_by_unpaid_orders_are_capped_per_user_with_409(tier) -> None:
    t = tier("orders")
    rid, dish = menu(t)
    me, other = uuid.uuid4(), uuid.uuid4()
    settings = limited(order_max_open_portions_per_user=5)
    orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 3), idempotency_key=None)
    with pytest.raises(Problem) as refused:  # 3 held + 3 wanted > 5, though only one order is open
        orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 3), idempotency_key="b")
    assert refused.value.status == 409 and "portions" in refused.value.detail
    _, created = orders.place_order(uow=t.uow(), settings=settings, user_id=me, body=body(rid, dish, 2),
                                    idempotency_key="c")
    assert created  # 3 + 2 fits
    _, created = orders.place_order(uow=t.uow(), settings=settings, user_id=other, body=body(rid, dish, 5),
                                    idempotency_key=None)
    assert created  # the cap is per user
