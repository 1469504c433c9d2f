"""Automatic draft of a weekly meal plan for one user from one restaurant's menu, free of I/O.

`draft_week` returns ``{date: {meal: [dish_id, ...]}}``: every date given (duplicates collapse), every meal
given (in the given order, names as given), each meal 1..max_dishes_per_meal dish ids from the menu.

Method. Days are drafted one after another; the week shares only a count of how often each dish was
used on earlier days. For each day:

1. Greedy start: per meal, the dish closest to the meal's target (its share of the goal) among dishes not
   used today, a dish used on earlier days counting as farther away; a second dish is added while it brings
   the meal closer to its target.
2. Local search (random, seeded): replace a dish, add a dish to a meal (up to max_dishes_per_meal) or drop
   an extra one. Replacements and additions are mostly aimed: the candidate is drawn from the few dishes
   whose calories are nearest to what would put the day total on the goal; some are drawn at random. A move
   is kept when the cost does not get worse, so the search can walk along plateaus; when it stalls, a few
   random replacements shake it out of a local minimum, and the best plan seen is the one returned.
3. Cost, compared lexicographically: first the kcal by which the day total falls outside
   ``tolerance(goal)`` (so nothing else is ever traded against the promise), then
   ``|total - goal| + reuse penalty (tolerance/2 per earlier use of each dish) + 0.1 * sum over meals of
   |meal total - meal target| + a penalty for a lunch/dinner whose first dish is a drink/dessert``.
4. A day stops early once it is within a quarter of the tolerance with no dish reused from earlier days,
   or when the search has stopped improving for a while, or after a fixed number of iterations.

Meal targets: breakfast 25%, lunch 40%, dinner 35% of the goal (meal names compared case-insensitively);
any other meal name weighs an even share (1/number of meals); the weights are then normalised. Targets are
a tie-breaker only: the day total always comes first.

Guaranteed: the shape above; never the same dish twice in one day; the first dish of a lunch or dinner is
not of kind "drink"/"dessert" (case-insensitive) whenever the menu has another kind of dish not yet used
that day; the same output for the same inputs and seed (``random.Random(seed)``); no exception when the
goal cannot be reached (the closest plan found is returned).

Not guaranteed: that a day lands within ``tolerance(goal)`` whenever some plan could. Exact feasibility
is a subset-sum problem with side constraints, so this is a heuristic: with a realistic menu (dozens of
dishes over a range of calories) it lands within the tolerance, usually within a quarter of it, but a
small or oddly spaced menu may leave a day outside the tolerance when a plan inside it exists. Also not
guaranteed: the fewest repeats over the week (days are drafted in order, not jointly) or the meal shares.

Errors (ValueError): empty menu, goal <= 0, no meals, duplicate meal names, max_dishes_per_meal < 1,
negative calories, fewer distinct dishes than meals (each meal needs its own dish on a day).
Dishes with the same id count once (the first one wins).
"""

from __future__ import annotations

import bisect
import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

_SHARE_WEIGHTS = {"breakfast": 0.25, "lunch": 0.40, "dinner": 0.35}
_MAIN_FIRST_MEALS = frozenset({"lunch", "dinner"})
_LIGHT_KINDS = frozenset({"drink", "dessert"})

_SHARE_COST = 0.1  # per kcal of a meal off its target: small enough to only break ties between day totals
_MAX_ITERATIONS = 4000
_STALL_WITHIN = 400  # iterations without improvement before giving up on a day already within tolerance
_STALL_OUTSIDE = 1500  # ...and on a day still outside it (possibly unreachable)
_KICK_EVERY = 150  # iterations without improvement before shaking the plan...
_KICK_MOVES = 3  # ...with this many random replacements, kept whatever they cost
_NEAREST = 4  # aimed candidates are drawn from this many dishes nearest to the ideal calories
_AIMED = 0.8  # share of proposals aimed at the goal; the rest are uniform, to escape narrow neighbourhoods


@dataclass(frozen=True)
class MenuDish:
    id: str
    text: str
    calories: int
    kind: str  # free string: "soup", "main", "salad", "dessert", "drink", "breakfast", "side", ... anything


def tolerance(goal: int) -> int:
    """The promised closeness of each day's total to the goal, in kcal: max(5% of goal, 50)."""
    # Floor, so the promise is never looser than 5%.
    return max(goal * 5 // 100, 50)


@dataclass(frozen=True)
class _Pool:
    """Dish indices sorted by calories, for nearest-calorie lookups by bisection."""

    idx: list[int]
    cals: list[int]


def _pool(indices: list[int], cals: list[int]) -> _Pool:
    ordered = sorted(indices, key=lambda d: (cals[d], d))
    return _Pool(ordered, [cals[d] for d in ordered])


@dataclass(frozen=True)
class _Problem:
    cals: list[int]
    light: list[bool]
    goal: int
    tol: int
    targets: list[float]
    needs_main: list[bool]  # the meal's first dish should not be light, and the menu makes that possible
    first_pools: list[_Pool]
    any_pool: _Pool
    max_per_meal: int
    reuse_cost: float
    kind_cost: float


def _meal_targets(meals: list[str], goal: int) -> list[float]:
    even = 1 / len(meals)
    weights = [_SHARE_WEIGHTS.get(m.lower(), even) for m in meals]
    total = sum(weights)
    return [goal * w / total for w in weights]


def draft_week(
    *,
    dishes: Sequence[MenuDish],
    goal: int,
    dates: Sequence[datetime.date],
    meals: Sequence[str] = ("breakfast", "lunch", "dinner"),
    seed: int = 0,
    max_dishes_per_meal: int = 2,
) -> dict[datetime.date, dict[str, list[str]]]:
    """date -> meal -> list of dish ids (1..max_dishes_per_meal per meal)."""
    if not dishes:
        raise ValueError("dishes is empty: a plan needs at least one dish on the menu")
    if goal <= 0:
        raise ValueError(f"goal must be a positive number of kcal, got {goal}")
    meal_names = list(meals)
    if not meal_names:
        raise ValueError("meals is empty: a plan needs at least one meal per day")
    if len(set(meal_names)) != len(meal_names):
        raise ValueError(f"meals has duplicate names: {meal_names}")
    if max_dishes_per_meal < 1:
        raise ValueError(f"max_dishes_per_meal must be at least 1, got {max_dishes_per_meal}")
    by_id: dict[str, MenuDish] = {}
    for dish in dishes:
        by_id.setdefault(dish.id, dish)
    menu = list(by_id.values())
    if any(d.calories < 0 for d in menu):
        raise ValueError("dish calories must not be negative")
    if len(menu) < len(meal_names):
        raise ValueError(
            f"the menu has {len(menu)} distinct dishes for {len(meal_names)} meals: each meal needs its own dish"
        )

    cals = [d.calories for d in menu]
    light = [d.kind.strip().lower() in _LIGHT_KINDS for d in menu]
    tol = tolerance(goal)
    any_pool = _pool(list(range(len(menu))), cals)
    mains = [i for i in range(len(menu)) if not light[i]]
    main_pool = _pool(mains, cals)
    needs_main = [bool(mains) and m.lower() in _MAIN_FIRST_MEALS for m in meal_names]
    problem = _Problem(
        cals=cals,
        light=light,
        goal=goal,
        tol=tol,
        targets=_meal_targets(meal_names, goal),
        needs_main=needs_main,
        first_pools=[main_pool if n else any_pool for n in needs_main],
        any_pool=any_pool,
        max_per_meal=max_dishes_per_meal,
        reuse_cost=tol / 2,
        # Above anything the in-tolerance terms can gain, so a light first dish stays only as a last resort.
        kind_cost=4.0 * tol,
    )

    rng = random.Random(seed)
    week_uses = [0] * len(menu)
    plan: dict[datetime.date, dict[str, list[str]]] = {}
    for day in dict.fromkeys(dates):
        chosen = _draft_day(problem, week_uses, rng)
        for meal_dishes in chosen:
            for d in meal_dishes:
                week_uses[d] += 1
        plan[day] = {name: [menu[d].id for d in ds] for name, ds in zip(meal_names, chosen, strict=True)}
    return plan


def _closest(pool: _Pool, target: float, used: set[int], week_uses: list[int], reuse_cost: float) -> int | None:
    """The dish minimising |calories - target| + reuse cost, scanning outwards from the target."""
    best, best_score = None, float("inf")
    i = bisect.bisect_left(pool.cals, target)
    lo, hi = i - 1, i
    n = len(pool.idx)
    while lo >= 0 or hi < n:
        # Pick the nearer side first; stop once even a reuse-free dish there cannot beat the best.
        if hi >= n or (lo >= 0 and target - pool.cals[lo] <= pool.cals[hi] - target):
            j, lo = lo, lo - 1
        else:
            j, hi = hi, hi + 1
        distance = abs(pool.cals[j] - target)
        if distance >= best_score:
            break
        d = pool.idx[j]
        if d in used:
            continue
        score = distance + reuse_cost * week_uses[d]
        if score < best_score:
            best, best_score = d, score
    return best


def _draft_day(p: _Problem, week_uses: list[int], rng: random.Random) -> list[list[int]]:
    cals, light, goal, tol, targets = p.cals, p.light, p.goal, p.tol, p.targets
    n_meals = len(targets)

    # Greedy start.
    plan: list[list[int]] = []
    used: set[int] = set()
    for m in range(n_meals):
        d = _closest(p.first_pools[m], targets[m], used, week_uses, p.reuse_cost)
        if d is None:  # every preferred dish is already on today's plan: fall back to any kind
            d = _closest(p.any_pool, targets[m], used, week_uses, p.reuse_cost)
        assert d is not None  # the menu has at least as many distinct dishes as there are meals
        meal, meal_total = [d], cals[d]
        used.add(d)
        # An extra dish must leave every later meal a dish of its own.
        while len(meal) < p.max_per_meal and meal_total < targets[m] and len(used) + n_meals - m <= len(cals):
            extra = _closest(p.any_pool, targets[m] - meal_total, used, week_uses, p.reuse_cost)
            if extra is None or abs(meal_total + cals[extra] - targets[m]) >= targets[m] - meal_total:
                break
            meal.append(extra)
            used.add(extra)
            meal_total += cals[extra]
        plan.append(meal)

    meal_totals = [sum(cals[d] for d in meal) for meal in plan]
    total = sum(meal_totals)
    share = sum(abs(meal_totals[m] - targets[m]) for m in range(n_meals))
    reuse = sum(week_uses[d] for meal in plan for d in meal)

    def bad(m: int, d: int) -> int:
        return 1 if p.needs_main[m] and light[d] else 0

    kind = sum(bad(m, plan[m][0]) for m in range(n_meals))

    def costs(total: int, share: float, reuse: int, kind: int) -> tuple[int, float]:
        dev = abs(total - goal)
        return max(0, dev - tol), dev + _SHARE_COST * share + p.reuse_cost * reuse + p.kind_cost * kind

    def done(total: int, reuse: int, kind: int) -> bool:
        return abs(total - goal) * 4 <= tol and reuse == 0 and kind == 0

    def propose(pool: _Pool, ideal: float, aimed: bool) -> int | None:
        idx, pool_cals = pool.idx, pool.cals
        n = len(idx)
        if not aimed:
            for _ in range(3):
                d = idx[rng.randrange(n)]
                if d not in used:
                    return d
            return None
        # The nearest dishes not on today's plan: a fixed window of positions would keep proposing dishes
        # already used when the ideal sits among them (at the top of the menu, typically).
        near: list[int] = []
        i = bisect.bisect_left(pool_cals, ideal)
        lo, hi = i - 1, i
        while len(near) < _NEAREST and (lo >= 0 or hi < n):
            if hi >= n or (lo >= 0 and ideal - pool_cals[lo] <= pool_cals[hi] - ideal):
                j, lo = lo, lo - 1
            else:
                j, hi = hi, hi + 1
            if idx[j] not in used:
                near.append(idx[j])
        return near[rng.randrange(len(near))] if near else None

    cur = costs(total, share, reuse, kind)
    best, best_plan = cur, [list(meal) for meal in plan]
    since_best = 0
    for _ in range(_MAX_ITERATIONS):
        if done(total, reuse, kind):
            break
        since_best += 1
        if since_best > (_STALL_WITHIN if best[0] == 0 else _STALL_OUTSIDE):
            break
        kick = since_best >= _KICK_EVERY and since_best % _KICK_EVERY < _KICK_MOVES
        m = rng.randrange(n_meals)
        meal = plan[m]
        target_m = targets[m]
        old_share_m = abs(meal_totals[m] - target_m)
        r = rng.random()
        if kick or r < 0.6:
            # Replace the dish at position pos with d.
            pos = rng.randrange(len(meal))
            old = meal[pos]
            pool = p.first_pools[m] if pos == 0 else p.any_pool
            d = propose(pool, cals[old] + goal - total, not kick and rng.random() < _AIMED)
            if d is None:
                continue
            delta = cals[d] - cals[old]
            new_mt = meal_totals[m] + delta
            new_total = total + delta
            new_share = share - old_share_m + abs(new_mt - target_m)
            new_reuse = reuse - week_uses[old] + week_uses[d]
            new_kind = kind - bad(m, old) + bad(m, d) if pos == 0 else kind
            new = costs(new_total, new_share, new_reuse, new_kind)
            if kick or new <= cur:
                used.discard(old)
                used.add(d)
                meal[pos] = d
        elif r < 0.8:
            if len(meal) >= p.max_per_meal:
                continue
            d = propose(p.any_pool, max(goal - total, 0), rng.random() < _AIMED)
            if d is None:
                continue
            new_mt = meal_totals[m] + cals[d]
            new_total = total + cals[d]
            new_share = share - old_share_m + abs(new_mt - target_m)
            new_reuse = reuse + week_uses[d]
            new_kind = kind
            new = costs(new_total, new_share, new_reuse, new_kind)
            if new <= cur:
                used.add(d)
                meal.append(d)
        else:
            if len(meal) < 2:
                continue
            pos = rng.randrange(len(meal))
            old = meal[pos]
            new_kind = kind
            if pos == 0:
                # The second dish becomes the first: it must not make a lunch/dinner start with a drink/dessert.
                if bad(m, meal[1]) > bad(m, old):
                    continue
                new_kind = kind - bad(m, old) + bad(m, meal[1])
            new_mt = meal_totals[m] - cals[old]
            new_total = total - cals[old]
            new_share = share - old_share_m + abs(new_mt - target_m)
            new_reuse = reuse - week_uses[old]
            new = costs(new_total, new_share, new_reuse, new_kind)
            if new <= cur:
                used.discard(old)
                del meal[pos]
        if not (kick or new <= cur):
            continue
        meal_totals[m], total, share, reuse, kind, cur = new_mt, new_total, new_share, new_reuse, new_kind, new
        if cur < best:
            best, best_plan, since_best = cur, [list(x) for x in plan], 0
    if cur <= best:
        return plan
    return best_plan
