"""recommendations' read-only copies: menus and restaurants (from restaurants' events) and
calorie goals (from users' events), so building a plan never calls another service.

Each copy keeps the newest version it has seen, and the inbox makes each event count once.
Run: faust -A stream_processors.recommendations_copies worker
"""

from __future__ import annotations

from apis.recommendations import service as recommendations
from apis.restaurants.events import DishAdded, DishChanged, DishRemoved, RestaurantChanged, RestaurantCreated
from apis.users.events import UserProfileChanged
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor

processor = Processor("recommendations_copies", Service("recommendations"))
app = processor.app


def dish(uow: UnitOfWork, e: DishAdded | DishChanged) -> None:
    recommendations.copy_dish(uow=uow, value=e, removed=False)


def dish_removed(uow: UnitOfWork, e: DishRemoved) -> None:
    recommendations.copy_dish(uow=uow, value=e, removed=True)


def restaurant(uow: UnitOfWork, e: RestaurantCreated | RestaurantChanged) -> None:
    recommendations.copy_restaurant(uow=uow, value=e)


def goal(uow: UnitOfWork, e: UserProfileChanged) -> None:
    recommendations.copy_goal(uow=uow, value=e)


processor.consume("restaurants.restaurant", {DishAdded: dish, DishChanged: dish, DishRemoved: dish_removed,
                                             RestaurantCreated: restaurant, RestaurantChanged: restaurant})
processor.consume("users.profile", {UserProfileChanged: goal})
