"""restaurants' pure rules: who edits a menu, menu sections by kind, portions and capacity."""

from __future__ import annotations

from types import SimpleNamespace

from apis.restaurants.domain import first_full_day, group_by_kind, may_edit_menu, portions_per_day
from chassis.security import Principal


def test_only_admins_and_that_restaurants_staff_edit_its_menu() -> None:
    assert may_edit_menu(Principal("a", frozenset({"admin"})), "r1")
    assert may_edit_menu(Principal("s", frozenset({"restaurant"}), restaurant_id="r1"), "r1")
    assert not may_edit_menu(Principal("s", frozenset({"restaurant"}), restaurant_id="r2"), "r1")
    assert not may_edit_menu(Principal("m", frozenset({"manager"})), "r1")
    assert not may_edit_menu(Principal("u", frozenset({"user"})), "r1")


def test_menu_sections_by_kind_normalised_and_sorted() -> None:
    dish = lambda text, kind: SimpleNamespace(text=text, kind=kind)  # noqa: E731
    sections = group_by_kind([dish("Pelmeni", "Main"), dish("Borscht", " soup"), dish("Kiev", "main ")])
    assert [(s["kind"], [d.text for d in s["dishes"]]) for s in sections] == [
        ("main", ["Kiev", "Pelmeni"]), ("soup", ["Borscht"])]


def test_portions_sum_over_meals_and_the_first_full_day_is_named() -> None:
    days = [{"date": "2026-12-02", "meals": [{"dishes": [{"quantity": 2}, {"quantity": 1}]},
                                              {"dishes": [{"quantity": 1}]}]},
            {"date": "2026-12-01", "meals": [{"dishes": [{"quantity": 5}]}]}]
    needed = portions_per_day(days)
    assert needed == {"2026-12-02": 4, "2026-12-01": 5}
    assert first_full_day(needed, {"2026-12-01": 5}, capacity=10) is None
    assert first_full_day(needed, {"2026-12-01": 6, "2026-12-02": 7}, capacity=10) == "2026-12-01"
    assert first_full_day(needed, {"2026-12-02": 7}, capacity=10) == "2026-12-02"
