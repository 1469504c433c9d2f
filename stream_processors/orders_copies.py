"""orders' read-only copies: menus and restaurants (prices), profiles (default address and phone)
and published plans (ordering a recommendation), so placing an order never calls another service.

Run: faust -A stream_processors.order_copies worker
"""

from __future__ import annotations

from apis.orders import service as orders
from apis.orders.settings import OrderSettings
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, by_event_type, create_app, event_topic

svc = Service("orders", OrderSettings())
app = create_app("order-copies")
effects = ExactlyOnceEffects(app, "orders.copies", svc.sessions, svc.codec)

apply_menu = by_event_type({
    "DishAdded": lambda uow, e: orders.copy_dish(uow, e.value, removed=False),
    "DishChanged": lambda uow, e: orders.copy_dish(uow, e.value, removed=False),
    "DishRemoved": lambda uow, e: orders.copy_dish(uow, e.value, removed=True),
    "RestaurantCreated": lambda uow, e: orders.copy_restaurant(uow, e.value),
    "RestaurantChanged": lambda uow, e: orders.copy_restaurant(uow, e.value),
})
apply_profile = by_event_type({"UserProfileChanged": lambda uow, e: orders.copy_profile(uow, e.value)})
apply_plan = by_event_type({"RecommendationPublished": lambda uow, e: orders.copy_plan(uow, e.value)})


@app.agent(event_topic(app, "restaurants.restaurant"))
async def copy_menus(stream):
    async for event in stream.events():
        await effects.apply(event, apply_menu)


@app.agent(event_topic(app, "users.profile"))
async def copy_profiles(stream):
    async for event in stream.events():
        await effects.apply(event, apply_profile)


@app.agent(event_topic(app, "recommendations.plan"))
async def copy_plans(stream):
    async for event in stream.events():
        await effects.apply(event, apply_plan)
