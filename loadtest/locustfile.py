"""Locust journeys that mirror a day of Calories, through the HTTP entry (nginx → the services).

    .venv/bin/locust -f loadtest/locustfile.py --headless --host http://127.0.0.1:8000   # step load
    LOADTEST_MODE=rate LOADTEST_RATE=4 .venv/bin/locust -f loadtest/locustfile.py --headless ...
    make loadtest / make loadtest-full      # the same through loadtest/run.py, with sampling and a report

Who does what (weights are people, not requests):

* `Eater` (most users): registers with a faker name, phone and address, logs in, waits for the
  profile (made by the `UserRegistered` event), sets a calorie goal (GET the ETag, PATCH with
  If-Match) and funds the wallet. Then, between pauses of a few seconds, logs meals, reads the
  daily totals and the diary, browses restaurants and menus, reads plans and notifications, and
  now and then orders a day of meals (`Idempotency-Key`, sometimes retried with the same key),
  waits for AWAITING_PAYMENT and pays.
* `Manager`: a staff account made by the admin; reads an eater's profile, diary totals and habits,
  drafts a week automatically, edits its comment and publishes it.
* `Kitchen`: restaurant staff of one of the run's restaurants; reads the kitchen queue and marks
  each paid day prepared.
* `Courier`: takes the days the kitchens prepared, finds their delivery tasks, picks up, delivers.

At the start (`test_start`) the admin creates this run's restaurants and menus through the API,
outside locust's statistics, and waits until orders' copies know them. Every request is named by
its route template (`/orders/{id}`), so the statistics are per endpoint. Kitchens and couriers
touch only this run's restaurants and orders, never another test's.

Shape (environment): `LOADTEST_MODE=step` (default) adds `LOADTEST_STEP_USERS` (25) users every
`LOADTEST_STEP_SECONDS` (15) up to `LOADTEST_MAX_USERS` (250), holds `LOADTEST_HOLD_SECONDS` (30),
then stops; `LOADTEST_MODE=rate` keeps `LOADTEST_RATE` journeys/s (all users together: a fixed
pool whose every user runs `constant_throughput`) for `LOADTEST_SECONDS` (120). Every mode stops
by itself. `LOADTEST_RUN_DIR`, when set, receives `requests.csv` (every request: end time, name,
milliseconds, ok), `orders.csv` (placed and paid times of every order) and `meta.json`.
"""

from __future__ import annotations

import collections
import csv
import json
import logging
import math
import os
import random
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from faker import Faker
from locust import FastHttpUser, LoadTestShape, between, constant_throughput, events, task
from locust.exception import StopUser

from stack.seed import MENUS

ADMIN_EMAIL = os.environ.get("CALORIES_ADMIN_EMAIL", "admin@calories.local")
ADMIN_PASSWORD = os.environ.get("CALORIES_ADMIN_PASSWORD", "admin-password")
MODE = os.environ.get("LOADTEST_MODE", "step")
STEP_USERS = int(os.environ.get("LOADTEST_STEP_USERS", "25"))
STEP_SECONDS = float(os.environ.get("LOADTEST_STEP_SECONDS", "15"))
MAX_USERS = int(os.environ.get("LOADTEST_MAX_USERS", "250"))
HOLD_SECONDS = float(os.environ.get("LOADTEST_HOLD_SECONDS", "30"))
SPAWN_RATE = float(os.environ.get("LOADTEST_SPAWN_RATE", "5"))
RATE = float(os.environ.get("LOADTEST_RATE", "4"))
RATE_SECONDS = float(os.environ.get("LOADTEST_SECONDS", "120"))
RATE_USERS = max(5, math.ceil(RATE * 4))
RUN_DIR = Path(os.environ["LOADTEST_RUN_DIR"]) if os.environ.get("LOADTEST_RUN_DIR") else None
TOKEN_REFRESH_AFTER = 600  # access tokens live 900 s (auth's access_token_ttl_seconds)

fake = Faker()
logging.getLogger("httpx").setLevel(logging.WARNING)  # the setup client's every request
RUN = uuid.uuid4().hex[:8]
STATE: dict = {"restaurants": [], "admin": None}
EATERS: list[str] = []  # user ids of eaters whose profile exists (managers plan for them)
PREPARED: collections.deque = collections.deque()  # (order_id, date, tries): days the kitchen cooked
_lock = threading.Lock()


# ------------------------------------------------------------------------------ run's records

class _Log:
    """Append-only CSV in the run folder, flushed in batches (gevent: writes never block long)."""

    def __init__(self, name: str, header: list[str]):
        self.rows: list[list] = []
        self.path = RUN_DIR / name if RUN_DIR else None
        if self.path:
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(header)

    def add(self, *row) -> None:
        if self.path:
            self.rows.append(list(row))
            if len(self.rows) >= 500:
                self.flush()

    def flush(self) -> None:
        if self.path and self.rows:
            rows, self.rows = self.rows, []
            with self.path.open("a", newline="") as f:
                csv.writer(f).writerows(rows)


REQUESTS = _Log("requests.csv", ["t", "method", "name", "ms", "ok"])
ORDERS = _Log("orders.csv", ["order_id", "placed_t", "paid_t", "amount", "status_at_pay"])


@events.request.add_listener
def _on_request(request_type, name, response_time, exception, **_):
    REQUESTS.add(f"{time.time():.3f}", request_type, name, f"{response_time:.1f}", int(exception is None))


def _admin_token(c: httpx.Client) -> str:
    r = c.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    r.raise_for_status()
    return r.json()["access_token"]


@events.init.add_listener
def _setup(environment, **_):
    """This run's restaurants and menus, made by the admin through the API before the first user
    (not in the stats)."""
    if type(environment.runner).__name__ == "WorkerRunner":
        return
    with httpx.Client(base_url=environment.host, timeout=30) as c:
        admin = {"Authorization": f"Bearer {_admin_token(c)}"}
        STATE["admin_at"] = time.time()
        for name, (_address, _capacity, dishes) in MENUS.items():
            r = c.post("/restaurants", headers=admin, json={
                "name": f"Load {RUN} {name}", "address": fake.street_address(), "daily_capacity": 100_000})
            r.raise_for_status()
            rid, made = r.json()["id"], []
            for text, calories, kind, price, comment in dishes:
                d = c.post(f"/restaurants/{rid}/dishes", headers=admin, json={
                    "text": text, "calories": calories, "kind": kind, "price": price, "comment": comment})
                d.raise_for_status()
                made.append(d.json())
            STATE["restaurants"].append({"id": rid, "name": name, "dishes": made})
        _wait_for_copies(c)


@events.test_start.add_listener
def _meta(environment, **_):
    if RUN_DIR:  # "started": the shape's time zero, so steps are windows of wall-clock time
        (RUN_DIR / "meta.json").write_text(json.dumps({
            "run": RUN, "mode": MODE, "started": STATE.get("t0", time.time()), "host": environment.host,
            "step_users": STEP_USERS, "step_seconds": STEP_SECONDS, "max_users": MAX_USERS,
            "hold_seconds": HOLD_SECONDS, "spawn_rate": SPAWN_RATE, "rate": RATE, "rate_seconds": RATE_SECONDS,
            "rate_users": RATE_USERS, "restaurants": [r["id"] for r in STATE["restaurants"]]}, indent=1))


def _wait_for_copies(c: httpx.Client) -> None:
    """Orders prices from its own copy of each menu (fed by events): place and cancel one order per
    restaurant as a throwaway user until it is accepted, so the first users don't see copy lag."""
    email, password = f"load-setup-{RUN}@example.com", uuid.uuid4().hex
    c.post("/auth/register", json={"email": email, "password": password, "name": "Load setup"}).raise_for_status()
    auth = {"Authorization": "Bearer " + c.post("/auth/login", json={
        "email": email, "password": password}).json()["access_token"]}
    for r in STATE["restaurants"]:
        deadline = time.monotonic() + 60
        while True:
            resp = c.post("/orders", headers={**auth, "Idempotency-Key": str(uuid.uuid4())}, json={
                "restaurant_id": r["id"], "delivery_address": "1 Setup Road", "phone": "+44 1000",
                "days": [{"date": "2099-01-01", "meals": [{"meal": "lunch", "dishes": [
                    {"dish_id": r["dishes"][0]["id"]}]}]}]})
            if resp.status_code == 201:
                c.post(f"/orders/{resp.json()['order_id']}/cancel", headers=auth)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"orders never learnt restaurant {r['id']}: {resp.text}")
            time.sleep(0.5)


@events.test_stop.add_listener
def _flush(**_):
    REQUESTS.flush()
    ORDERS.flush()


# ------------------------------------------------------------------------------------- users

def _wait(user) -> float:
    return _WAIT(user)


_WAIT = constant_throughput(RATE / RATE_USERS) if MODE == "rate" else between(1, 5)


class Person(FastHttpUser):
    abstract = True
    wait_time = _wait
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        # Each virtual user looks like its own address to auth's login throttling.
        self.client_headers = {"X-Forwarded-For": f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"}
        self.tokens: dict = {}
        self.signed_at = 0.0

    @property
    def auth(self) -> dict[str, str]:
        if time.time() - self.signed_at > TOKEN_REFRESH_AFTER:
            self._refresh()
        return {"Authorization": f"Bearer {self.tokens['access_token']}", **self.client_headers}

    def login(self, email: str, password: str) -> None:
        with self.client.post("/auth/login", json={"email": email, "password": password},
                              headers=self.client_headers, name="/auth/login", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"login {r.status_code}")
                raise StopUser(f"cannot log in: {r.status_code}")
            self.tokens, self.signed_at = r.json(), time.time()

    def _refresh(self) -> None:
        r = self.client.post("/auth/refresh", json={"refresh_token": self.tokens["refresh_token"]},
                             headers=self.client_headers, name="/auth/refresh")
        if r.status_code == 200:
            self.tokens, self.signed_at = r.json(), time.time()

    def new_staff(self, role: str, **extra) -> None:
        """An account made by the admin (`POST /auth/staff`), then logged in."""
        email, password = f"{role}-{RUN}-{uuid.uuid4().hex[:10]}@example.com", uuid.uuid4().hex
        with _lock:
            if time.time() - STATE.get("admin_at", 0) > TOKEN_REFRESH_AFTER or not STATE["admin"]:
                with httpx.Client(base_url=self.host, timeout=30) as c:
                    STATE["admin"], STATE["admin_at"] = _admin_token(c), time.time()
        self.client.post("/auth/staff", headers={"Authorization": f"Bearer {STATE['admin']}"}, name="/auth/staff",
                         json={"email": email, "password": password, "name": fake.name(), "role": role, **extra})
        self.login(email, password)


def _today() -> date:
    return datetime.now(UTC).date()


def _far_day() -> str:
    """A delivery date far ahead, spread so that no day runs out of courier slots (40 a day)."""
    return (date(2040, 1, 1) + timedelta(days=random.randrange(20_000))).isoformat()


MEALS = {"breakfast": 8, "lunch": 13, "dinner": 19, "snack": 16}
FOODS = [(t, c) for _a, _c, dishes in MENUS.values() for t, c, *_ in dishes] + [
    ("Apple", 95), ("Banana", 105), ("Coffee with milk", 60), ("Cheese sandwich", 350), ("Yoghurt", 150)]


class Eater(Person):
    weight = 20

    def on_start(self) -> None:
        super().on_start()
        self.email, self.password = f"eater-{RUN}-{uuid.uuid4().hex[:10]}@example.com", uuid.uuid4().hex
        self.address, self.phone = fake.address().replace("\n", ", "), fake.phone_number()[:40]
        r = self.client.post("/auth/register", name="/auth/register", headers=self.client_headers, json={
            "email": self.email, "password": self.password, "name": fake.name(),
            "phone": self.phone, "address": self.address})
        if r.status_code != 201:
            raise StopUser("registration refused")
        self.user_id = r.json()["user_id"]
        self.login(self.email, self.password)
        # The profile is made by users_profiles from UserRegistered: a 404 until the event arrives.
        deadline = time.monotonic() + 60
        while True:
            with self.client.get("/users/me", headers=self.auth, name="/users/me [until the profile exists]",
                                 catch_response=True) as r:
                if r.status_code == 200:
                    etag = r.headers.get("etag")
                    break
                if r.status_code == 404 and time.monotonic() < deadline:
                    r.success()
                else:
                    r.failure(f"profile not made: {r.status_code}")
                    raise StopUser("no profile")
            time.sleep(0.3)
        self.client.patch("/users/me", name="/users/me", headers={**self.auth, "If-Match": etag},
                          json={"daily_calorie_goal": random.choice([1600, 1800, 2000, 2200, 2500])})
        self.client.post("/payments/wallet/deposit", name="/payments/wallet/deposit", headers=self.auth,
                         json={"amount": 1_000_000})
        with _lock:
            EATERS.append(self.user_id)

    @task(8)
    def log_meal(self) -> None:
        meal = random.choice(list(MEALS))
        text, calories = random.choice(FOODS)
        eaten = datetime.now(UTC).replace(hour=MEALS[meal], minute=random.randrange(60), microsecond=0)
        self.client.post("/records", name="/records", headers=self.auth, json={
            "eaten_at": eaten.isoformat(), "meal": meal, "text": text, "calories": calories,
            "grams": random.randrange(80, 450)})

    @task(5)
    def daily_totals(self) -> None:
        today = _today()
        self.client.get(f"/records/daily?from={today - timedelta(days=6)}&to={today}", name="/records/daily",
                        headers=self.auth)

    @task(2)
    def diary(self) -> None:
        today = _today()
        self.client.get(f"/records?from={today}&to={today}", name="/records", headers=self.auth)

    @task(4)
    def browse_menus(self) -> None:
        self.client.get("/restaurants", name="/restaurants", headers=self.auth)
        r = random.choice(STATE["restaurants"])
        self.client.get(f"/restaurants/{r['id']}/menu", name="/restaurants/{id}/menu", headers=self.auth)

    @task(1)
    def plans(self) -> None:
        r = self.client.get("/recommendations", name="/recommendations", headers=self.auth)
        items = r.json().get("items", []) if r.status_code == 200 else []
        if items:
            self.client.get(f"/recommendations/{items[0]['id']}", name="/recommendations/{id}", headers=self.auth)

    @task(2)
    def notifications(self) -> None:
        self.client.get("/notifications", name="/notifications", headers=self.auth)

    @task(1)
    def wallet_and_orders(self) -> None:
        self.client.get("/payments/wallet", name="/payments/wallet", headers=self.auth)
        self.client.get("/orders", name="/orders", headers=self.auth)

    @task(2)
    def order_and_pay(self) -> None:
        r = random.choice(STATE["restaurants"])
        by_kind: dict[str, list] = {}
        for d in r["dishes"]:
            by_kind.setdefault(d["kind"], []).append(d)
        days = []
        for _ in range(random.choice([1, 1, 2])):
            days.append({"date": _far_day(), "meals": [{"meal": "lunch", "dishes": [
                {"dish_id": random.choice(by_kind[k])["id"], "quantity": 1} for k in ("soup", "main", "drink")]}]})
        body = {"restaurant_id": r["id"], "days": days, "delivery_address": self.address, "phone": self.phone}
        headers = {**self.auth, "Idempotency-Key": str(uuid.uuid4())}
        placed = self.client.post("/orders", name="/orders [place]", headers=headers, json=body)
        if placed.status_code != 201:
            return
        placed_t = time.time()
        if random.random() < 0.05:  # a client that lost the answer retries with the same key
            self.client.post("/orders", name="/orders [place, retried key]", headers=headers, json=body)
        order_id, total = placed.json()["order_id"], placed.json()["total"]
        status = "PENDING"
        deadline = time.monotonic() + 60
        while status == "PENDING" and time.monotonic() < deadline:
            time.sleep(0.5)
            got = self.client.get(f"/orders/{order_id}", name="/orders/{id}", headers=self.auth)
            if got.status_code == 200:
                status = got.json()["status"]
        if status != "AWAITING_PAYMENT":
            ORDERS.add(order_id, f"{placed_t:.3f}", "", total, status)
            return
        # payments learns that the order awaits payment from orders' events: a 409 until then.
        for _ in range(40):
            with self.client.post("/payments", name="/payments", headers=self.auth, catch_response=True,
                                  json={"order_id": order_id, "amount": total}) as paid:
                if paid.status_code == 409 and "not awaiting payment" in paid.text:
                    paid.success()
                    time.sleep(0.25)
                    continue
                break
        ORDERS.add(order_id, f"{placed_t:.3f}", f"{time.time():.3f}", total, paid.json().get("status", "?"))


class Manager(Person):
    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.new_staff("manager")

    def _someone(self) -> str | None:
        with _lock:
            return random.choice(EATERS) if EATERS else None

    @task(3)
    def read_a_user(self) -> None:
        if not (uid := self._someone()):
            return
        today = _today()
        self.client.get(f"/users/{uid}", name="/users/{id}", headers=self.auth)
        self.client.get(f"/records/users/{uid}/daily?from={today - timedelta(days=6)}&to={today}",
                        name="/records/users/{id}/daily", headers=self.auth)
        self.client.get(f"/records/users/{uid}/habits", name="/records/users/{id}/habits", headers=self.auth)

    @task(2)
    def draft_edit_publish(self) -> None:
        if not (uid := self._someone()):
            return
        r = random.choice(STATE["restaurants"])
        monday = _today() + timedelta(days=7 - _today().weekday())
        with self.client.post("/recommendations/draft", name="/recommendations/draft", headers=self.auth,
                              catch_response=True, json={"user_id": uid, "restaurant_id": r["id"],
                                                         "week_start": monday.isoformat(),
                                                         "goal": random.choice([1800, 2000, 2200])}) as d:
            if d.status_code == 422 and "not known here (yet)" in d.text:
                d.success()  # recommendations' copy of a brand-new user is a moment behind
                return
        if d.status_code != 201:
            return
        plan = d.json()
        days = [{"date": day["date"], "meals": [{"meal": m["meal"], "dish_ids": [x["id"] for x in m["dishes"]]}
                                                 for m in day["meals"]]} for day in plan["days"]]
        self.client.put(f"/recommendations/{plan['id']}", name="/recommendations/{id}", headers=self.auth,
                        json={"days": days, "comment": fake.sentence()})
        self.client.post(f"/recommendations/{plan['id']}/publish", name="/recommendations/{id}/publish",
                         headers=self.auth)


class Kitchen(Person):
    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        super().on_start()
        self.restaurant = random.choice(STATE["restaurants"])
        self.new_staff("restaurant", restaurant_id=self.restaurant["id"])

    @task
    def cook(self) -> None:
        rid = self.restaurant["id"]
        q = self.client.get(f"/restaurants/{rid}/orders", name="/restaurants/{id}/orders", headers=self.auth)
        if q.status_code != 200:
            return
        todo = [(o["order_id"], d["date"]) for o in q.json()["items"] for d in o["days"]
                if d["date"] not in o["prepared_dates"]]
        for order_id, day in todo[:6]:
            r = self.client.post(f"/restaurants/{rid}/orders/{order_id}/prepared", headers=self.auth,
                                 name="/restaurants/{id}/orders/{order_id}/prepared", json={"date": day})
            if r.status_code == 200:
                PREPARED.append((order_id, day, 0))


class Courier(Person):
    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.new_staff("courier")

    @task(4)
    def deliver(self) -> None:
        for _ in range(4):
            try:
                order_id, day, tries = PREPARED.popleft()
            except IndexError:
                return
            r = self.client.get(f"/delivery/tasks?order_id={order_id}", name="/delivery/tasks?order_id",
                                headers=self.auth)
            tasks = [t for t in (r.json()["items"] if r.status_code == 200 else []) if t["date"] == day]
            if not tasks or tasks[0]["status"] == "waiting_kitchen":
                if tries < 30:  # the task turns ready when delivery_bookings applies DayPrepared
                    PREPARED.append((order_id, day, tries + 1))
                continue
            t = tasks[0]
            if t["status"] == "ready":
                self.client.post(f"/delivery/tasks/{t['id']}/picked-up", name="/delivery/tasks/{id}/picked-up",
                                 headers=self.auth)
            self.client.post(f"/delivery/tasks/{t['id']}/delivered", name="/delivery/tasks/{id}/delivered",
                             headers=self.auth)

    @task(1)
    def look_at_tasks(self) -> None:
        self.client.get("/delivery/tasks?limit=20", name="/delivery/tasks", headers=self.auth)


# ------------------------------------------------------------------------------------ shape

class DayShape(LoadTestShape):
    """Step load (the seed's 25 users every 15 s) or a constant arrival rate; stops by itself."""

    def tick(self):
        t = self.get_run_time()
        STATE.setdefault("t0", time.time() - t)
        if MODE == "rate":
            return (RATE_USERS, SPAWN_RATE) if t < RATE_SECONDS else None
        steps = math.ceil(MAX_USERS / STEP_USERS)
        if t < steps * STEP_SECONDS:
            return min(MAX_USERS, (int(t // STEP_SECONDS) + 1) * STEP_USERS), SPAWN_RATE
        if t < steps * STEP_SECONDS + HOLD_SECONDS:
            return MAX_USERS, SPAWN_RATE
        return None
