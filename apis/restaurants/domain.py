"""restaurants' rules, free of I/O: who may change a menu, and how a menu is shown."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chassis.security import Principal


def may_edit_menu(principal: Principal, restaurant_id: str) -> bool:
    """Admins, and the staff of that restaurant only."""
    return principal.has("admin") or (principal.has("restaurant") and principal.restaurant_id == restaurant_id)


def group_by_kind(dishes: list[Any]) -> list[dict]:
    """Menu sections by kind (kinds are free strings, normalised to lower case), sorted by name."""
    sections: dict[str, list[Any]] = defaultdict(list)
    for dish in dishes:
        sections[dish.kind.strip().lower()].append(dish)
    return [{"kind": kind, "dishes": sorted(items, key=lambda d: d.text)} for kind, items in sorted(sections.items())]


def portions_per_day(days: list[dict]) -> dict[str, int]:
    """Portions the order needs on each date (quantities summed over meals and dishes)."""
    return {d["date"]: sum(x["quantity"] for m in d["meals"] for x in m["dishes"]) for d in days}


def first_full_day(needed: dict[str, int], already: dict[str, int], capacity: int) -> str | None:
    """The first date on which this order would exceed the daily capacity, if any."""
    for day in sorted(needed):
        if already.get(day, 0) + needed[day] > capacity:
            return day
    return None
