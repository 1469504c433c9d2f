"""recommendations' rules, free of I/O: what makes a weekly plan valid, and how it adds up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

WEEK = 7


@dataclass(frozen=True)
class DishCopy:
    dish_id: str
    restaurant_id: str
    text: str
    calories: int
    kind: str
    price: int
    available: bool
    removed: bool


def week_dates(week_start: date) -> list[date]:
    return [week_start + timedelta(days=i) for i in range(WEEK)]


def plan_problems(*, restaurant_id: str, week_start: date, days: list[dict], menu: dict[str, DishCopy]) -> list[str]:
    """Every reason the plan cannot be saved, each naming the day, meal and dish concerned."""
    problems: list[str] = []
    expected = week_dates(week_start)
    given = [d["date"] for d in days]
    if sorted(given) != expected:
        missing = sorted(set(expected) - set(given))
        extra = sorted(set(given) - set(expected))
        repeated = sorted({d for d in given if given.count(d) > 1})
        parts = [f"missing {', '.join(map(str, missing))}" if missing else "",
                 f"outside the week {', '.join(map(str, extra))}" if extra else "",
                 f"repeated {', '.join(map(str, repeated))}" if repeated else ""]
        problems.append(f"a plan has the 7 days from {week_start} to {expected[-1]}, each once: "
                        + "; ".join(p for p in parts if p))
    for day in days:
        meals = [m["meal"] for m in day["meals"]]
        if not meals:
            problems.append(f"{day['date']}: no meals")
        for meal in sorted({m for m in meals if meals.count(m) > 1}):
            problems.append(f"{day['date']}: the meal {meal!r} appears twice")
        for meal in day["meals"]:
            for dish_id in meal["dish_ids"]:
                where = f"{day['date']} {meal['meal']}: dish {dish_id}"
                dish = menu.get(dish_id)
                if dish is None or dish.removed:
                    problems.append(f"{where} is not on any menu we know")
                elif dish.restaurant_id != restaurant_id:
                    problems.append(f"{where} ({dish.text}) belongs to another restaurant, not {restaurant_id}")
                elif not dish.available:
                    problems.append(f"{where} ({dish.text}) is not available")
    return problems


def day_summaries(days: list[dict], menu: dict[str, DishCopy], goal: int | None, tolerance: int) -> list[dict]:
    """Each day with its dishes and calories against the goal; off-goal days carry a warning
    (a warning, not an error: the manager decides)."""
    out = []
    for day in sorted(days, key=lambda d: d["date"]):
        meals = [{"meal": m["meal"], "dishes": [_dish_view(menu[i]) for i in m["dish_ids"]]} for m in day["meals"]]
        calories = sum(d["calories"] for m in meals for d in m["dishes"])
        difference = None if goal is None else calories - goal
        warning = None
        if difference is not None and abs(difference) > tolerance:
            warning = f"{abs(difference)} kcal {'over' if difference > 0 else 'under'} the daily goal of {goal}"
        out.append({"date": day["date"], "meals": meals, "calories": calories, "goal": goal,
                    "difference": difference, "warning": warning})
    return out


def _dish_view(dish: DishCopy) -> dict[str, Any]:
    return {"id": dish.dish_id, "text": dish.text, "calories": dish.calories, "kind": dish.kind, "price": dish.price}
