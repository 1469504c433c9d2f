"""records' use cases: plain functions over a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from apis.records import domain
from apis.records.events import DiaryEntryAdded, DiaryEntryChanged, DiaryEntryRemoved
from apis.records.models import daily_totals, entries, user_goals
from chassis import pagination
from chassis.db import UnitOfWork, upsert_newer
from chassis.problems import Problem

_STATE = ("eaten_at", "meal", "text", "calories", "grams", "protein", "fat", "carbs", "dish_id", "source")


def _state_event(cls, row: Any):
    return cls(aggregate_id=str(row.user_id), entry_id=str(row.id), user_id=str(row.user_id), version=row.version,
               eaten_on=row.eaten_on, **{k: getattr(row, k) for k in _STATE})


def add_entry(*, uow: UnitOfWork, user_id: uuid.UUID, data: dict) -> Any:
    with uow:
        row = insert_entry(uow, user_id=user_id, data=data, source="manual", entry_id=uuid.uuid4())
        uow.commit()
        return row


# Built once, the values passed at execution: the diary's hot path (chassis/outbox.py says why).
_INSERT_ENTRY = pg_insert(entries).on_conflict_do_nothing().returning(*entries.c)


def insert_entry(uow: UnitOfWork, *, user_id: uuid.UUID, data: dict, source: str, entry_id: uuid.UUID) -> Any:
    """Inside the caller's unit of work; None when an entry with this id exists already."""
    row = uow.session.execute(_INSERT_ENTRY, {
        "id": entry_id, "user_id": user_id, "eaten_on": domain.local_date(data["eaten_at"]), "source": source,
        "version": 1, **data}).first()
    if row is not None:
        uow.publish(_state_event(DiaryEntryAdded, row))
    return row


# The meal a delivered dish is entered at, when the order names one of these meals.
MEAL_HOURS = {"breakfast": 8, "lunch": 13, "dinner": 19}


def add_delivered_dishes(uow: UnitOfWork, *, order_id: str, user_id: str, day: date, dishes: list[dict]) -> int:
    """An order's delivered day goes into the diary (source `order`) once: each entry's id is derived
    from the order, day, meal and dish, so a redelivered event finds its entries already there."""
    added = 0
    for dish in dishes:
        entry_id = uuid.uuid5(uuid.NAMESPACE_URL, f"calories:order:{order_id}:{day}:{dish['meal']}:{dish['dish_id']}")
        eaten_at = datetime(day.year, day.month, day.day, MEAL_HOURS.get(dish["meal"], 12), tzinfo=UTC)
        data = {"eaten_at": eaten_at, "meal": dish["meal"], "text": dish["text"],
                "calories": dish["calories"] * dish["quantity"], "dish_id": dish["dish_id"],
                "grams": None, "protein": None, "fat": None, "carbs": None}
        if insert_entry(uow, user_id=uuid.UUID(user_id), data=data, source="order", entry_id=entry_id) is not None:
            added += 1
    return added


def _owned(uow: UnitOfWork, entry_id: uuid.UUID, user_id: uuid.UUID, lock: bool = False) -> Any:
    query = select(entries).where(entries.c.id == entry_id, entries.c.user_id == user_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    if row is None:  # someone else's entry is indistinguishable from no entry
        raise Problem(404, f"No diary entry {entry_id} in your diary.")
    return row


def get_entry(*, uow: UnitOfWork, user_id: uuid.UUID, entry_id: uuid.UUID) -> Any:
    with uow:
        return _owned(uow, entry_id, user_id)


def replace_entry(*, uow: UnitOfWork, user_id: uuid.UUID, entry_id: uuid.UUID, data: dict) -> Any:
    with uow:
        _owned(uow, entry_id, user_id, lock=True)
        row = uow.session.execute(update(entries).where(entries.c.id == entry_id).values(
            eaten_on=domain.local_date(data["eaten_at"]), version=entries.c.version + 1, **data)
            .returning(*entries.c)).one()
        uow.publish(_state_event(DiaryEntryChanged, row))
        uow.commit()
        return row


def remove_entry(*, uow: UnitOfWork, user_id: uuid.UUID, entry_id: uuid.UUID) -> None:
    with uow:
        row = _owned(uow, entry_id, user_id, lock=True)
        uow.session.execute(delete(entries).where(entries.c.id == entry_id))
        uow.publish(DiaryEntryRemoved(aggregate_id=str(user_id), entry_id=str(entry_id), user_id=str(user_id),
                                      version=row.version + 1, eaten_on=row.eaten_on, meal=row.meal))
        uow.commit()


def list_entries(*, uow: UnitOfWork, user_id: uuid.UUID, start: date | None, end: date | None,
                 cursor: str | None, limit: int) -> tuple[Sequence[Any], str | None]:
    query = select(entries).where(entries.c.user_id == user_id)
    if start:
        query = query.where(entries.c.eaten_on >= start)
    if end:
        query = query.where(entries.c.eaten_on <= end)
    if cursor:
        query = query.where(pagination.after(cursor, entries.c.eaten_at, entries.c.id, datetime.fromisoformat))
    with uow:
        rows = uow.session.execute(query.order_by(entries.c.eaten_at, entries.c.id).limit(limit + 1)).all()
    return pagination.page(rows, limit, lambda r: r.eaten_at)


def check_range(start: date, end: date) -> None:
    if end < start:
        raise Problem(400, f"`to` ({end}) is before `from` ({start}).")
    if (end - start).days >= domain.MAX_RANGE_DAYS:
        raise Problem(400, f"Ask for at most {domain.MAX_RANGE_DAYS} days at a time.")


def daily(*, uow: UnitOfWork, user_id: uuid.UUID, start: date, end: date) -> list[dict]:
    check_range(start, end)
    with uow:
        totals = {r.day: r for r in uow.session.execute(select(daily_totals).where(
            daily_totals.c.user_id == user_id, daily_totals.c.day.between(start, end)))}
        goal = uow.session.execute(select(user_goals.c.daily_calorie_goal)
                                   .where(user_goals.c.user_id == user_id)).scalar()
    days = []
    for day in domain.days_between(start, end):
        row = totals.get(day)
        calories = row.calories if row else 0
        days.append({"date": day, "calories": calories, "by_meal": row.by_meal if row else {}, "goal": goal,
                     "remaining": goal - calories if goal is not None else None})
    return days


def habits(*, uow: UnitOfWork, user_id: uuid.UUID, start: date, end: date, top: int = 10) -> dict:
    check_range(start, end)
    in_range = and_(entries.c.user_id == user_id, entries.c.eaten_on.between(start, end))
    with uow:
        count, days, total = uow.session.execute(select(
            func.count(), func.count(entries.c.eaten_on.distinct()), func.coalesce(func.sum(entries.c.calories), 0))
            .where(in_range)).tuples().one()
        per_meal = uow.session.execute(select(
            entries.c.meal, func.sum(entries.c.calories), func.count(entries.c.eaten_on.distinct()))
            .where(in_range).group_by(entries.c.meal)).tuples().all()
        label = func.min(entries.c.text)
        frequent = uow.session.execute(select(
            label, entries.c.dish_id, func.count().label("times"), func.avg(entries.c.calories))
            .where(in_range).group_by(func.lower(entries.c.text), entries.c.dish_id)
            .order_by(func.count().desc(), label).limit(top)).tuples().all()
    return {
        "user_id": user_id, "from": start, "to": end, "entries": count, "days_with_entries": days,
        "average_calories_per_day": round(total / days, 1) if days else 0.0,
        # per meal: its calories averaged over the days on which that meal was logged
        "average_calories_per_meal": {meal: round(cal / n, 1) for meal, cal, n in per_meal},
        "most_frequent": [{"text": t, "dish_id": d, "times": n, "average_calories": round(float(a), 1)}
                          for t, d, n, a in frequent],
    }


# ---- written by the records_totals processor ------------------------------------------------

def store_day_totals(*, uow: UnitOfWork, totals: Mapping[tuple[str, str], domain.DayTotal]) -> None:
    """Upsert the absolute totals of (user id, day)s in one statement: idempotent, so a
    re-processed event just writes the same totals again."""
    if not totals:
        return
    rows = [{"user_id": uuid.UUID(user_id), "day": date.fromisoformat(day), **total.to_dict()}
            for (user_id, day), total in sorted(totals.items())]
    uow.session.execute(_UPSERT_DAY_TOTAL, rows)


_insert_day_total = pg_insert(daily_totals)
# Built once: an executemany of it is one round trip per batch (psycopg's pipeline), not per day.
_UPSERT_DAY_TOTAL = _insert_day_total.on_conflict_do_update(
    index_elements=["user_id", "day"],
    set_={"calories": _insert_day_total.excluded.calories, "by_meal": _insert_day_total.excluded.by_meal,
          "updated_at": func.now()})


def store_goal(*, uow: UnitOfWork, user_id: str, goal: int | None, version: int) -> None:
    """Keep the newest version's goal; an older or repeated event changes nothing."""
    uow.session.execute(upsert_newer(user_goals, "user_id", {
        "user_id": uuid.UUID(user_id), "daily_calorie_goal": goal, "version": version}))
