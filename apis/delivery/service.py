"""delivery's use cases: plain functions over a unit of work.

The saga reactions (`reserve`, `release`, `confirm`, `day_prepared`) run inside the unit of work the
stream processor opened (its inbox claim is in the same transaction) and never commit themselves.
Each first takes a transaction-scoped lock on the order id: the three source topics are consumed
concurrently, and a cancellation racing its own reservation must see the other's committed rows
(else both would read "nothing there yet" and the early record would be lost). Reservations also
lock each of their dates, in date order, so two orders cannot both take a day's last slot.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Text, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult

from apis.delivery import domain
from apis.delivery.events import (
    DayDelivered,
    DayPickedUp,
    DeliveryConfirmed,
    DeliveryRejected,
    DeliveryReleased,
    DeliveryReserved,
)
from apis.delivery.models import booking_days, bookings, early_events, tasks
from chassis import pagination
from chassis.db import UnitOfWork
from chassis.problems import Problem


class StaleBooking(RuntimeError):
    """The booking changed between reading and writing it; the event is retried (not lost)."""


# ---- locks, reads and the version file ----

# Built once (bound per call): the saga runs them for every event, and building a statement and
# its cache key per call cost more Python time than running it (py-spy).
_LOCKS = select(func.pg_advisory_xact_lock(func.hashtextextended(
    func.unnest(bindparam("names", type_=ARRAY(Text))).column_valued("name"), 0)))
_BOOKING = select(bookings).where(bookings.c.order_id == bindparam("order_id")).with_for_update()
_EARLY = select(early_events).where(early_events.c.order_id == bindparam("order_id"))
_SET_STATUS = update(bookings).where(
    bookings.c.order_id == bindparam("b_id"), bookings.c.version == bindparam("seen")).values(
    status=bindparam("b_status"), reason=bindparam("b_reason"), version=bookings.c.version + 1, updated_at=func.now())
_USED_SLOTS = (select(booking_days.c.date, func.count().label("held"))
               .join(bookings, bookings.c.order_id == booking_days.c.order_id)
               .where(booking_days.c.date.in_(bindparam("dates", expanding=True)),
                      bookings.c.status.in_(domain.HOLDING))
               .group_by(booking_days.c.date))


def _lock(uow: UnitOfWork, *names: str) -> None:
    """Transaction-scoped advisory locks, taken in the order given, in one round trip (unnest
    yields the array's elements in order)."""
    uow.session.execute(_LOCKS, {"names": list(names)})


def _lock_order(uow: UnitOfWork, order_id: uuid.UUID) -> None:
    _lock(uow, f"delivery.order:{order_id}")


def _lock_days(uow: UnitOfWork, dates: Iterable[date]) -> None:
    # One global order, so two reservations never deadlock.
    _lock(uow, *(f"delivery.day:{day.isoformat()}" for day in sorted(set(dates))))


def _booking(uow: UnitOfWork, order_id: uuid.UUID) -> Any:
    return uow.session.execute(_BOOKING, {"order_id": order_id}).first()


def _early(uow: UnitOfWork, order_id: uuid.UUID) -> Sequence[Any]:
    return uow.session.execute(_EARLY, {"order_id": order_id}).all()


def _record_early(uow: UnitOfWork, order_id: uuid.UUID, kind: str, payload: dict, day: date | None = None) -> None:
    uow.session.execute(pg_insert(early_events).values(order_id=order_id, kind=kind, date=day, payload=payload)
                        .on_conflict_do_nothing())


def _set_status(uow: UnitOfWork, booking: Any, status: str, reason: str | None = None) -> None:
    """Reread value: write only over the version that was read."""
    changed = cast(CursorResult, uow.session.execute(_SET_STATUS, {
        "b_id": booking.order_id, "seen": booking.version, "b_status": status,
        "b_reason": reason if reason is not None else booking.reason}))
    if changed.rowcount != 1:
        raise StaleBooking(f"booking {booking.order_id} changed under version {booking.version}")


def used_slots(uow: UnitOfWork, dates: Iterable[date]) -> dict[date, int]:
    """Slots held on each date: bookings pending or confirmed that cover it."""
    rows = uow.session.execute(_USED_SLOTS, {"dates": sorted(set(dates))}).all()
    return {row.date: row.held for row in rows}


# ---- the saga ----

def reserve(*, uow: UnitOfWork, order_id: uuid.UUID, user_id: uuid.UUID, restaurant_id: uuid.UUID,
            address: str, phone: str, dates: list[date], capacity: int) -> None:
    """OrderReserved → a pending booking holding one slot per date (DeliveryReserved), or a rejected
    one naming the first full date (DeliveryRejected)."""
    _lock_order(uow, order_id)
    booking = _booking(uow, order_id)
    early = _early(uow, order_id)
    if domain.reserve_action(booking.status if booking else None, [e.kind for e in early]) == "ignore":
        return
    days = sorted(set(dates))
    _lock_days(uow, days)
    full = domain.first_full_date(days, used_slots(uow, days), capacity)
    reason = domain.rejection_reason(full) if full else None
    uow.session.execute(bookings.insert().values(
        order_id=order_id, user_id=user_id, restaurant_id=restaurant_id, address=address, phone=phone,
        status=domain.REJECTED if full else domain.PENDING, reason=reason, version=1))
    if reason is not None:  # a full date
        uow.publish(DeliveryRejected(aggregate_id=str(order_id), order_id=str(order_id), user_id=str(user_id),
                                     reason=reason))
        return
    uow.session.execute(booking_days.insert(), [{"order_id": order_id, "date": day} for day in days])
    uow.publish(DeliveryReserved(aggregate_id=str(order_id), order_id=str(order_id), user_id=str(user_id),
                                 dates=days))
    if any(e.kind == domain.EARLY_PAID for e in early):  # the payment came first: apply it now
        _confirm(uow, _booking(uow, order_id), early)


def release(*, uow: UnitOfWork, order_id: uuid.UUID, user_id: uuid.UUID, event_type: str,
            reason: str | None) -> None:
    """OrderCancelled / OrderExpired / OrderPaymentFailed → a pending booking frees its slots."""
    _lock_order(uow, order_id)
    booking = _booking(uow, order_id)
    why = domain.release_reason(event_type, reason)
    action = domain.release_action(booking.status if booking else None)
    if action == "record":
        _record_early(uow, order_id, domain.EARLY_RELEASE, {"event_type": event_type, "reason": why})
    if action != "apply":
        return
    _set_status(uow, booking, domain.RELEASED, why)
    uow.session.execute(delete(booking_days).where(booking_days.c.order_id == order_id))
    uow.publish(DeliveryReleased(aggregate_id=str(order_id), order_id=str(order_id), user_id=str(booking.user_id),
                                 reason=why))


def confirm(*, uow: UnitOfWork, order_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """OrderActivated → a pending booking is confirmed, with one delivery task per date."""
    _lock_order(uow, order_id)
    booking = _booking(uow, order_id)
    action = domain.confirm_action(booking.status if booking else None)
    if action == "record":
        _record_early(uow, order_id, domain.EARLY_PAID, {"user_id": str(user_id)})
    if action == "apply":
        _confirm(uow, booking, _early(uow, order_id))


def _confirm(uow: UnitOfWork, booking: Any, early: Sequence[Any]) -> None:
    prepared = {e.date for e in early if e.kind == domain.EARLY_PREPARED}
    days: Sequence[date] = uow.session.execute(
        select(booking_days.c.date).where(booking_days.c.order_id == booking.order_id)
        .order_by(booking_days.c.date)).scalars().all()
    _set_status(uow, booking, domain.CONFIRMED)
    uow.session.execute(pg_insert(tasks).values([{
        "id": uuid.uuid4(), "order_id": booking.order_id, "date": day, "user_id": booking.user_id,
        "restaurant_id": booking.restaurant_id, "address": booking.address, "phone": booking.phone,
        "status": domain.first_task_status(day in prepared)} for day in days]).on_conflict_do_nothing())
    uow.publish(DeliveryConfirmed(aggregate_id=str(booking.order_id), order_id=str(booking.order_id),
                                  user_id=str(booking.user_id)))


def day_prepared(*, uow: UnitOfWork, order_id: uuid.UUID, day: date) -> None:
    """DayPrepared → that date's task can be picked up (recorded if the task does not exist yet)."""
    _lock_order(uow, order_id)
    task = uow.session.execute(select(tasks).where(tasks.c.order_id == order_id, tasks.c.date == day)
                               .with_for_update()).first()
    action = domain.prepared_action(task.status if task else None)
    if action == "record":
        _record_early(uow, order_id, domain.EARLY_PREPARED, {}, day)
    elif action == "apply":
        if task is None:  # prepared_action applies only to a task that exists
            raise RuntimeError(f"no task of order {order_id} on {day} to mark prepared")
        uow.session.execute(update(tasks).where(tasks.c.id == task.id)
                            .values(status=domain.READY, updated_at=func.now()))


# ---- the couriers' API ----

def list_tasks(*, uow: UnitOfWork, statuses: Iterable[str], order_id: uuid.UUID | None, cursor: str | None,
               limit: int, courier_id: uuid.UUID | None) -> tuple[Sequence[Any], str | None]:
    """Tasks in `statuses`. With a courier: only those open for pickup (nobody's yet: waiting for the
    kitchen or ready) and the courier's own — never another courier's task with its address and phone."""
    query = select(tasks).where(tasks.c.status.in_(sorted(set(statuses))))
    if courier_id is not None:
        query = query.where(or_(tasks.c.courier_id == courier_id,
                                and_(tasks.c.courier_id.is_(None),
                                     tasks.c.status.in_((domain.WAITING_KITCHEN, domain.READY)))))
    if order_id:
        query = query.where(tasks.c.order_id == order_id)
    if cursor:
        query = query.where(pagination.after(cursor, tasks.c.date, tasks.c.id, date.fromisoformat))
    with uow:
        rows = uow.session.execute(query.order_by(tasks.c.date, tasks.c.id).limit(limit + 1)).all()
    return pagination.page(rows, limit, lambda r: r.date)


def _task(uow: UnitOfWork, task_id: uuid.UUID) -> Any:
    row = uow.session.execute(select(tasks).where(tasks.c.id == task_id).with_for_update()).first()
    if row is None:
        raise Problem(404, f"No delivery task {task_id}.")
    return row


def _move(uow: UnitOfWork, task_id: uuid.UUID, courier_id: uuid.UUID, rule, status: str, event_class) -> Any:
    with uow:
        task = _task(uow, task_id)
        courier = str(courier_id)
        try:
            change = rule(task.status, str(task.courier_id) if task.courier_id else None, courier)
        except domain.Refused as refused:
            raise Problem(refused.status, f"Task {task_id} ({task.date}): {refused.detail}.",
                          current_status=task.status) from None
        if not change:  # already done by this courier: idempotent, no second event
            return task
        row = uow.session.execute(update(tasks).where(tasks.c.id == task_id)
                                  .values(status=status, courier_id=courier_id, updated_at=func.now())
                                  .returning(*tasks.c)).one()
        uow.publish(event_class(aggregate_id=str(row.order_id), order_id=str(row.order_id),
                                user_id=str(row.user_id), date=row.date, courier_id=courier))
        uow.commit()
        return row


def pick_up(*, uow: UnitOfWork, task_id: uuid.UUID, courier_id: uuid.UUID) -> Any:
    return _move(uow, task_id, courier_id, domain.pick_up, domain.PICKED_UP, DayPickedUp)


def deliver(*, uow: UnitOfWork, task_id: uuid.UUID, courier_id: uuid.UUID) -> Any:
    return _move(uow, task_id, courier_id, domain.deliver, domain.DELIVERED, DayDelivered)


def day_slots(*, uow: UnitOfWork, day: date, capacity: int) -> dict:
    with uow:
        used = used_slots(uow, [day]).get(day, 0)
    return {"date": day, "capacity": capacity, "used": used, "free": max(capacity - used, 0)}
