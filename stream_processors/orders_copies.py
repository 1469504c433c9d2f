"""orders' read-only copies: menus and restaurants (prices), profiles (default address and phone)
and published plans (ordering a recommendation), so placing an order never calls another service.

Run: faust -A stream_processors.orders_copies worker
"""

from __future__ import annotations

from apis.orders import service as orders
from apis.orders.settings import OrderSettings
from apis.recommendations.events import RecommendationPublished
from apis.restaurants.events import DishAdded, DishChanged, DishRemoved, RestaurantChanged, RestaurantCreated
from apis.users.events import UserProfileChanged
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor

processor = Processor("orders_copies", Service("orders", OrderSettings()))
app = processor.app


def dish(uow: UnitOfWork, e: DishAdded | DishChanged) -> None:
    orders.copy_dish(uow, e, removed=False)


def dish_removed(uow: UnitOfWork, e: DishRemoved) -> None:
    orders.copy_dish(uow, e, removed=True)


processor.consume("restaurants.restaurant", {
    DishAdded: dish, DishChanged: dish, DishRemoved: dish_removed,
    RestaurantCreated: orders.copy_restaurant, RestaurantChanged: orders.copy_restaurant})
processor.consume("users.profile", {UserProfileChanged: orders.copy_profile})
processor.consume("recommendations.plan", {RecommendationPublished: orders.copy_plan})
