"""orders' use cases: plain functions over a unit of work."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult

from apis.orders import domain
from apis.orders.events import (
    OrderActivated,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderDayDelivered,
    OrderExpired,
    OrderRejected,
)
from apis.orders.models import dish_copies, history, orders, plan_copies, profile_copies, restaurant_copies
from apis.orders.settings import OrderSettings
from apis.restaurants.events import DishRemoved  # at run time too: copy_dish tells a removal by its class
from chassis import pagination
from chassis.db import UnitOfWork, upsert_newer
from chassis.events import Event
from chassis.problems import Problem
from chassis.security import Principal

if TYPE_CHECKING:  # the other services' events this service copies from
    from apis.recommendations.events import RecommendationPublished
    from apis.restaurants.events import DishAdded, DishChanged, RestaurantChanged, RestaurantCreated
    from apis.users.events import UserProfileChanged


def _first_answer(row: Any) -> dict:
    """The answer to the request that placed `row`, replayed with the order's current status."""
    return {"order_id": row.id, "total": row.total, "status": row.status}


def _within_limits(uow: UnitOfWork, settings: OrderSettings, user_id: uuid.UUID) -> None:
    """Refuse a new order past the user's unpaid-orders cap (409) or placing rate (429, Retry-After).

    Counted in the database under a per-user transaction lock, so several API replicas agree and two
    concurrent requests of one user cannot both take the last place."""
    s = uow.session
    s.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"orders-of/{user_id}"})
    unpaid = s.execute(select(func.count()).select_from(orders).where(
        orders.c.user_id == user_id, orders.c.status.in_(sorted(domain.OPEN)))).scalar_one()
    if unpaid >= settings.order_max_open_per_user:
        raise Problem(409, f"You already have {unpaid} unpaid orders (the most one account may hold at once is "
                           f"{settings.order_max_open_per_user}); pay or cancel one before placing another.",
                      title="Too many unpaid orders")
    window = timedelta(seconds=settings.order_rate_window_seconds)
    since = datetime.now(UTC) - window
    recent = s.execute(select(func.count().label("placed"), func.min(orders.c.created_at).label("oldest")).where(
        orders.c.user_id == user_id, orders.c.created_at > since)).one()
    placed: int = recent.placed
    oldest: datetime | None = recent.oldest
    if placed >= settings.order_rate_limit and oldest is not None:
        wait = max(1, math.ceil((oldest + window - datetime.now(UTC)).total_seconds()))
        raise Problem(429, f"You placed {placed} orders in the last {settings.order_rate_window_seconds} "
                           f"seconds, the most allowed; retry in {wait} seconds.",
                      title="Too many orders placed", headers={"Retry-After": str(wait)})


def _within_portion_limit(uow: UnitOfWork, settings: OrderSettings, user_id: uuid.UUID, wanted: int) -> None:
    """Refuse (409) an order that would take the portions held by the user's unpaid orders past the
    cap. Runs under the per-user lock `_within_limits` took, so concurrent orders add up right."""
    open_days: list[list[dict]] = list(uow.session.execute(select(orders.c.days).where(
        orders.c.user_id == user_id, orders.c.status.in_(sorted(domain.OPEN)))).scalars())
    held = sum(domain.portions(days) for days in open_days)
    if held + wanted > settings.order_max_open_portions_per_user:
        raise Problem(409, f"This order's {wanted} portions and the {held} your unpaid orders hold pass the most "
                           f"one account may hold at once ({settings.order_max_open_portions_per_user}); pay or "
                           "cancel an order first, or order fewer portions.", title="Too many portions held")


def _menu(uow: UnitOfWork, dish_ids: set[str]) -> dict[str, domain.MenuItem]:
    ids = [uuid.UUID(i) for i in dish_ids]
    rows = uow.session.execute(select(dish_copies).where(dish_copies.c.dish_id.in_(ids),
                                                         dish_copies.c.removed.is_(False))).all()
    return {str(r.dish_id): domain.MenuItem(str(r.dish_id), str(r.restaurant_id), r.text, r.calories, r.price,
                                            r.available) for r in rows}


def _from_plan(uow: UnitOfWork, user_id: uuid.UUID, plan_id: uuid.UUID) -> tuple[uuid.UUID, list[dict]]:
    plan = uow.session.execute(select(plan_copies).where(plan_copies.c.plan_id == plan_id)).first()
    if plan is None or plan.user_id != user_id:
        raise Problem(404, f"No published recommendation {plan_id} for you.")
    days = [{"date": d["date"], "meals": [{"meal": m["meal"], "dishes": [{"dish_id": i, "quantity": 1}
                                                                           for i in m["dish_ids"]]}
                                          for m in d["meals"] if m["dish_ids"]]} for d in plan.days]
    return plan.restaurant_id, days


def place_order(*, uow: UnitOfWork, settings: OrderSettings, user_id: uuid.UUID, body: dict,
                idempotency_key: str | None) -> tuple[dict, bool]:
    """(answer, created). The same Idempotency-Key with the same body gives the first answer; with
    another body 422; while the first is in flight 409. Without a key, the same body from the same
    user within the natural-key window is taken for a blind retry and gets the first answer."""
    if idempotency_key is not None and not idempotency_key.strip():
        raise Problem(400, "The Idempotency-Key header is empty; send a unique non-blank key (a UUID) or no "
                           "header at all.", title="Malformed Idempotency-Key")
    request_hash = domain.canonical_hash(str(user_id), body)
    with uow:
        s = uow.session
        lock = f"{user_id}/{idempotency_key}" if idempotency_key else f"{user_id}/{request_hash}"
        # Held until commit: a concurrent request with the same key waits for nothing, it is told.
        if not s.execute(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock}).scalar():
            raise Problem(409, "The same order request is still being processed; retry in a moment.")
        if idempotency_key:
            first = s.execute(select(orders).where(orders.c.user_id == user_id,
                                                   orders.c.idempotency_key == idempotency_key)).first()
            if first is not None:
                if first.request_hash != request_hash:
                    raise Problem(422, "This Idempotency-Key was used for a different order body; "
                                       "use a new key for a new order.")
                return _first_answer(first), False
        else:
            window = datetime.now(UTC) - timedelta(seconds=settings.order_natural_key_window_seconds)
            first = s.execute(select(orders).where(orders.c.user_id == user_id, orders.c.request_hash == request_hash,
                                                   orders.c.idempotency_key.is_(None), orders.c.created_at > window,
                                                   orders.c.status.in_(sorted(domain.OPEN)))
                              .order_by(orders.c.created_at).limit(1)).first()
            if first is not None:
                return _first_answer(first), False

        _within_limits(uow, settings, user_id)
        if body.get("recommendation_id"):
            restaurant_id, days = _from_plan(uow, user_id, uuid.UUID(body["recommendation_id"]))
        else:
            restaurant_id, days = uuid.UUID(body["restaurant_id"]), body["days"]
        restaurant = s.execute(select(restaurant_copies).where(
            restaurant_copies.c.restaurant_id == restaurant_id)).first()
        if restaurant is None or not restaurant.active:
            raise Problem(422, f"Restaurant {restaurant_id} is not an active restaurant we know.")
        today = datetime.now(UTC).date()
        past = [d["date"] for d in days if date.fromisoformat(str(d["date"])) < today]
        if past:
            raise Problem(422, f"Days in the past cannot be ordered: {', '.join(map(str, past))}.")
        ids = {str(i["dish_id"]) for d in days for m in d["meals"] for i in m["dishes"]}
        priced, total, problems = domain.price_days(
            [{**d, "date": str(d["date"])} for d in days], _menu(uow, ids), str(restaurant_id))
        if problems:
            raise Problem(422, "; ".join(problems), title="The order is not valid",
                          errors=[{"field": "body.days", "message": p} for p in problems])
        _within_portion_limit(uow, settings, user_id, domain.portions(priced))
        profile = s.execute(select(profile_copies).where(profile_copies.c.user_id == user_id)).first()
        address = body.get("delivery_address") or (profile.address if profile else None)
        phone = body.get("phone") or (profile.phone if profile else None)
        if not address or not phone:
            raise Problem(422, "Where and whom to deliver to? Send delivery_address and phone, or set them in "
                               "your profile.")
        order_id = uuid.uuid4()
        expires_at = datetime.now(UTC) + timedelta(seconds=settings.order_payment_deadline_seconds)
        row = s.execute(insert(orders).values(
            id=order_id, user_id=user_id, restaurant_id=restaurant_id, status=domain.PENDING, total=total,
            delivery_address=address, phone=phone, days=priced, idempotency_key=idempotency_key,
            request_hash=request_hash, expires_at=expires_at, version=1).returning(*orders.c)).one()
        s.execute(insert(history).values(order_id=order_id, status=domain.PENDING, event="OrderCreated"))
        uow.publish(OrderCreated(aggregate_id=str(order_id), order_id=str(order_id), user_id=str(user_id),
                                 restaurant_id=str(restaurant_id), delivery_address=address, phone=phone,
                                 total=total, expires_at=expires_at,
                                 days=[{**d, "date": date.fromisoformat(d["date"])} for d in priced]))
        uow.commit()
        return _first_answer(row), True


def _order(uow: UnitOfWork, order_id: uuid.UUID, lock: bool = False) -> Any:
    query = select(orders).where(orders.c.id == order_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise Problem(404, f"No order {order_id}.")
    return row


def view(uow: UnitOfWork, row: Any) -> dict:
    steps = uow.session.execute(select(history).where(history.c.order_id == row.id).order_by(history.c.id)).all()
    return {**row._mapping, "order_id": row.id,
            "history": [{"status": h.status, "at": h.at, "event": h.event, "reason": h.reason} for h in steps]}


def get_order(*, uow: UnitOfWork, order_id: uuid.UUID, principal: Principal) -> dict:
    with uow:
        row = _order(uow, order_id)
        if str(row.user_id) != principal.user_id:  # an order is its user's alone (SPEC §9), staff included
            raise Problem(404, f"No order {order_id}.")
        return view(uow, row)


def list_orders(*, uow: UnitOfWork, user_id: uuid.UUID, cursor: str | None, limit: int) -> tuple[list, str | None]:
    query = select(orders).where(orders.c.user_id == user_id)
    if cursor:
        query = query.where(pagination.after(cursor, orders.c.created_at, orders.c.id, datetime.fromisoformat,
                                             descending=True))
    with uow:
        rows = uow.session.execute(query.order_by(orders.c.created_at.desc(), orders.c.id.desc())
                                   .limit(limit + 1)).all()
        shown, next_cursor = pagination.page(rows, limit, lambda r: r.created_at)
        return [view(uow, r) for r in shown], next_cursor


# The saga's hot statements, built once: each event reads and moves one order, and building a
# statement (and its cache key) per call cost more Python time than running it (py-spy).
_LOCK_ORDER = select(orders).where(orders.c.id == bindparam("order_id")).with_for_update()
_MOVE = update(orders).where(orders.c.id == bindparam("b_id"), orders.c.version == bindparam("seen")).values(
    status=bindparam("b_status"), reason=bindparam("b_reason"), version=orders.c.version + 1, updated_at=func.now())
_HISTORY = insert(history)
# A note in one round trip: the order's current status copied into its history row.
_NOTE = insert(history).from_select(
    ["order_id", "status", "event"],
    select(orders.c.id, orders.c.status, bindparam("event", type_=history.c.event.type))
    .where(orders.c.id == bindparam("b_id")))


def _move(uow: UnitOfWork, row: Any, status: str, event: str, reason: str | None = None) -> None:
    # Reread value: the row was read FOR UPDATE, and the version guards against a writer that
    # did not lock (none should exist; the guard makes it an error rather than a lost update).
    done = cast(CursorResult, uow.session.execute(
        _MOVE, {"b_id": row.id, "seen": row.version, "b_status": status, "b_reason": reason}))
    if done.rowcount != 1:
        raise RuntimeError(f"order {row.id} changed under a lock")
    uow.session.execute(_HISTORY, {"order_id": row.id, "status": status, "event": event, "reason": reason})


def _event_for(row: Any, status: str, reason: str | None):
    ids: dict[str, Any] = {"aggregate_id": str(row.id), "order_id": str(row.id), "user_id": str(row.user_id)}
    if status == domain.AWAITING_PAYMENT:
        return OrderAwaitingPayment(**ids, total=row.total, expires_at=row.expires_at)
    if status == domain.ACTIVE:
        return OrderActivated(**ids, total=row.total)
    if status == domain.REJECTED:
        return OrderRejected(**ids, reason=reason or "rejected")
    if status == domain.CANCELLED:
        return OrderCancelled(**ids, reason=reason or "cancelled by the user")
    if status == domain.EXPIRED:
        return OrderExpired(**ids)
    return OrderCompleted(**ids)


def transition(uow: UnitOfWork, order_id: uuid.UUID, cause: type[Event], event: str,
               reason: str | None = None) -> bool:
    """Apply a saga step inside the caller's unit of work; False when it does not apply now.
    `cause` is the event class in the state machine's table; `event` is what the saga view shows."""
    row = uow.session.execute(_LOCK_ORDER, {"order_id": order_id}).first()
    if row is None:
        return False
    status = domain.next_status(row.status, cause)
    if status is None:
        return False
    _move(uow, row, status, event, reason)
    uow.publish(_event_for(row, status, reason))
    return True


def note(uow: UnitOfWork, order_id: uuid.UUID, event: str) -> None:
    """A step others took that does not change the order's status, for the saga view."""
    uow.session.execute(_NOTE, {"b_id": order_id, "event": event})


def day_delivered(uow: UnitOfWork, order_id: uuid.UUID, day: date) -> None:
    row = uow.session.execute(_LOCK_ORDER, {"order_id": order_id}).first()
    if row is None or row.status != domain.ACTIVE or day.isoformat() in row.delivered_dates:
        return
    delivered = sorted({*row.delivered_dates, day.isoformat()})
    uow.session.execute(update(orders).where(orders.c.id == order_id).values(
        delivered_dates=delivered, version=orders.c.version + 1, updated_at=func.now()))
    uow.session.execute(insert(history).values(order_id=order_id, status=row.status, event=f"DayDelivered {day}"))
    [the_day] = [d for d in row.days if d["date"] == day.isoformat()]
    uow.publish(OrderDayDelivered(
        aggregate_id=str(order_id), order_id=str(order_id), user_id=str(row.user_id), date=day,
        dishes=[{"dish_id": x["dish_id"], "meal": m["meal"], "text": x["text"], "calories": x["calories"],
                 "quantity": x["quantity"]} for m in the_day["meals"] for x in m["dishes"]]))
    if len(delivered) == len(row.days):
        row = uow.session.execute(select(orders).where(orders.c.id == order_id)).one()
        _move(uow, row, domain.COMPLETED, "DayDelivered")
        uow.publish(_event_for(row, domain.COMPLETED, None))


def cancel(*, uow: UnitOfWork, order_id: uuid.UUID, user_id: uuid.UUID) -> dict:
    with uow:
        row = _order(uow, order_id, lock=True)
        if row.user_id != user_id:
            raise Problem(404, f"No order {order_id}.")
        if row.status == domain.CANCELLED:
            return view(uow, row)
        if domain.next_status(row.status, OrderCancelled) is None:
            raise Problem(409, f"Order {order_id} is {row.status}; only a pending or unpaid order can be cancelled.")
        transition(uow, order_id, OrderCancelled, "cancel requested", "cancelled by the user")
        uow.commit()
        return view(uow, _order(uow, order_id))


def expire_due(*, uow: UnitOfWork, grace_seconds: int = 0, limit: int = 100) -> int:
    """Expire open orders past their deadline plus the grace period; SKIP LOCKED lets several workers
    share the sweep. The grace lets an OrderPaid for a payment accepted before the deadline (payments
    refuses any after it) arrive and activate the order instead of being refunded."""
    with uow:
        due: Sequence[uuid.UUID] = uow.session.execute(select(orders.c.id).where(
            orders.c.status.in_(sorted(domain.OPEN)),
            orders.c.expires_at < func.now() - timedelta(seconds=grace_seconds))
            .with_for_update(skip_locked=True).limit(limit)).scalars().all()
        for order_id in due:
            transition(uow, order_id, OrderExpired, "deadline passed", "not paid in time")
        uow.commit()
        return len(due)


# ---- copies, written by the orders_copies processor (newest version wins) -----------------------


def copy_dish(uow: UnitOfWork, v: DishAdded | DishChanged | DishRemoved, removed: bool) -> None:
    """The event's class decides; `removed` (True exactly for a DishRemoved) is what the caller handles."""
    if isinstance(v, DishRemoved):
        uow.session.execute(update(dish_copies).where(dish_copies.c.dish_id == uuid.UUID(v.dish_id),
                                                      dish_copies.c.version < v.version)
                            .values(removed=True, available=False, version=v.version))
        return
    uow.session.execute(upsert_newer(dish_copies, "dish_id", {
        "dish_id": uuid.UUID(v.dish_id), "restaurant_id": uuid.UUID(v.restaurant_id), "text": v.text,
        "calories": v.calories, "price": v.price, "available": v.available, "removed": False,
        "version": v.version}))


def copy_restaurant(uow: UnitOfWork, v: RestaurantCreated | RestaurantChanged) -> None:
    uow.session.execute(upsert_newer(restaurant_copies, "restaurant_id", {
        "restaurant_id": uuid.UUID(v.restaurant_id), "active": v.active, "version": v.version}))


def copy_profile(uow: UnitOfWork, v: UserProfileChanged) -> None:
    uow.session.execute(upsert_newer(profile_copies, "user_id", {
        "user_id": uuid.UUID(v.user_id), "address": v.address, "phone": v.phone, "version": v.version}))


def copy_plan(uow: UnitOfWork, v: RecommendationPublished) -> None:
    days = [{"date": d["date"].isoformat(), "meals": d["meals"]} for d in v.days]
    uow.session.execute(pg_insert(plan_copies).values(
        plan_id=uuid.UUID(v.plan_id), user_id=uuid.UUID(v.user_id), restaurant_id=uuid.UUID(v.restaurant_id),
        days=days).on_conflict_do_nothing())


def saga_figures(*, uow: UnitOfWork) -> dict:
    with uow:
        by_status: dict[str, int] = dict(uow.session.execute(
            select(orders.c.status, func.count()).group_by(orders.c.status)).all())
        oldest = uow.session.execute(select(func.extract("epoch", func.now() - func.min(orders.c.created_at)))
                                     .where(orders.c.status.in_(sorted(domain.OPEN)))).scalar()
        compensated = uow.session.execute(select(func.count(history.c.order_id.distinct())).where(
            history.c.event == "OrderReserved", history.c.order_id.in_(
                select(orders.c.id).where(orders.c.status.in_([domain.REJECTED, domain.CANCELLED, domain.EXPIRED])))
        )).scalar()
    return {"by_status": by_status, "oldest_open_seconds": float(oldest or 0), "compensated": compensated}
