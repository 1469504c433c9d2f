"""Events recommendations publishes (schemas in schemas/recommendations.plan/)."""

from __future__ import annotations

from datetime import date

from chassis.events import Event


class RecommendationPublished(Event):
    aggregate_type = "recommendations.plan"
    plan_id: str
    user_id: str
    manager_id: str
    restaurant_id: str
    week_start: date
    comment: str | None = None
    days: list[dict]  # [{date, calories, meals: [{meal, dish_ids}]}]
