"""recommendations' use cases: plain functions over a unit of work."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Set
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, insert, or_, select, update

from apis.recommendations import domain
from apis.recommendations.draft import MenuDish, draft_week, tolerance
from apis.recommendations.events import RecommendationPublished
from apis.recommendations.models import goal_copies, menu_dishes, plans, restaurant_copies
from apis.restaurants.events import DishRemoved  # at run time too: copy_dish tells a removal by its class
from chassis import pagination
from chassis.db import UnitOfWork, upsert_newer
from chassis.problems import Problem
from chassis.security import Principal

if TYPE_CHECKING:  # the other services' events this service copies from
    from apis.restaurants.events import DishAdded, DishChanged, RestaurantChanged, RestaurantCreated
    from apis.users.events import UserProfileChanged


def _copy(row: Any) -> domain.DishCopy:
    return domain.DishCopy(str(row.dish_id), str(row.restaurant_id), row.text, row.calories, row.kind, row.price,
                           row.available, row.removed)


def _menu(uow: UnitOfWork, *, dish_ids: Set[str] = frozenset(), restaurant_id: str | None = None
          ) -> dict[str, domain.DishCopy]:
    conditions: list[ColumnElement[bool]] = []
    valid_ids = []
    for i in dish_ids:
        try:
            valid_ids.append(uuid.UUID(i))
        except ValueError:
            continue
    if valid_ids:
        conditions.append(menu_dishes.c.dish_id.in_(valid_ids))
    if restaurant_id:
        conditions.append(menu_dishes.c.restaurant_id == uuid.UUID(restaurant_id))
    if not conditions:
        return {}
    rows = uow.session.execute(select(menu_dishes).where(or_(*conditions))).all()
    return {str(r.dish_id): _copy(r) for r in rows}


def _goal(uow: UnitOfWork, user_id: uuid.UUID) -> int | None:
    row = uow.session.execute(select(goal_copies).where(goal_copies.c.user_id == user_id)).first()
    if row is None:
        raise Problem(422, f"User {user_id} is not known here (yet): new accounts arrive within seconds.",
                      errors=[{"field": "body.user_id", "message": "unknown user"}])
    return row.daily_calorie_goal


def _check_restaurant(uow: UnitOfWork, restaurant_id: uuid.UUID) -> None:
    row = uow.session.execute(select(restaurant_copies).where(
        restaurant_copies.c.restaurant_id == restaurant_id)).first()
    if row is None or not row.active:
        raise Problem(422, f"Restaurant {restaurant_id} is not an active restaurant we know.",
                      errors=[{"field": "body.restaurant_id", "message": "unknown or inactive restaurant"}])


def _stored_days(days: list[dict]) -> list[dict]:
    return [{"date": d["date"].isoformat(), "meals": [{"meal": m["meal"], "dish_ids": [str(i) for i in m["dish_ids"]]}
                                                       for m in d["meals"]]} for d in days]


def _loaded_days(days: list[dict]) -> list[dict]:
    return [{**d, "date": date.fromisoformat(d["date"])} for d in days]


def _validated(uow: UnitOfWork, *, restaurant_id: uuid.UUID, week_start: date, days: list[dict]) -> list[dict]:
    stored = _loaded_days(_stored_days(days))
    ids = {i for d in stored for m in d["meals"] for i in m["dish_ids"]}
    problems = domain.plan_problems(restaurant_id=str(restaurant_id), week_start=week_start, days=stored,
                                    menu=_menu(uow, dish_ids=ids))
    if problems:
        raise Problem(422, "; ".join(problems), title="The plan is not valid",
                      errors=[{"field": "body.days", "message": p} for p in problems])
    return stored


def view(uow: UnitOfWork, row: Any) -> dict:
    days = _loaded_days(row.days)
    ids = {i for d in days for m in d["meals"] for i in m["dish_ids"]}
    goal = uow.session.execute(select(goal_copies.c.daily_calorie_goal)
                               .where(goal_copies.c.user_id == row.user_id)).scalar()
    tol = tolerance(goal) if goal else 0
    return {**row._mapping, "tolerance": tol,
            "days": domain.day_summaries(days, _menu(uow, dish_ids=ids), goal, tol)}


def create_plan(*, uow: UnitOfWork, manager_id: str, data: dict) -> dict:
    with uow:
        _goal(uow, data["user_id"])
        _check_restaurant(uow, data["restaurant_id"])
        days = _validated(uow, restaurant_id=data["restaurant_id"], week_start=data["week_start"], days=data["days"])
        row = uow.session.execute(insert(plans).values(
            id=uuid.uuid4(), user_id=data["user_id"], manager_id=uuid.UUID(manager_id),
            restaurant_id=data["restaurant_id"], week_start=data["week_start"], days=_stored_days(days),
            comment=data.get("comment"), status="draft", version=1).returning(*plans.c)).one()
        answer = view(uow, row)
        uow.commit()
        return answer


def draft(*, uow: UnitOfWork, manager_id: str, data: dict) -> dict:
    with uow:
        goal = data.get("goal") or _goal(uow, data["user_id"])
        if goal is None:
            raise Problem(422, f"User {data['user_id']} has no daily calorie goal; pass `goal` for the draft.")
        _check_restaurant(uow, data["restaurant_id"])
        menu = [d for d in _menu(uow, restaurant_id=str(data["restaurant_id"])).values()
                if d.available and not d.removed]
        if not menu:
            raise Problem(422, f"Restaurant {data['restaurant_id']} has no available dishes to plan with.")
        dates = domain.week_dates(data["week_start"])
        # Seeded by user and week: asking again gives the same draft.
        seed = zlib.crc32(f"{data['user_id']}/{data['week_start']}".encode())
        try:
            chosen = draft_week(dishes=[MenuDish(d.dish_id, d.text, d.calories, d.kind) for d in menu], goal=goal,
                                dates=dates, meals=list(data["meals"]), seed=seed)
        except ValueError as exc:  # e.g. meals named twice, or fewer dishes than meals
            raise Problem(422, f"No draft possible: {exc}") from exc
        days = [{"date": day, "meals": [{"meal": meal, "dish_ids": ids} for meal, ids in chosen[day].items()]}
                for day in dates]
    return create_plan(uow=uow, manager_id=manager_id, data={**data, "days": days})


def _plan(uow: UnitOfWork, plan_id: uuid.UUID, lock: bool = False) -> Any:
    query = select(plans).where(plans.c.id == plan_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise Problem(404, f"No recommendation {plan_id}.")
    return row


def _authored(uow: UnitOfWork, plan_id: uuid.UUID, principal: Principal) -> Any:
    """The plan, locked, if the principal may change it: its author, or an admin (SPEC §9)."""
    row = _plan(uow, plan_id, lock=True)
    if not principal.has("admin") and str(row.manager_id) != principal.user_id:
        raise Problem(403, f"Recommendation {plan_id} is another manager's; only its author or an admin "
                           "edits or publishes it.")
    return row


def edit_plan(*, uow: UnitOfWork, plan_id: uuid.UUID, data: dict, principal: Principal) -> dict:
    with uow:
        row = _authored(uow, plan_id, principal)
        if row.status != "draft":
            raise Problem(409, "A published plan is not edited; build a new one.")
        days = _validated(uow, restaurant_id=row.restaurant_id, week_start=row.week_start, days=data["days"])
        row = uow.session.execute(update(plans).where(plans.c.id == plan_id).values(
            days=_stored_days(days), comment=data.get("comment", row.comment), version=plans.c.version + 1)
            .returning(*plans.c)).one()
        answer = view(uow, row)
        uow.commit()
        return answer


def publish(*, uow: UnitOfWork, plan_id: uuid.UUID, principal: Principal) -> dict:
    with uow:
        row = _authored(uow, plan_id, principal)
        if row.status == "published":
            return view(uow, row)  # publishing twice is the same as once
        row = uow.session.execute(update(plans).where(plans.c.id == plan_id).values(
            status="published", published_at=datetime.now().astimezone(), version=plans.c.version + 1)
            .returning(*plans.c)).one()
        answer = view(uow, row)
        uow.publish(RecommendationPublished(
            aggregate_id=str(row.id), plan_id=str(row.id), user_id=str(row.user_id), manager_id=str(row.manager_id),
            restaurant_id=str(row.restaurant_id), week_start=row.week_start, comment=row.comment,
            days=[{"date": d["date"], "calories": d["calories"],
                   "meals": [{"meal": m["meal"], "dish_ids": [str(x["id"]) for x in m["dishes"]]} for m in d["meals"]]}
                  for d in answer["days"]]))
        uow.commit()
        return answer


def get_plan(*, uow: UnitOfWork, plan_id: uuid.UUID, principal: Principal) -> dict:
    with uow:
        row = _plan(uow, plan_id)
        if not principal.has("manager", "admin") and (str(row.user_id) != principal.user_id
                                                      or row.status != "published"):
            raise Problem(404, f"No recommendation {plan_id}.")
        return view(uow, row)


def list_plans(*, uow: UnitOfWork, principal: Principal, user_id: uuid.UUID | None, cursor: str | None,
               limit: int) -> tuple[list[dict], str | None]:
    query = select(plans)
    if principal.has("manager", "admin"):
        if user_id:
            query = query.where(plans.c.user_id == user_id)
    else:  # a user sees their own published plans, whatever they ask for
        query = query.where(plans.c.user_id == uuid.UUID(principal.user_id), plans.c.status == "published")
    if cursor:
        query = query.where(pagination.after(cursor, plans.c.created_at, plans.c.id, datetime.fromisoformat,
                                             descending=True))
    with uow:
        rows = uow.session.execute(query.order_by(plans.c.created_at.desc(), plans.c.id.desc())
                                   .limit(limit + 1)).all()
        shown, next_cursor = pagination.page(rows, limit, lambda r: r.created_at)
        return [view(uow, r) for r in shown], next_cursor


# ---- written by the recommendations_copies processor -----------------------------------------


def copy_dish(*, uow: UnitOfWork, value: DishAdded | DishChanged | DishRemoved, removed: bool) -> None:
    """Newest version wins, so a duplicate or late event changes nothing. The event's class decides;
    `removed` (True exactly for a DishRemoved) is what the caller handles."""
    if isinstance(value, DishRemoved):
        uow.session.execute(update(menu_dishes).where(menu_dishes.c.dish_id == uuid.UUID(value.dish_id),
                                                      menu_dishes.c.version < value.version)
                            .values(removed=True, available=False, version=value.version))
        return
    uow.session.execute(upsert_newer(menu_dishes, "dish_id", {
        "dish_id": uuid.UUID(value.dish_id), "restaurant_id": uuid.UUID(value.restaurant_id),
        "text": value.text, "calories": value.calories, "kind": value.kind, "price": value.price,
        "available": value.available, "removed": False, "version": value.version}))


def copy_restaurant(*, uow: UnitOfWork, value: RestaurantCreated | RestaurantChanged) -> None:
    uow.session.execute(upsert_newer(restaurant_copies, "restaurant_id", {
        "restaurant_id": uuid.UUID(value.restaurant_id), "name": value.name, "active": value.active,
        "version": value.version}))


def copy_goal(*, uow: UnitOfWork, value: UserProfileChanged) -> None:
    uow.session.execute(upsert_newer(goal_copies, "user_id", {
        "user_id": uuid.UUID(value.user_id), "daily_calorie_goal": value.daily_calorie_goal,
        "version": value.version}))
