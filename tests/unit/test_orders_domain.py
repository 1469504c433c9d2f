"""orders' pure rules: pricing from the menu copy (and every problem named), the natural key."""

from __future__ import annotations

from apis.orders.domain import MenuItem, canonical_hash, price_days

R, OTHER = "r-1", "r-2"
MENU = {"soup": MenuItem("soup", R, "Borscht", 350, 450, True),
        "cake": MenuItem("cake", R, "Honey cake", 430, 300, False),
        "pasta": MenuItem("pasta", OTHER, "Pasta", 600, 900, True)}


def day(date: str, *meals: tuple[str, list[tuple[str, int]]]) -> dict:
    return {"date": date, "meals": [{"meal": m, "dishes": [{"dish_id": d, "quantity": q} for d, q in dishes]}
                                    for m, dishes in meals]}


def test_total_is_price_times_quantity_over_every_day_and_meal() -> None:
    days = [day("2026-12-01", ("lunch", [("soup", 2)])), day("2026-12-02", ("dinner", [("soup", 1)]))]
    priced, total, problems = price_days(days, MENU, R)
    assert (total, problems) == (3 * 450, [])
    assert priced[0]["meals"][0]["dishes"][0] == {"dish_id": "soup", "quantity": 2, "calories": 350, "price": 450,
                                                  "text": "Borscht"}


def test_every_problem_names_the_day_the_meal_and_the_dish() -> None:
    days = [day("2026-12-01", ("lunch", [("ghost", 1), ("cake", 1), ("pasta", 1)]), ("lunch", [("soup", 1)])),
            day("2026-12-01", ("dinner", [("soup", 1)]))]
    _, _, problems = price_days(days, MENU, R)
    assert "2026-12-01 lunch: dish ghost is not on any menu we know" in problems
    assert "2026-12-01 lunch: dish cake (Honey cake) is not available" in problems
    assert "2026-12-01 lunch: dish pasta (Pasta) belongs to another restaurant" in problems
    assert "2026-12-01: the meal 'lunch' appears twice" in problems
    assert "2026-12-01: the day appears twice" in problems


def test_natural_key_ignores_key_order_and_spacing_but_not_the_user_or_the_body() -> None:
    a = {"restaurant_id": R, "days": [day("2026-12-01", ("lunch", [("soup", 1)]))]}
    b = {"days": [day("2026-12-01", ("lunch", [("soup", 1)]))], "restaurant_id": R}
    assert canonical_hash("u1", a) == canonical_hash("u1", b)
    assert canonical_hash("u1", a) != canonical_hash("u2", a)
    assert canonical_hash("u1", a) != canonical_hash("u1", {**a, "restaurant_id": OTHER})
