"""The weekly draft: every day near the goal, no dish twice a day, varied over the week, sensible meals."""

from __future__ import annotations

import dataclasses
import datetime
import random

import pytest

from apis.recommendations.draft import MenuDish, draft_week, tolerance
from loadtest.bench_draft import make_menu

WEEK = [datetime.date(2026, 11, 23) + datetime.timedelta(days=i) for i in range(7)]
MEALS = ("breakfast", "lunch", "dinner")
LIGHT = {"drink", "dessert"}

BIG = make_menu(200, seed=1)
SMALL = [
    MenuDish("oats", "Porridge with berries", 350, "breakfast"),
    MenuDish("omelette", "Cheese omelette", 420, "Breakfast"),
    MenuDish("tomato", "Tomato soup", 180, "soup"),
    MenuDish("lentil", "Lentil soup", 260, "soup"),
    MenuDish("caesar", "Caesar salad", 380, "salad"),
    MenuDish("greek", "Greek salad", 310, "salad"),
    MenuDish("chicken", "Roast chicken", 650, "main"),
    MenuDish("stew", "Beef stew", 780, "Main"),
    MenuDish("curry", "Vegetable curry", 540, "main"),
    MenuDish("fries", "Fries", 360, "side"),
    MenuDish("cheesecake", "Cheesecake", 450, "Dessert"),
    MenuDish("latte", "Latte", 190, "DRINK"),
]


def heavy_menu() -> list[MenuDish]:
    rng = random.Random(7)
    kinds = ("main", "salad", "soup", "dessert", "drink")
    return [MenuDish(f"h{i}", f"heavy {i}", rng.randint(600, 1100), kinds[i % len(kinds)]) for i in range(40)]


HEAVY = heavy_menu()
# A small menu with three breakfast dishes (kinds spelt loosely), and menus without any.
BREAKFASTS = [*SMALL, MenuDish("granola", "Granola with yoghurt", 300, " breakfast ")]
MEDIUM = make_menu(40, seed=2)
NO_BREAKFAST_BIG = [dataclasses.replace(d, kind="main") if d.kind == "breakfast" else d for d in BIG]
NO_BREAKFAST_SMALL = [dataclasses.replace(d, kind="main") if d.kind.lower() == "breakfast" else d for d in SMALL]


def is_breakfast(dish: MenuDish) -> bool:
    return dish.kind.strip().lower() == "breakfast"


def day_total(menu: list[MenuDish], meals: dict[str, list[str]]) -> int:
    cal = {d.id: d.calories for d in menu}
    return sum(cal[i] for ids in meals.values() for i in ids)


def check_shape(menu: list[MenuDish], plan: dict, meals: tuple[str, ...], max_per_meal: int = 2) -> None:
    ids = {d.id for d in menu}
    assert list(plan) == WEEK
    for day in plan.values():
        assert list(day) == list(meals)
        used = [i for dish_ids in day.values() for i in dish_ids]
        assert len(used) == len(set(used)), f"a dish repeated within a day: {day}"
        assert set(used) <= ids
        assert all(1 <= len(dish_ids) <= max_per_meal for dish_ids in day.values())


CASES = [
    *[("big", BIG, goal, MEALS) for goal in (1500, 2000, 2500, 3200)],
    *[("small", SMALL, goal, MEALS) for goal in (1500, 2000, 2500)],
    # Three dishes of >= 600 kcal cannot make 1500: two meals can.
    ("heavy", HEAVY, 1500, ("lunch", "dinner")),
    *[("heavy", HEAVY, goal, MEALS) for goal in (2000, 2500, 3200)],
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("name", "menu", "goal", "meals"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_every_day_is_within_tolerance_and_well_formed(name, menu, goal, meals, seed) -> None:
    plan = draft_week(dishes=menu, goal=goal, dates=WEEK, meals=meals, seed=seed)
    check_shape(menu, plan, meals)
    for date, day in plan.items():
        assert abs(day_total(menu, day) - goal) <= tolerance(goal), f"{date}: {day}"


@pytest.mark.parametrize("goal", [1500, 2000, 2500, 3200])
def test_a_large_menu_spreads_over_the_week(goal) -> None:
    plan = draft_week(dishes=BIG, goal=goal, dates=WEEK)
    used = [i for day in plan.values() for ids in day.values() for i in ids]
    assert len(set(used)) >= 0.9 * len(used)


def test_a_small_menu_repeats_across_days_but_spreads_the_repeats() -> None:
    plan = draft_week(dishes=SMALL, goal=2000, dates=WEEK)
    used = [i for day in plan.values() for ids in day.values() for i in ids]
    counts = {i: used.count(i) for i in set(used)}
    assert len(counts) >= 10 and max(counts.values()) <= 5


@pytest.mark.parametrize(("menu", "goal"), [(BIG, 1500), (BIG, 3200), (SMALL, 2000), (HEAVY, 2500)])
def test_lunch_and_dinner_start_with_neither_a_drink_nor_a_dessert(menu, goal) -> None:
    kind = {d.id: d.kind.lower() for d in menu}
    for seed in range(3):
        plan = draft_week(dishes=menu, goal=goal, dates=WEEK, seed=seed)
        for day in plan.values():
            assert kind[day["lunch"][0]] not in LIGHT and kind[day["dinner"][0]] not in LIGHT, day


def test_two_mains_are_kept_for_lunch_and_dinner_even_when_breakfast_would_fit_one() -> None:
    menu = [MenuDish("pancakes", "Pancakes", 500, "main"), MenuDish("steak", "Steak", 700, "main"),
            *[MenuDish(f"s{i}", "shake", 150 + 40 * i, "drink" if i % 2 else "dessert") for i in range(12)]]
    for seed in range(5):
        plan = draft_week(dishes=menu, goal=2000, dates=WEEK, seed=seed)
        check_shape(menu, plan, MEALS)
        for day in plan.values():
            assert {day["lunch"][0], day["dinner"][0]} == {"pancakes", "steak"}
            assert abs(day_total(menu, day) - 2000) <= tolerance(2000)


def test_meal_names_are_matched_case_insensitively_for_the_first_dish_rule() -> None:
    menu = [MenuDish("cola", "Cola", 900, "drink"), MenuDish("cake", "Cake", 900, "dessert"),
            MenuDish("steak", "Steak", 300, "main"), MenuDish("tea", "Tea", 5, "drink")]
    plan = draft_week(dishes=menu, goal=2100, dates=WEEK[:1], meals=["Breakfast", "LUNCH"])
    assert plan[WEEK[0]]["LUNCH"][0] == "steak"


def test_a_menu_of_only_drinks_and_desserts_still_gets_a_plan() -> None:
    menu = [MenuDish(f"x{i}", "shake", 300 + 50 * i, "drink" if i % 2 else "dessert") for i in range(10)]
    plan = draft_week(dishes=menu, goal=1500, dates=WEEK)
    check_shape(menu, plan, MEALS)
    assert all(abs(day_total(menu, day) - 1500) <= tolerance(1500) for day in plan.values())


def test_other_meal_names_and_more_dishes_per_meal() -> None:
    meals = ("breakfast", "lunch", "snack", "dinner")
    plan = draft_week(dishes=BIG, goal=3200, dates=WEEK, meals=meals, max_dishes_per_meal=3, seed=5)
    check_shape(BIG, plan, meals, max_per_meal=3)
    assert all(abs(day_total(BIG, day) - 3200) <= tolerance(3200) for day in plan.values())


def test_one_dish_per_meal() -> None:
    plan = draft_week(dishes=BIG, goal=2000, dates=WEEK, max_dishes_per_meal=1)
    check_shape(BIG, plan, MEALS, max_per_meal=1)
    assert all(abs(day_total(BIG, day) - 2000) <= tolerance(2000) for day in plan.values())


def test_an_unreachable_goal_returns_the_closest_plan() -> None:
    menu = [MenuDish(f"t{i}", "tiny", 50, "side") for i in range(3)]
    plan = draft_week(dishes=menu, goal=3000, dates=WEEK)
    check_shape(menu, plan, MEALS)
    assert all(day_total(menu, day) == 150 for day in plan.values())  # each dish once a day is the most


def test_a_goal_below_the_lightest_day_returns_the_lightest_day() -> None:
    plan = draft_week(dishes=HEAVY, goal=1500, dates=WEEK)
    lightest = sum(sorted(d.calories for d in HEAVY)[:3])
    assert all(day_total(HEAVY, day) == lightest for day in plan.values())


def test_the_same_seed_gives_the_same_plan() -> None:
    for menu in (BIG, SMALL, HEAVY):
        assert draft_week(dishes=menu, goal=2500, dates=WEEK, seed=3) == draft_week(
            dishes=list(menu), goal=2500, dates=list(WEEK), seed=3
        )


def test_duplicate_dates_and_dish_ids_collapse() -> None:
    menu = [*SMALL, MenuDish("stew", "Other stew", 5000, "main")]
    plan = draft_week(dishes=menu, goal=2000, dates=[WEEK[0], WEEK[0], WEEK[1]])
    assert list(plan) == WEEK[:2]
    assert all(abs(day_total(SMALL, day) - 2000) <= tolerance(2000) for day in plan.values())


def test_tolerance_is_five_percent_but_at_least_fifty() -> None:
    assert [tolerance(g) for g in (500, 1000, 1500, 2000, 3200)] == [50, 50, 75, 100, 160]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dishes": []}, "dishes is empty"),
        ({"goal": 0}, "goal must be a positive"),
        ({"goal": -100}, "goal must be a positive"),
        ({"meals": []}, "meals is empty"),
        ({"meals": ["lunch", "lunch"]}, "duplicate"),
        ({"max_dishes_per_meal": 0}, "max_dishes_per_meal"),
        ({"dishes": SMALL[:2]}, "distinct dishes"),
        ({"dishes": [*SMALL, MenuDish("bad", "bad", -5, "main")]}, "negative"),
    ],
)
def test_invalid_input_is_a_value_error(kwargs, message) -> None:
    args = {"dishes": SMALL, "goal": 2000, "dates": WEEK, **kwargs}
    with pytest.raises(ValueError, match=message):
        draft_week(**args)


BREAKFAST_CASES = [
    *[("big", BIG, goal) for goal in (1500, 2000, 2500, 3200)],
    *[("medium", MEDIUM, goal) for goal in (1500, 2000, 2500, 3200)],
    *[("small", BREAKFASTS, goal) for goal in (1500, 2000, 2500)],
]


@pytest.mark.parametrize(("name", "menu", "goal"), BREAKFAST_CASES, ids=[f"{c[0]}-{c[2]}" for c in BREAKFAST_CASES])
def test_breakfast_starts_with_a_breakfast_dish_and_lunch_and_dinner_do_not(name, menu, goal) -> None:
    assert sum(map(is_breakfast, menu)) >= 3
    breakfast = {d.id for d in menu if is_breakfast(d)}
    kind = {d.id: d.kind.lower() for d in menu}
    for seed in range(3):
        plan = draft_week(dishes=menu, goal=goal, dates=WEEK, seed=seed)
        check_shape(menu, plan, MEALS)
        for date, day in plan.items():
            assert abs(day_total(menu, day) - goal) <= tolerance(goal), f"{date}: {day}"
            assert day["breakfast"][0] in breakfast, day
            assert day["lunch"][0] not in breakfast and day["dinner"][0] not in breakfast, day
            assert kind[day["lunch"][0]] not in LIGHT and kind[day["dinner"][0]] not in LIGHT, day


def test_the_breakfast_rule_matches_meal_names_case_insensitively() -> None:
    meals = ("BREAKFAST", "Lunch", "dinner")
    plan = draft_week(dishes=BREAKFASTS, goal=2000, dates=WEEK, meals=meals)
    check_shape(BREAKFASTS, plan, meals)
    breakfast = {d.id for d in BREAKFASTS if is_breakfast(d)}
    for day in plan.values():
        assert day["BREAKFAST"][0] in breakfast and not {day["Lunch"][0], day["dinner"][0]} & breakfast, day


@pytest.mark.parametrize(("menu", "goals"), [(NO_BREAKFAST_BIG, (1500, 2000, 2500, 3200)),
                                             (NO_BREAKFAST_SMALL, (1500, 2000, 2500))])
def test_a_menu_without_breakfast_dishes_still_gets_valid_plans(menu, goals) -> None:
    assert not any(map(is_breakfast, menu))
    kind = {d.id: d.kind.lower() for d in menu}
    for goal in goals:
        for seed in range(3):
            plan = draft_week(dishes=menu, goal=goal, dates=WEEK, seed=seed)
            check_shape(menu, plan, MEALS)
            for date, day in plan.items():
                assert abs(day_total(menu, day) - goal) <= tolerance(goal), f"{date}: {day}"
                assert kind[day["lunch"][0]] not in LIGHT and kind[day["dinner"][0]] not in LIGHT, day


def test_the_breakfast_rule_gives_way_to_the_tolerance() -> None:
    # Any breakfast dish with two mains is over 1500 kcal: only a plan without one gets near 1100.
    menu = [*[MenuDish(f"b{i}", "Full breakfast", 900 + 50 * i, "breakfast") for i in range(3)],
            *[MenuDish(f"m{i}", "Main", 300 + 10 * i, "main") for i in range(10)]]
    for seed in range(3):
        plan = draft_week(dishes=menu, goal=1100, dates=WEEK, seed=seed)
        check_shape(menu, plan, MEALS)
        assert all(abs(day_total(menu, day) - 1100) <= tolerance(1100) for day in plan.values())


def test_lunch_and_dinner_start_with_a_breakfast_dish_rather_than_a_drink() -> None:
    menu = [*[MenuDish(f"b{i}", "Pancakes", 400 + 50 * i, "breakfast") for i in range(4)],
            *[MenuDish(f"d{i}", "Smoothie", 100 + 40 * i, "drink") for i in range(6)]]
    for meals in (("lunch", "dinner"), MEALS):
        plan = draft_week(dishes=menu, goal=1500, dates=WEEK, meals=meals)
        check_shape(menu, plan, meals)
        for day in plan.values():
            assert day["lunch"][0].startswith("b") and day["dinner"][0].startswith("b"), day
            assert abs(day_total(menu, day) - 1500) <= tolerance(1500)
