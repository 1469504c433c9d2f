"""Automatic draft of a weekly meal plan for one user from one restaurant's menu, free of I/O.

`draft_week` returns ``{date: {meal: [dish_id, ...]}}``: every date given (duplicates collapse), every meal
given (in the given order, names as given), each meal 1..max_dishes_per_meal dish ids from the menu.

Method. Days are drafted one after another; the week shares only a count of how often each dish was
used on earlier days. For each day:

1. Greedy start: per meal (lunch and dinner first, so they get the non-drink/dessert dishes), the dish
   closest to the meal's target among dishes not used today that keep the first-dish rules below (failing
   that, any), each earlier use counting as the reuse penalty in kcal; then extra dishes while they bring
   the meal closer to its target. When the menu has enough dishes for the rules not to compete, a
   breakfast goes first instead, reaching further for a fresh dish (breakfast dishes are few), and the
   next meal's target is lowered by the kcal its first dish overshoots.
2. Local search (random, seeded). A move is one change (replace a dish, add one to a meal up to
   max_dishes_per_meal, drop an extra one), often followed by a second change aimed at putting the day
   total back on the goal; the two are judged together, which lets the search trade one big dish for two
   smaller ones, or a reused dish for a fresh one, when no single change can. Aimed candidates are drawn
   from the few unused dishes nearest to the calories that would hit the goal (a bisection on the menu
   sorted by calories); the rest are drawn at random. A move is kept when the cost does not get worse (so
   the search walks along plateaus) and undone otherwise; when the search stalls, a few random changes
   are kept whatever they cost, to leave a local minimum. The best plan seen is returned. A meal's first
   dish is replaced only by one that keeps the first-dish rules while the day is within the tolerance,
   by any (bar a drink/dessert for lunch/dinner) while it is outside.
3. Cost, compared lexicographically: first the kcal by which the day total falls outside
   ``tolerance(goal)`` (nothing else is ever traded against the promise), then
   ``|total - goal| + tolerance/2 per earlier use of each dish today + 0.1 * sum over meals of
   |meal total - meal target| + 4 * tolerance per meal whose first dish breaks a first-dish rule``.
4. A day stops once it is within a quarter of the tolerance with no dish from earlier days, or after a few
   hundred moves without improvement (1500 while still outside the tolerance), or after 4000 moves.

Meal targets: breakfast 25%, lunch 40%, dinner 35% of the goal (meal names compared case-insensitively);
any other meal name weighs an even share (1/number of meals); the weights are then normalised. Targets are
a tie-breaker only: the day total always comes first, then variety.

First-dish rules (meal names and dish kinds compared case-insensitively, kinds also stripped): a lunch or
dinner should not start with a dish of kind "drink"/"dessert"; and, only when the menu has dishes of kind
"breakfast", a meal named "breakfast" should start with one and a lunch or dinner should not (extra
dishes may be anything). Both are the same cost term, so the tolerance always comes first.

Guaranteed: the shape above; never the same dish twice in one day; a lunch or dinner (case-insensitive)
never starts with a dish of kind "drink"/"dessert" (case-insensitive, extra dishes may be anything) when
the menu has at least as many dishes of other kinds as there are lunches and dinners; the same output for
the same inputs and seed (``random.Random(seed)``); no exception when the goal cannot be reached (the
closest plan found is returned); the iterations, hence the time, are bounded per day; a menu without
dishes of kind "breakfast" is planned exactly as before the breakfast rule existed.

Not guaranteed: that a day lands within ``tolerance(goal)`` whenever some plan could. Exact feasibility
is a subset-sum problem with side constraints, so this is a heuristic: with a realistic menu (dozens of
dishes over a range of calories) it lands within the tolerance, usually within a quarter of it, but a
small or oddly spaced menu may leave a day outside the tolerance when a plan inside it exists. Also not
guaranteed: the fewest repeats over the week (days are drafted in order, not jointly; the week is varied
only as far as the tolerance allows) or the meal shares. Nor the breakfast rule: it gives way when the
day can only get within the tolerance without it (say, every breakfast dish is too big for the goal), and
it may (as the drink/dessert rule may, when the menu is short of other dishes) give way to variety when a
day's dishes would otherwise have been used more than 8 times in all on earlier days. With a realistic menu
(a few breakfast dishes among dozens) every breakfast starts with a breakfast dish and no lunch or dinner
does.

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
_BREAKFAST = "breakfast"  # a meal of this name should start with a dish of this kind, lunch and dinner should not

_SHARE_COST = 0.1  # per kcal of a meal off its target: small enough to only break ties between day totals
_MAX_ITERATIONS = 4000
_STALL_WITHIN = 400  # iterations without improvement before giving up on a day already within tolerance
_STALL_OUTSIDE = 1500  # ...and on a day still outside it (possibly unreachable)
_KICK_EVERY = 150  # iterations without improvement before shaking the plan...
_KICK_MOVES = 3  # ...with this many random changes, kept whatever they cost
_NEAREST = 4  # aimed candidates are drawn from this many dishes nearest to the ideal calories
_AIMED = 0.6  # share of first changes aimed at the goal; the rest are uniform, to leave a local minimum...
_REPAIR = 0.6  # ...and the share of moves that add a second change aimed at the goal, judged together
_LEAD_REUSE = 4  # the greedy start of a lead meal (see _Problem.lead) weighs the reuse penalty this many times


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
    targets: list[int]
    needs_main: list[bool]  # the meal's first dish should not be light, and the menu makes that possible
    first_bad: list[list[int]]  # per meal and dish: 1 if the dish breaks a first-dish rule as the meal's first
    first_pools: list[_Pool]  # where a meal's first dish is drawn from (never light for needs_main)...
    pref_pools: list[_Pool]  # ...and the part of it that breaks no first-dish rule, tried first
    lead: list[int]  # meals the greedy start serves first, the next meal absorbing their overshoot
    any_pool: _Pool
    max_per_meal: int
    reuse_cost: float
    kind_cost: float


def _meal_targets(meals: list[str], goal: int) -> list[int]:
    even = 1 / len(meals)
    weights = [_SHARE_WEIGHTS.get(m.lower(), even) for m in meals]
    total = sum(weights)
    # Whole kcal, so the running sums stay exact however many moves are made and undone.
    return [round(goal * w / total) for w in weights]


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
    kinds = [d.kind.strip().lower() for d in menu]
    light = [k in _LIGHT_KINDS for k in kinds]
    tol = tolerance(goal)
    everything = list(range(len(menu)))
    any_pool = _pool(everything, cals)
    mains = [i for i in everything if not light[i]]
    main_pool = _pool(mains, cals)
    needs_main = [bool(mains) and m.lower() in _MAIN_FIRST_MEALS for m in meal_names]
    first_pools = [main_pool if n else any_pool for n in needs_main]
    # Breakfast sense, only when the menu has breakfast dishes: a breakfast starts with one, lunch and dinner
    # with anything else; a penalty like a light lunch/dinner start, so it never costs the tolerance.
    breakfast = [k == _BREAKFAST for k in kinds]
    has_breakfast = any(breakfast)
    no_rule = [0] * len(menu)
    first_bad: list[list[int]] = []
    pref_pools: list[_Pool] = []
    breakfasts: list[int] = []
    for m, (name, n, pool) in enumerate(zip(meal_names, needs_main, first_pools, strict=True)):
        name = name.lower()
        if name in _MAIN_FIRST_MEALS:
            bad = [int((n and light[d]) or breakfast[d]) for d in everything]
        elif name == _BREAKFAST and has_breakfast:
            bad = [int(not b) for b in breakfast]
            breakfasts.append(m)
        else:
            bad = no_rule
        first_bad.append(bad)
        preferred = [d for d in pool.idx if not bad[d]]
        pref_pools.append(pool if len(preferred) in (0, len(pool.idx)) else _pool(preferred, cals))
    # Breakfast dishes are few, so a breakfast often misses its target; served first, its overshoot can be
    # taken off the next meal. Only when the preferred pools cannot run dry, so it takes nothing from
    # lunch and dinner (the breakfast and the lunch/dinner preferred dishes are then disjoint).
    enough = sum(breakfast) >= len(breakfasts) and all(
        len(pref_pools[m].idx) >= sum(needs_main) and not first_bad[m][pref_pools[m].idx[0]]
        for m, n in enumerate(needs_main)
        if n
    )
    problem = _Problem(
        cals=cals,
        light=light,
        goal=goal,
        tol=tol,
        targets=_meal_targets(meal_names, goal),
        needs_main=needs_main,
        first_bad=first_bad,
        first_pools=first_pools,
        pref_pools=pref_pools,
        lead=breakfasts if enough else [],
        any_pool=any_pool,
        max_per_meal=max_dishes_per_meal,
        reuse_cost=tol / 2,
        # Above anything the in-tolerance terms can gain, so a first dish breaking a rule stays only as a last
        # resort (for a breakfast rule: or when the day cannot get within the tolerance otherwise).
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


class _Day:
    """One day's plan and its running sums, changed in place; a move that does not pay is undone."""

    __slots__ = ("kind", "meal_totals", "p", "plan", "reuse", "share", "total", "used", "week_uses")

    def __init__(self, p: _Problem, week_uses: list[int]) -> None:
        self.p = p
        self.week_uses = week_uses
        self.plan: list[list[int]] = [[] for _ in p.targets]
        self.meal_totals = [0] * len(p.targets)
        self.total = 0
        self.share = sum(p.targets)
        self.reuse = 0
        self.kind = 0
        self.used: set[int] = set()

    def _bad(self, m: int) -> int:
        meal = self.plan[m]
        return self.p.first_bad[m][meal[0]] if meal else 0

    def _moved(self, m: int, delta: int) -> None:
        target, before = self.p.targets[m], self.meal_totals[m]
        self.share += abs(before + delta - target) - abs(before - target)
        self.meal_totals[m] = before + delta
        self.total += delta

    def insert(self, m: int, pos: int, d: int) -> None:
        if pos == 0:
            self.kind -= self._bad(m)
        self.plan[m].insert(pos, d)
        if pos == 0:
            self.kind += self._bad(m)
        self._moved(m, self.p.cals[d])
        self.reuse += self.week_uses[d]
        self.used.add(d)

    def remove(self, m: int, pos: int) -> int:
        if pos == 0:
            self.kind -= self._bad(m)
        d = self.plan[m].pop(pos)
        if pos == 0:
            self.kind += self._bad(m)
        self._moved(m, -self.p.cals[d])
        self.reuse -= self.week_uses[d]
        self.used.discard(d)
        return d

    def cost(self) -> tuple[int, float]:
        p = self.p
        dev = abs(self.total - p.goal)
        return max(0, dev - p.tol), dev + _SHARE_COST * self.share + p.reuse_cost * self.reuse + p.kind_cost * self.kind

    def done(self) -> bool:
        return abs(self.total - self.p.goal) * 4 <= self.p.tol and self.reuse == 0 and self.kind == 0


def _propose(day: _Day, pool: _Pool, ideal: float, aimed: bool, rng: random.Random) -> int | None:
    """A dish not on today's plan: one of the few nearest to `ideal` kcal, or any when not aimed."""
    idx, pool_cals, used = pool.idx, pool.cals, day.used
    n = len(idx)
    if not aimed:
        for _ in range(3):
            d = idx[rng.randrange(n)]
            if d not in used:
                return d
        return None
    # Skip dishes already on the plan rather than draw from a fixed window of positions: at the top of the
    # menu the window would keep offering the same few dishes, all used.
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


def _change(day: _Day, rng: random.Random, aimed: bool, undo: list[tuple[int, int, int]]) -> bool:
    """One random change (replace, add or drop a dish), recorded in `undo` as (meal, pos, removed or -1)."""
    p = day.p
    m = rng.randrange(len(p.targets))
    meal = day.plan[m]
    r = rng.random()
    if r < 0.5:
        pos = rng.randrange(len(meal))
        old = meal[pos]
        # A first dish: within the tolerance only one that keeps the first-dish rules can pay; outside it, any may.
        pool = p.any_pool if pos else p.pref_pools[m] if abs(day.total - p.goal) <= p.tol else p.first_pools[m]
        d = _propose(day, pool, p.cals[old] + p.goal - day.total, aimed, rng)
        if d is None:
            return False
        day.remove(m, pos)
        day.insert(m, pos, d)
        undo.extend(((m, pos, old), (m, pos, -1)))
    elif r < 0.75:
        if len(meal) >= p.max_per_meal:
            return False
        d = _propose(day, p.any_pool, max(p.goal - day.total, 0), aimed, rng)
        if d is None:
            return False
        day.insert(m, len(meal), d)
        undo.append((m, len(meal) - 1, -1))
    else:
        if len(meal) < 2:
            return False
        pos = rng.randrange(len(meal))
        if pos == 0 and p.needs_main[m] and p.light[meal[1]] and not p.light[meal[0]]:
            return False  # would make a lunch/dinner start with a drink or dessert
        undo.append((m, pos, day.remove(m, pos)))
    return True


def _undo(day: _Day, undo: list[tuple[int, int, int]]) -> None:
    for m, pos, removed in reversed(undo):
        if removed < 0:
            day.remove(m, pos)
        else:
            day.insert(m, pos, removed)


def _greedy(p: _Problem, week_uses: list[int]) -> _Day:
    day = _Day(p, week_uses)
    aims = list(p.targets)
    over = 0  # by how much the lead meals' first dishes overshoot their targets, for the next meal to absorb
    # A lead meal's miss is mostly absorbed, so it reaches further for a dish not used on earlier days.
    reuse_cost = [p.reuse_cost * (_LEAD_REUSE if m in p.lead else 1) for m in range(len(aims))]
    # First dishes before extras, so that no extra takes a dish another meal needs to start with; lunch and
    # dinner before other meals, so that a breakfast taking the last main cannot leave them a drink or dessert.
    rest = sorted((m for m in range(len(aims)) if m not in p.lead), key=lambda m: not p.needs_main[m])
    for m in p.lead + rest:
        if over and m not in p.lead:
            aims[m], over = max(aims[m] - over, 0), 0
        d = None
        # Preferred dishes first, then any the meal may start with, then (every one on today's plan) any kind.
        for pool in (p.pref_pools[m], p.first_pools[m], p.any_pool):
            d = _closest(pool, aims[m], day.used, week_uses, reuse_cost[m])
            if d is not None:
                break
        assert d is not None  # the menu has at least as many distinct dishes as there are meals
        day.insert(m, 0, d)
        if m in p.lead:
            over += max(p.cals[d] - aims[m], 0)  # an undershoot is left to the meal's extras
    for m, meal in enumerate(day.plan):
        while len(meal) < p.max_per_meal:
            gap = aims[m] - day.meal_totals[m]
            extra = _closest(p.any_pool, gap, day.used, week_uses, p.reuse_cost)
            if extra is None or gap <= 0 or abs(gap - p.cals[extra]) >= gap:
                break
            day.insert(m, len(meal), extra)
    return day


def _draft_day(p: _Problem, week_uses: list[int], rng: random.Random) -> list[list[int]]:
    day = _greedy(p, week_uses)
    cur = day.cost()
    best, best_plan = cur, [list(meal) for meal in day.plan]
    since_best = 0
    undo: list[tuple[int, int, int]] = []
    for _ in range(_MAX_ITERATIONS):
        if day.done():
            break
        since_best += 1
        if since_best > (_STALL_WITHIN if best[0] == 0 else _STALL_OUTSIDE):
            break
        undo.clear()
        if since_best >= _KICK_EVERY and since_best % _KICK_EVERY < _KICK_MOVES:
            if _change(day, rng, False, undo):
                cur = day.cost()
            continue
        if not _change(day, rng, rng.random() < _AIMED, undo):
            continue
        if rng.random() < _REPAIR:
            _change(day, rng, True, undo)
        new = day.cost()
        if new <= cur:
            cur = new
            if cur < best:
                best, best_plan, since_best = cur, [list(meal) for meal in day.plan], 0
        else:
            _undo(day, undo)
    return day.plan if cur <= best else best_plan
