"""recommendations' read-only copies: menus and restaurants (from restaurants' events) and
calorie goals (from users' events), so building a plan never calls another service.

Each copy keeps the newest version it has seen, and the inbox makes each event count once.
Run: faust -A stream_processors.recommendation_copies worker
"""

from __future__ import annotations

from apis.recommendations import service as recommendations
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, by_event_type, create_app, event_topic

svc = Service("recommendations")
app = create_app("recommendation-copies")
restaurant_events = event_topic(app, "restaurants.restaurant")
profile_events = event_topic(app, "users.profile")
effects = ExactlyOnceEffects(app, "recommendations.copies", svc.sessions, svc.codec)


def _dish(removed: bool):
    def apply(uow: UnitOfWork, event: IncomingEvent) -> None:
        recommendations.copy_dish(uow=uow, value=event.value, removed=removed)

    return apply


def _restaurant(uow: UnitOfWork, event: IncomingEvent) -> None:
    recommendations.copy_restaurant(uow=uow, value=event.value)


def _goal(uow: UnitOfWork, event: IncomingEvent) -> None:
    recommendations.copy_goal(uow=uow, value=event.value)


apply_menu = by_event_type({"DishAdded": _dish(False), "DishChanged": _dish(False), "DishRemoved": _dish(True),
                            "RestaurantCreated": _restaurant, "RestaurantChanged": _restaurant})
apply_profile = by_event_type({"UserProfileChanged": _goal})


@app.agent(restaurant_events)
async def copy_menus(stream):
    async for event in stream.events():
        await effects.apply(event, apply_menu)


@app.agent(profile_events)
async def copy_goals(stream):
    async for event in stream.events():
        await effects.apply(event, apply_profile)
