"""SPEC §8's invariants, read from the services' databases and the dead-letter topics, for
`loadtest.chaos`. Read-only.

The tests (`tests/e2e/test_saga_chaos.py`, `tests/e2e/saga_support.py`) check the same invariants
for the orders a test placed itself, one order at a time; here the load never stops, so every
check is over sets and only over what has *settled*: rows of this run (created since `since`)
whose last change is older than `settle` seconds. Something still moving is not a violation; what
stays wrong after the stack recovered is. The definitions are the tests' own: an order holds
portions and courier slots while AWAITING_PAYMENT, ACTIVE or COMPLETED, a reservation or booking
holds while `pending` or `confirmed`, money moves as deposits - charges + refunds, and a violating
order is confirmed with `saga_support.held_portions`/`held_slots` before it is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from chassis import local

HOLDING = ("AWAITING_PAYMENT", "ACTIVE", "COMPLETED")
# The notification an order's current status must have produced (apis/notifications/domain.py).
STATUS_NOTICE = {"AWAITING_PAYMENT": "order_awaiting_payment", "ACTIVE": "order_activated",
                 "REJECTED": "order_rejected", "CANCELLED": "order_cancelled", "EXPIRED": "order_expired",
                 "COMPLETED": "order_completed"}


@dataclass(frozen=True)
class Check:
    """One invariant's verdict: `detail` says what was looked at, or what is wrong."""

    name: str
    ok: bool
    detail: str


def _connect(database: str) -> psycopg.Connection[Any]:
    url = local.database_url(database).replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, connect_timeout=5, autocommit=True)


def _rows(database: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with _connect(database) as conn:
        return conn.execute(sql, params or {}).fetchall()


def _sample(ids: list[str], n: int = 3) -> str:
    return ", ".join(i[:8] for i in ids[:n]) + (" …" if len(ids) > n else "")


# ----------------------------------------------------------------------------------- orders

def settled_orders(since: datetime, settle: float) -> dict[str, tuple[str, int, int]]:
    """{order id: (status, portions, days)} of this run's orders not changed in `settle` seconds."""
    rows = _rows("orders", """
        SELECT o.id::text, o.status,
               (SELECT COALESCE(SUM((dish->>'quantity')::int), 0)
                  FROM jsonb_array_elements(o.days) day, jsonb_array_elements(day->'meals') meal,
                       jsonb_array_elements(meal->'dishes') dish),
               jsonb_array_length(o.days)
          FROM orders o
         WHERE o.created_at >= %(since)s AND o.updated_at < now() - make_interval(secs => %(settle)s)""",
                 {"since": since, "settle": settle})
    return {r[0]: (r[1], int(r[2]), int(r[3])) for r in rows}


def check_terminal(since: datetime, stuck_after: float, grace: float) -> Check:
    """Every accepted order leaves PENDING, and an unpaid one expires after its deadline and grace."""
    rows = _rows("orders", """
        SELECT id::text, status FROM orders WHERE created_at >= %(since)s AND (
            (status = 'PENDING' AND updated_at < now() - make_interval(secs => %(stuck)s))
         OR (status = 'AWAITING_PAYMENT' AND expires_at < now() - make_interval(secs => %(overdue)s)))""",
                 {"since": since, "stuck": stuck_after, "overdue": grace + stuck_after})
    total = _rows("orders", "SELECT count(*) FROM orders WHERE created_at >= %(since)s", {"since": since})[0][0]
    if rows:
        return Check("terminal", False, f"{len(rows)} of {total} stuck ({_sample([r[0] for r in rows])})")
    return Check("terminal", True, f"{total} orders")


def check_holdings(orders: dict[str, tuple[str, int, int]]) -> Check:
    """Reserved portions and courier slots equal those of the orders awaiting payment or active."""
    ids = list(orders)
    portions = dict(_rows("restaurants", """
        SELECT p.order_id::text, SUM(p.portions) FROM reserved_portions p JOIN reservations r USING (order_id)
         WHERE r.status IN ('pending', 'confirmed') AND p.order_id::text = ANY(%(ids)s) GROUP BY 1""", {"ids": ids}))
    slots = dict(_rows("delivery", """
        SELECT d.order_id::text, count(*) FROM booking_days d JOIN bookings b USING (order_id)
         WHERE b.status IN ('pending', 'confirmed') AND d.order_id::text = ANY(%(ids)s) GROUP BY 1""", {"ids": ids}))
    wrong = []
    for order_id, (status, want_portions, want_days) in orders.items():
        holding = status in HOLDING
        if (portions.get(order_id, 0), slots.get(order_id, 0)) != ((want_portions, want_days) if holding else (0, 0)):
            wrong.append(order_id)
    wrong = confirmed_by_saga_support(wrong, orders)
    if wrong:
        shown = "; ".join(f"{o[:8]} {orders[o][0]}" for o in wrong[:3])
        return Check("holdings", False, f"{len(wrong)} of {len(ids)} orders hold the wrong amount ({shown})")
    return Check("holdings", True, f"{len(ids)} settled orders")


def confirmed_by_saga_support(suspects: list[str], orders: dict[str, tuple[str, int, int]]) -> list[str]:
    """The e2e helpers' per-order reading of the same holdings, so that a violation reported here is
    one the saga tests would report too (and a bug in the set queries above cannot invent one)."""
    if not suspects:
        return []
    from tests.e2e.saga_support import held_portions, held_slots

    confirmed = []
    for order_id in suspects[:20]:  # one engine per call in the helpers: a few are enough to be sure
        status, want_portions, want_days = orders[order_id]
        want = (want_portions, want_days) if status in HOLDING else (0, 0)
        if (held_portions(order_id), held_slots(order_id)) != want:
            confirmed.append(order_id)
    return confirmed + suspects[20:]


# ------------------------------------------------------------------------------------ money

def check_charged_once(since: datetime, orders: dict[str, tuple[str, int, int]]) -> Check:
    """At most one charge per order; a charged order that did not go ahead (cancelled, expired)
    is refunded."""
    twice = [r[0] for r in _rows("payments", """
        SELECT order_id::text FROM ledger WHERE kind = 'charge' AND created_at >= %(since)s
         GROUP BY order_id HAVING count(*) > 1""", {"since": since})]
    closed = [o for o, (status, _, _) in orders.items() if status in ("CANCELLED", "EXPIRED", "REJECTED")]
    unrefunded = [r[0] for r in _rows("payments", """
        SELECT order_id::text FROM ledger WHERE order_id::text = ANY(%(ids)s)
         GROUP BY order_id HAVING SUM(CASE kind WHEN 'charge' THEN 1 WHEN 'refund' THEN -1 ELSE 0 END) > 0""",
                                      {"ids": closed})]
    if twice or unrefunded:
        return Check("charged once", False,
                     f"{len(twice)} charged twice, {len(unrefunded)} closed but not refunded "
                     f"({_sample(twice + unrefunded)})")
    charges = _rows("payments", "SELECT count(*) FROM ledger WHERE kind = 'charge' AND created_at >= %(since)s",
                    {"since": since})[0][0]
    return Check("charged once", True, f"{charges} charges")


def check_money() -> Check:
    """For every wallet: deposits - charges + refunds = balance (all of them, not just this run's)."""
    rows = _rows("payments", """
        SELECT COALESCE(w.user_id, l.user_id)::text FROM wallets w FULL JOIN (
            SELECT user_id, SUM(CASE kind WHEN 'charge' THEN -amount ELSE amount END) AS moved
              FROM ledger GROUP BY user_id) l USING (user_id)
         WHERE COALESCE(w.balance, 0) <> COALESCE(l.moved, 0)""")
    wallets = _rows("payments", "SELECT count(*) FROM wallets")[0][0]
    if rows:
        off = [r[0] for r in rows]
        return Check("money", False, f"{len(off)} of {wallets} wallets off their ledger ({_sample(off)})")
    return Check("money", True, f"{wallets} wallets")


# ------------------------------------------------------------------------------------ diary

def check_totals(since: datetime, settle: float) -> Check:
    """Daily totals equal the sum of the diary entries, for every (user, day) this run wrote to."""
    rows = _rows("records", """
        WITH touched AS (
            SELECT user_id, eaten_on AS day FROM entries WHERE created_at >= %(since)s
             GROUP BY 1, 2 HAVING max(created_at) < now() - make_interval(secs => %(settle)s)),
        summed AS (
            SELECT e.user_id, e.eaten_on AS day, SUM(e.calories) AS calories
              FROM entries e JOIN touched t ON t.user_id = e.user_id AND t.day = e.eaten_on GROUP BY 1, 2)
        SELECT s.user_id::text, s.day, s.calories, d.calories
          FROM summed s LEFT JOIN daily_totals d ON d.user_id = s.user_id AND d.day = s.day
         WHERE d.calories IS DISTINCT FROM s.calories""", {"since": since, "settle": settle})
    days = _rows("records", "SELECT count(DISTINCT (user_id, eaten_on)) FROM entries WHERE created_at >= %(since)s",
                 {"since": since})[0][0]
    if rows:
        shown = "; ".join(f"{u[:8]} {d}: entries {s}, total {t}" for u, d, s, t in rows[:2])
        return Check("totals", False, f"{len(rows)} of {days} days wrong ({shown})")
    return Check("totals", True, f"{days} user-days")


# ------------------------------------------------------------------------------ notifications

def check_notifications(since: datetime, settle: float, orders: dict[str, tuple[str, int, int]]) -> Check:
    """One notification per (event, recipient): none twice, and none missing where one is due —
    a welcome for every account registered in this run, an `order_created` and the notice of its
    current status for every settled order."""
    twice = _rows("notifications", """
        SELECT count(*) FROM (SELECT 1 FROM notifications WHERE created_at >= %(since)s
                               GROUP BY event_id, user_id HAVING count(*) > 1) x""", {"since": since})[0][0]
    users = [r[0] for r in _rows("auth", """
        SELECT id::text FROM accounts WHERE 'user' = ANY(roles) AND created_at >= %(since)s
           AND created_at < now() - make_interval(secs => %(settle)s)""", {"since": since, "settle": settle})]
    welcomed = {r[0] for r in _rows("notifications", """
        SELECT user_id::text FROM notifications WHERE kind = 'welcome' AND user_id::text = ANY(%(ids)s)""",
                                    {"ids": users})}
    no_welcome = [u for u in users if u not in welcomed]
    kinds: dict[str, set[str]] = {}
    for order_id, kind in _rows("notifications", """
            SELECT data->>'order_id', kind FROM notifications WHERE kind LIKE 'order_%%'
               AND data->>'order_id' = ANY(%(ids)s)""", {"ids": list(orders)}):
        kinds.setdefault(order_id, set()).add(kind)
    missing = [o for o, (status, _, _) in orders.items()
               if not {"order_created", STATUS_NOTICE.get(status, "order_created")} <= kinds.get(o, set())]
    if twice or no_welcome or missing:
        return Check("notifications", False,
                     f"{twice} twice, {len(no_welcome)} users without a welcome, {len(missing)} orders missing "
                     f"a notice ({_sample(no_welcome + missing)})")
    return Check("notifications", True, f"{len(users)} welcomes, {len(orders)} orders")


# ------------------------------------------------------------------------------------ topics

def dead_letter_ends(bootstrap: str, topic_prefix: str) -> dict[str, int]:
    """{processor: records ever written to `<prefix>.dlq.<processor>`} (0 when the topic does not exist)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-dlq-reader", "enable.auto.commit": False})
    try:
        topics = consumer.list_topics(timeout=10).topics
        ends = {}
        for processor in local.PROCESSORS:
            meta = topics.get(f"{topic_prefix}.dlq.{processor}")
            ends[processor] = sum(consumer.get_watermark_offsets(TopicPartition(meta.topic, p), timeout=10)[1]
                                  for p in meta.partitions) if meta else 0
        return ends
    finally:
        consumer.close()


def check_dead_letters(before: dict[str, int], now: dict[str, int]) -> Check:
    grown = {p: now.get(p, 0) - before.get(p, 0) for p in now if now.get(p, 0) > before.get(p, 0)}
    if grown:
        return Check("dead letters", False, "new: " + ", ".join(f"{p} +{n}" for p, n in sorted(grown.items())))
    return Check("dead letters", True, "none new")


# ------------------------------------------------------------------------------------ all

def check_all(since: datetime, dlq_before: dict[str, int], bootstrap: str, topic_prefix: str,
              settle: float = 20.0, stuck_after: float = 90.0, grace: float = 30.0) -> list[Check]:
    """Every invariant once. A check that cannot run (a database away) is a failed check that says so."""
    checks: list[Check] = []
    orders: dict[str, tuple[str, int, int]] = {}
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("terminal", lambda: check_terminal(since, stuck_after, grace)),
        ("holdings", lambda: check_holdings(orders)),
        ("charged once", lambda: check_charged_once(since, orders)),
        ("money", check_money),
        ("totals", lambda: check_totals(since, settle)),
        ("notifications", lambda: check_notifications(since, settle, orders)),
        ("dead letters", lambda: check_dead_letters(dlq_before, dead_letter_ends(bootstrap, topic_prefix))),
    ]
    try:
        orders.update(settled_orders(since, settle))
    except Exception as exc:  # the holdings, charge and notification checks need these orders
        return [Check("orders", False, f"cannot read orders: {exc.__class__.__name__}")]
    for name, step in steps:
        try:
            checks.append(step())
        except Exception as exc:
            checks.append(Check(name, False, f"could not check: {exc.__class__.__name__}: {str(exc)[:80]}"))
    return checks


def check_until_true(since: datetime, dlq_before: dict[str, int], bootstrap: str, topic_prefix: str,
                     timeout: float, settle: float = 20.0) -> list[Check]:
    """`check_all` again until every invariant holds or `timeout` passes: what the stack is still
    settling is given its chance, what stays wrong is reported as it was last seen."""
    deadline = time.monotonic() + timeout
    while True:
        checks = check_all(since, dlq_before, bootstrap, topic_prefix, settle=settle)
        if all(c.ok for c in checks) or time.monotonic() > deadline:
            return checks
        time.sleep(5)
