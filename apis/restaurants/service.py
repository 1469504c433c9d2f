"""restaurants' use cases: plain functions over a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from apis.restaurants.events import DishAdded, DishChanged, DishRemoved, RestaurantChanged, RestaurantCreated
from apis.restaurants.models import dishes, restaurants
from chassis.db import UnitOfWork
from chassis.problems import Problem

_RESTAURANT = ("name", "address", "daily_capacity", "active")
_DISH = ("text", "calories", "kind", "comment", "price", "available")


def _restaurant_event(cls, row: Any):
    return cls(aggregate_id=str(row.id), restaurant_id=str(row.id), version=row.version,
               **{k: getattr(row, k) for k in _RESTAURANT})


def _dish_event(cls, row: Any):
    return cls(aggregate_id=str(row.restaurant_id), dish_id=str(row.id), restaurant_id=str(row.restaurant_id),
               version=row.version, **{k: getattr(row, k) for k in _DISH})


def create_restaurant(*, uow: UnitOfWork, data: dict) -> Any:
    with uow:
        try:
            row = uow.session.execute(insert(restaurants).values(id=uuid.uuid4(), version=1, **data)
                                      .returning(*restaurants.c)).one()
        except IntegrityError:
            raise Problem(409, f"A restaurant named {data['name']!r} already exists.") from None
        uow.publish(_restaurant_event(RestaurantCreated, row))
        uow.commit()
        return row


def change_restaurant(*, uow: UnitOfWork, restaurant_id: uuid.UUID, changes: dict) -> Any:
    with uow:
        _restaurant(uow, restaurant_id, lock=True)
        try:
            row = uow.session.execute(update(restaurants).where(restaurants.c.id == restaurant_id)
                                      .values(**changes, version=restaurants.c.version + 1)
                                      .returning(*restaurants.c)).one()
        except IntegrityError:  # names are unique: renaming onto another restaurant's name is a conflict
            raise Problem(409, f"A restaurant named {changes.get('name')!r} already exists.") from None
        uow.publish(_restaurant_event(RestaurantChanged, row))
        uow.commit()
        return row


def _restaurant(uow: UnitOfWork, restaurant_id: uuid.UUID, lock: bool = False) -> Any:
    query = select(restaurants).where(restaurants.c.id == restaurant_id)
    row = uow.session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise Problem(404, f"No restaurant {restaurant_id}.")
    return row


def list_restaurants(*, uow: UnitOfWork, include_inactive: bool, after: str | None,
                     limit: int) -> tuple[Sequence[Any], str | None]:
    query = select(restaurants).order_by(restaurants.c.name, restaurants.c.id)
    if not include_inactive:
        query = query.where(restaurants.c.active)
    if after:
        query = query.where(restaurants.c.name > after)
    with uow:
        rows = uow.session.execute(query.limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].name if len(rows) > limit else None)


def menu(*, uow: UnitOfWork, restaurant_id: uuid.UUID) -> tuple[Any, Sequence[Any]]:
    with uow:
        restaurant = _restaurant(uow, restaurant_id)
        rows = uow.session.execute(select(dishes).where(dishes.c.restaurant_id == restaurant_id,
                                                        dishes.c.removed.is_(False))).all()
    return restaurant, rows


def add_dish(*, uow: UnitOfWork, restaurant_id: uuid.UUID, data: dict) -> Any:
    with uow:
        _restaurant(uow, restaurant_id)
        row = uow.session.execute(insert(dishes).values(id=uuid.uuid4(), restaurant_id=restaurant_id, version=1,
                                                        **data).returning(*dishes.c)).one()
        uow.publish(_dish_event(DishAdded, row))
        uow.commit()
        return row


def _dish(uow: UnitOfWork, restaurant_id: uuid.UUID, dish_id: uuid.UUID) -> Any:
    row = uow.session.execute(select(dishes).where(dishes.c.id == dish_id, dishes.c.restaurant_id == restaurant_id,
                                                   dishes.c.removed.is_(False)).with_for_update()).first()
    if row is None:
        raise Problem(404, f"No dish {dish_id} on the menu of restaurant {restaurant_id}.")
    return row


def replace_dish(*, uow: UnitOfWork, restaurant_id: uuid.UUID, dish_id: uuid.UUID, data: dict) -> Any:
    with uow:
        _dish(uow, restaurant_id, dish_id)
        row = uow.session.execute(update(dishes).where(dishes.c.id == dish_id).values(
            **data, version=dishes.c.version + 1, updated_at=func.now()).returning(*dishes.c)).one()
        uow.publish(_dish_event(DishChanged, row))
        uow.commit()
        return row


def remove_dish(*, uow: UnitOfWork, restaurant_id: uuid.UUID, dish_id: uuid.UUID) -> None:
    with uow:
        _dish(uow, restaurant_id, dish_id)
        row = uow.session.execute(update(dishes).where(dishes.c.id == dish_id).values(
            removed=True, available=False, version=dishes.c.version + 1, updated_at=func.now())
            .returning(*dishes.c)).one()
        uow.publish(DishRemoved(aggregate_id=str(restaurant_id), dish_id=str(dish_id),
                                restaurant_id=str(restaurant_id), version=row.version))
        uow.commit()
