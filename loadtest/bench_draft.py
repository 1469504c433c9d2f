"""Benchmark: time to draft a week (`apis.recommendations.draft.draft_week`), in-process, no stack needed.

For a generated 200-dish menu and goals 1500/2000/2500/3200 kcal, calls draft_week for 7 dates with a
different seed each run, and prints per goal the median and max time per call (time.perf_counter) and the
worst |day total - goal| seen against tolerance(goal). A benchmark, not a test: it asserts nothing.

    python -m loadtest.bench_draft [--runs 20] [--dishes 200]
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import time

from apis.recommendations.draft import MenuDish, draft_week, tolerance

# kind -> (calorie range, weight in the menu); overall 30..950 kcal, like a broad restaurant menu.
KINDS: dict[str, tuple[tuple[int, int], int]] = {
    "soup": ((80, 400), 3),
    "main": ((350, 950), 6),
    "salad": ((120, 600), 3),
    "side": ((80, 450), 3),
    "dessert": ((150, 700), 3),
    "drink": ((30, 350), 3),
    "breakfast": ((200, 750), 3),
}
GOALS = (1500, 2000, 2500, 3200)
WEEK = [datetime.date(2026, 11, 23) + datetime.timedelta(days=i) for i in range(7)]


def make_menu(n: int = 200, seed: int = 1) -> list[MenuDish]:
    """A realistic menu: kinds weighted towards mains, calories spread within each kind's range."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    weights = [KINDS[k][1] for k in kinds]
    menu = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        low, high = KINDS[kind][0]
        menu.append(MenuDish(id=f"d{i:03d}", text=f"{kind} no. {i}", calories=rng.randint(low, high), kind=kind))
    return menu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20, help="draft_week calls per goal")
    parser.add_argument("--dishes", type=int, default=200)
    args = parser.parse_args()

    menu = make_menu(args.dishes)
    print(f"draft_week: {len(menu)}-dish menu, {len(WEEK)} days, breakfast/lunch/dinner, {args.runs} runs per goal")
    for goal in GOALS:
        times: list[float] = []
        worst = 0
        for seed in range(args.runs):
            started = time.perf_counter()
            plan = draft_week(dishes=menu, goal=goal, dates=WEEK, seed=seed)
            times.append(time.perf_counter() - started)
            cal = {d.id: d.calories for d in menu}
            for meals in plan.values():
                worst = max(worst, abs(sum(cal[i] for ids in meals.values() for i in ids) - goal))
        print(
            f"goal {goal:>5}: median {statistics.median(times) * 1000:7.2f} ms  max {max(times) * 1000:7.2f} ms"
            f"  worst |day - goal| {worst:>4} kcal (tolerance {tolerance(goal)})"
        )


if __name__ == "__main__":
    main()
