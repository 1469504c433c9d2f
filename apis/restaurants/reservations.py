"""restaurants' side of the order saga: reserve, release, confirm portions; the kitchen's progress.

Called by stream_processors/restaurants_reservations.py inside its unit of work (inbox + effect +
outbox in one transaction), and by the kitchen routes.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from apis.restaurants import domain
from apis.restaurants.events import (
    DayPrepared,
    OrderReserved,
    OrderReserveRejected,
    ReservationConfirmed,
    ReservationReleased,
)
from apis.restaurants.models import (
    dishes,
    early_releases,
    prepared_days,
    reservations,
    reserved_portions,
    restaurants,
)
from chassis.db import UnitOfWork
from chassis.problems import Problem

if TYPE_CHECKING:
    from apis.orders.events import OrderCreated

HELD = ("pending", "confirmed")

# The saga's statements, built once and bound per event (building one and its cache key per call
# cost more Python time than running it, py-spy).
_DECIDED = select(reservations.c.order_id).where(reservations.c.order_id == bindparam("order_id"))
_EARLY = select(early_releases.c.reason).where(early_releases.c.order_id == bindparam("order_id"))
_LOCK_RESTAURANT = select(restaurants).where(restaurants.c.id == bindparam("restaurant_id")).with_for_update()
_MENU = select(dishes).where(dishes.c.id.in_(bindparam("dish_ids", expanding=True)))
_ALREADY = (select(reserved_portions.c.day, func.sum(reserved_portions.c.portions).label("portions"))
            .join(reservations, reservations.c.order_id == reserved_portions.c.order_id)
            .where(reserved_portions.c.restaurant_id == bindparam("restaurant_id"), reservations.c.status.in_(HELD),
                   reserved_portions.c.day.in_(bindparam("days", expanding=True)))
            .group_by(reserved_portions.c.day))
_LOCK_RESERVATION = select(reservations).where(reservations.c.order_id == bindparam("order_id")).with_for_update()
_MOVE = update(reservations).where(
    reservations.c.order_id == bindparam("b_id"), reservations.c.version == bindparam("seen")).values(
    status=bindparam("b_status"), reason=bindparam("b_reason"), version=reservations.c.version + 1,
    updated_at=func.now())


def _ids(order_id: str, user_id: str) -> dict:
    return {"aggregate_id": order_id, "order_id": order_id, "user_id": user_id}


def reserve(uow: UnitOfWork, order: OrderCreated) -> None:
    """On OrderCreated: portions for every day against capacity and availability, or a rejection."""
    s = uow.session
    order_id, user_id = uuid.UUID(order.order_id), order.user_id
    if s.execute(_DECIDED, {"order_id": order_id}).first():
        return  # already decided
    days = [{**d, "date": d["date"].isoformat() if isinstance(d["date"], date) else d["date"]} for d in order.days]
    restaurant_id = uuid.UUID(order.restaurant_id)

    def decide(status: str, reason: str | None = None) -> None:
        s.execute(insert(reservations).values(order_id=order_id, restaurant_id=restaurant_id,
                                              user_id=uuid.UUID(user_id), status=status, reason=reason, days=days,
                                              version=1))

    early = s.execute(_EARLY, {"order_id": order_id}).scalar()
    if early is not None:  # version file: the release came first, so nothing is reserved
        decide("released", early)
        return
    # Lock the restaurant: concurrent reservations for it are checked against capacity one at a time.
    restaurant = s.execute(_LOCK_RESTAURANT, {"restaurant_id": restaurant_id}).first()
    reason = None
    if restaurant is None or not restaurant.active:
        reason = "the restaurant is not taking orders"
    else:
        wanted = {uuid.UUID(x["dish_id"]) for d in days for m in d["meals"] for x in m["dishes"]}
        menu = {r.id: r for r in s.execute(_MENU, {"dish_ids": sorted(wanted, key=str)}).all()}
        for dish_id in sorted(wanted, key=str):
            dish = menu.get(dish_id)
            if dish is None or dish.removed or dish.restaurant_id != restaurant_id:
                reason = f"dish {dish_id} is not on this restaurant's menu"
                break
            if not dish.available:
                reason = f"{dish.text} is not available"
                break
    if reason is None:
        if restaurant is None:  # a missing restaurant has its reason above
            raise RuntimeError(f"restaurant {restaurant_id} vanished while reserving order {order_id}")
        needed = domain.portions_per_day(days)
        already = {row.day: row.portions for row in s.execute(_ALREADY, {
            "restaurant_id": restaurant_id, "days": [date.fromisoformat(d) for d in needed]}).all()}
        full = domain.first_full_day(needed, {d.isoformat(): int(n) for d, n in already.items()},
                                     restaurant.daily_capacity)
        if full is not None:
            reason = f"the kitchen is fully booked on {full}"
    if reason is not None:
        decide("rejected", reason)
        uow.publish(OrderReserveRejected(**_ids(order.order_id, user_id), reason=reason))
        return
    decide("pending")
    s.execute(insert(reserved_portions), [{"order_id": order_id, "day": date.fromisoformat(d),
                                           "restaurant_id": restaurant_id, "portions": n}
                                          for d, n in needed.items()])
    uow.publish(OrderReserved(**_ids(order.order_id, user_id), restaurant_id=order.restaurant_id,
                              delivery_address=order.delivery_address, phone=order.phone,
                              dates=sorted(date.fromisoformat(d) for d in needed),
                              portions=sum(needed.values())))


def release(uow: UnitOfWork, order_id: str, user_id: str, reason: str) -> None:
    """Compensation: a pending reservation's portions are freed, once. Unknown yet → version file."""
    s = uow.session
    oid = uuid.UUID(order_id)
    row = s.execute(_LOCK_RESERVATION, {"order_id": oid}).first()
    if row is None:
        s.execute(pg_insert(early_releases).values(order_id=oid, reason=reason).on_conflict_do_nothing())
        return
    if row.status != "pending":  # confirmed (after the pivot: never rolled back), or already released
        return
    s.execute(_MOVE, {"b_id": oid, "seen": row.version, "b_status": "released", "b_reason": reason})
    s.execute(delete(reserved_portions).where(reserved_portions.c.order_id == oid))
    uow.publish(ReservationReleased(**_ids(order_id, user_id), reason=reason))


def confirm(uow: UnitOfWork, order_id: str, user_id: str) -> None:
    """On OrderActivated (orders' decision after OrderPaid): the pending flag is cleared.
    A released reservation cannot be confirmed."""
    s = uow.session
    oid = uuid.UUID(order_id)
    row = s.execute(_LOCK_RESERVATION, {"order_id": oid}).first()
    if row is None or row.status != "pending":
        return
    s.execute(_MOVE, {"b_id": oid, "seen": row.version, "b_status": "confirmed", "b_reason": row.reason})
    uow.publish(ReservationConfirmed(**_ids(order_id, user_id)))


def kitchen_queue(*, uow: UnitOfWork, restaurant_id: uuid.UUID) -> list[dict]:
    with uow:
        rows = uow.session.execute(select(reservations).where(reservations.c.restaurant_id == restaurant_id,
                                                              reservations.c.status == "confirmed")
                                   .order_by(reservations.c.updated_at)).all()
        done: dict[uuid.UUID, list[str]] = {}
        if rows:
            for p in uow.session.execute(select(prepared_days).where(
                    prepared_days.c.order_id.in_([r.order_id for r in rows]))).all():
                done.setdefault(p.order_id, []).append(p.day.isoformat())
    return [{"order_id": r.order_id, "days": r.days, "prepared_dates": sorted(done.get(r.order_id, []))}
            for r in rows]


def mark_prepared(*, uow: UnitOfWork, restaurant_id: uuid.UUID, order_id: uuid.UUID, day: date) -> dict:
    with uow:
        row: Any = uow.session.execute(select(reservations).where(
            reservations.c.order_id == order_id, reservations.c.restaurant_id == restaurant_id)).first()
        if row is None:
            raise Problem(404, f"No order {order_id} for this restaurant.")
        if row.status != "confirmed":
            raise Problem(409, f"Order {order_id} is {row.status}: only a paid (confirmed) order is cooked.")
        if day.isoformat() not in {d["date"] for d in row.days}:
            raise Problem(422, f"Order {order_id} has no meals on {day}.")
        added = uow.session.execute(pg_insert(prepared_days).values(order_id=order_id, day=day)
                                    .on_conflict_do_nothing().returning(prepared_days.c.day)).first()
        if added is not None:  # preparing the same day twice is one event
            uow.publish(DayPrepared(**_ids(str(order_id), str(row.user_id)), restaurant_id=str(restaurant_id),
                                    date=day))
        uow.commit()
    return {"order_id": order_id, "date": day, "prepared": True}
