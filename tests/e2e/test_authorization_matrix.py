"""Who may call what (SPEC §1 and §9): every route of every service x role x owner/other, one request per cell.

The routes come from each service's OpenAPI document, so a route added without a row in MATRIX fails
`test_every_route_has_a_row` — decide who may call it, and add the row.

Cells: `anonymous`, `user`, `manager`, `restaurant`, `courier`, `admin`; and where a route's object has an
owner, `<role>:other` — another account of that role calling on the owner's object (the owner is `user` for
diary entries, orders, notifications and plans addressed to them; `manager` for the plan they wrote;
`restaurant` for the staff's own restaurant). Paths always name the owners' objects.

Classes: A (allowed: neither 401, 403 nor 404, and no 5xx — a 409 or 422 means the caller got past the
guards), or the status 401 / 403 / 404 (404: someone else's object is indistinguishable from none).
Bodies are valid wherever a guard runs after validation; where the guard is a dependency (it runs before
body validation), a body the validator refuses keeps the allowed cells free of side effects and of argon2 cost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import ENTRY, MENU, WEEK, Account, admin, client, login, new_restaurant, plan_body, register
from tests.support import poll_until

SERVICES = ("auth", "users", "records", "restaurants", "recommendations", "orders", "payments", "delivery",
            "notifications")
ROLES = ("anonymous", "user", "manager", "restaurant", "courier", "admin")
A = "A"

# Rows: (method, path) -> ({cell: class}, request body, or the name of one built by the fixture, or None).
# Every row names every role; `ANYONE`, `SIGNED_IN` and `only(...)` are shorthands.
ANYONE = {r: A for r in ROLES}
SIGNED_IN = {"anonymous": 401, **{r: A for r in ROLES[1:]}}


def only(*allowed: str, denied: int = 403) -> dict[str, Any]:
    return {"anonymous": 401, **{r: A if r in allowed else denied for r in ROLES[1:]}}


ENTRY_BODY = {"eaten_at": "2026-11-25T12:30:00Z", "meal": "lunch", "text": "Matrix soup", "calories": 100}
DISH_BODY = {"text": "Matrix dish", "calories": 100, "kind": "main", "price": 100}
INVALID: dict = {"matrix": "an unknown field: refused by the validator, after the guards"}

MATRIX: dict[tuple[str, str], tuple[dict[str, Any], Any]] = {
    # auth: anyone may try; bodies the validator refuses, so no argon2 hash is paid per cell
    ("POST", "/auth/register"): (ANYONE, INVALID),
    ("POST", "/auth/login"): (ANYONE, INVALID),
    ("POST", "/auth/refresh"): (ANYONE, INVALID),
    ("GET", "/auth/.well-known/jwks.json"): (ANYONE, None),
    ("POST", "/auth/staff"): (only("admin"), INVALID),
    # users: one's own profile; another's for managers and admins only (not even one's own by id)
    ("GET", "/users/me"): (SIGNED_IN, None),
    ("PATCH", "/users/me"): (SIGNED_IN, {"name": "Matrix"}),  # 428 without If-Match: past the guards
    ("GET", "/users/{user_id}"): (only("manager", "admin"), None),
    # records: one's own diary (the user id comes from the token); a user's diary for managers and admins
    ("POST", "/records"): (SIGNED_IN, ENTRY_BODY),
    ("GET", "/records"): (SIGNED_IN, None),
    ("GET", "/records/daily"): (SIGNED_IN, None),
    ("GET", "/records/users/{user_id}"): (only("manager", "admin"), None),
    ("GET", "/records/users/{user_id}/daily"): (only("manager", "admin"), None),
    ("GET", "/records/users/{user_id}/habits"): (only("manager", "admin"), None),
    ("GET", "/records/{entry_id}"): ({"anonymous": 401, "user": A, "user:other": 404, "manager": 404,
                                      "restaurant": 404, "courier": 404, "admin": 404}, None),
    ("PUT", "/records/{entry_id}"): ({"anonymous": 401, "user": A, "user:other": 404, "manager": 404,
                                      "restaurant": 404, "courier": 404, "admin": 404}, ENTRY_BODY),
    # restaurants: admins create and change them; their staff (or an admin) change the menu and run the kitchen
    ("POST", "/restaurants"): (only("admin"), {"name": "Matrix kitchen", "address": "1 Matrix Street",
                                               "daily_capacity": 10}),
    ("GET", "/restaurants"): (SIGNED_IN, None),
    ("PATCH", "/restaurants/{restaurant_id}"): (only("admin"), {"daily_capacity": 100}),
    ("GET", "/restaurants/{restaurant_id}/menu"): (SIGNED_IN, None),
    ("POST", "/restaurants/{restaurant_id}/dishes"): ({**only("restaurant", "admin"), "restaurant:other": 403},
                                                      DISH_BODY),
    ("PUT", "/restaurants/{restaurant_id}/dishes/{dish_id}"): ({**only("restaurant", "admin"),
                                                                "restaurant:other": 403}, DISH_BODY),
    ("GET", "/restaurants/{restaurant_id}/orders"): ({**only("restaurant", "admin"), "restaurant:other": 403},
                                                     None),
    ("POST", "/restaurants/{restaurant_id}/orders/{order_id}/prepared"): (
        {**only("restaurant", "admin"), "restaurant:other": 403}, {"date": WEEK.isoformat()}),
    # recommendations: managers (and admins) build plans; only the author (or an admin) edits and publishes;
    # a user reads their own published plans
    ("POST", "/recommendations"): (only("manager", "admin"), "plan"),
    ("POST", "/recommendations/draft"): (only("manager", "admin"), "draft"),
    ("GET", "/recommendations"): (SIGNED_IN, None),
    ("PUT", "/recommendations/{plan_id}"): ({**only("manager", "admin"), "manager:other": 403}, "edit"),
    ("GET", "/recommendations/{plan_id}"): ({"anonymous": 401, "user": A, "user:other": 404, "manager": A,
                                             "restaurant": 404, "courier": 404, "admin": A}, None),
    # orders: an order is its user's alone
    ("POST", "/orders"): (only("user"), "order"),
    ("GET", "/orders"): (SIGNED_IN, None),
    ("GET", "/orders/{order_id}"): ({"anonymous": 401, "user": A, "user:other": 404, "manager": 404,
                                     "restaurant": 404, "courier": 404, "admin": 404}, None),
    # payments: one's own wallet; someone else's order is none of theirs
    ("POST", "/payments/wallet/deposit"): (SIGNED_IN, {"amount": 1}),
    ("GET", "/payments/wallet"): (SIGNED_IN, None),
    ("POST", "/payments"): ({"anonymous": 401, "user": A, "user:other": 404, "manager": 404, "restaurant": 404,
                             "courier": 404, "admin": 404}, "payment"),
    # delivery: couriers; the day's slots for couriers and admins
    ("GET", "/delivery/tasks"): (only("courier"), None),
    ("POST", "/delivery/tasks/{task_id}/picked-up"): ({**only("courier"), "courier": 404}, None),
    ("POST", "/delivery/tasks/{task_id}/delivered"): ({**only("courier"), "courier": 404}, None),
    ("GET", "/delivery/days/{day}"): (only("courier", "admin"), None),
    # notifications: one's own feed
    ("GET", "/notifications"): (SIGNED_IN, None),
    ("GET", "/notifications/stream"): (SIGNED_IN, None),
    ("POST", "/notifications/{notification_id}/read"): ({"anonymous": 401, "user": A, "user:other": 404,
                                                         "manager": 404, "restaurant": 404, "courier": 404,
                                                         "admin": 404}, None),
    # last: the cells that change their object for the next ones (the owner's cell comes last in its row)
    ("DELETE", "/restaurants/{restaurant_id}/dishes/{dish_id}"): ({**only("restaurant", "admin"),
                                                                   "restaurant:other": 403}, None),
    ("POST", "/recommendations/{plan_id}/publish"): ({**only("manager", "admin"), "manager:other": 403}, None),
    ("POST", "/orders/{order_id}/cancel"): ({"anonymous": 401, "user:other": 404, "manager": 404,
                                             "restaurant": 404, "courier": 404, "admin": 404, "user": A}, None),
    ("DELETE", "/records/{entry_id}"): ({"anonymous": 401, "user:other": 404, "manager": 404, "restaurant": 404,
                                         "courier": 404, "admin": 404, "user": A}, None),
}


def _routes() -> set[tuple[str, str]]:
    found = set()
    with httpx.Client(base_url=ENTRY, timeout=30) as c:
        for name in SERVICES:
            resp = c.get(f"/{name}/openapi.json")
            assert resp.status_code == 200, f"{name}: {resp.status_code}"
            for path, operations in resp.json()["paths"].items():
                found.update((method.upper(), path) for method in operations
                             if method in ("get", "post", "put", "patch", "delete"))
    return found


def test_every_route_has_a_row() -> None:
    routes = _routes()
    missing = sorted(routes - set(MATRIX))
    assert not missing, f"routes without a row in the authorization matrix (decide who may call them): {missing}"
    stale = sorted(set(MATRIX) - routes)
    assert not stale, f"rows for routes no service serves any more: {stale}"
    partial = [f"{m} {p}: {sorted(set(ROLES) - set(cells))}" for (m, p), (cells, _) in MATRIX.items()
               if not set(ROLES) <= set(cells)]
    assert not partial, f"rows without a cell for every role: {partial}"


# ---- the world the cells act on -------------------------------------------------------------


def _staff(api: httpx.Client, boss: Account, role: str, **extra: str) -> Account:
    email, password = f"{role}-{uuid.uuid4().hex[:12]}@example.com", f"pw-{uuid.uuid4().hex}"
    resp = api.post("/auth/staff", headers=boss.auth, json={"email": email, "password": password,
                                                            "name": f"Matrix {role}", "role": role, **extra})
    assert resp.status_code == 201, resp.text
    tokens = login(api, email, password)
    return Account(resp.json()["user_id"], email, password, tokens["access_token"], tokens["refresh_token"])


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with client() as api:
        boss = admin(api)
        rid, dishes = new_restaurant(api, MENU[:3])
        other_rid, _ = new_restaurant(api, MENU[:1])
        dish_ids = [d["id"] for d in dishes]
        owner, other = register(api), register(api)
        accounts = {"user": owner, "user:other": other, "admin": boss,
                    "manager": _staff(api, boss, "manager"), "manager:other": _staff(api, boss, "manager"),
                    "restaurant": _staff(api, boss, "restaurant", restaurant_id=rid),
                    "restaurant:other": _staff(api, boss, "restaurant", restaurant_id=other_rid),
                    "courier": _staff(api, boss, "courier")}
        manager = accounts["manager"]

        entry = api.post("/records", headers=owner.auth, json=ENTRY_BODY)
        assert entry.status_code == 201, entry.text
        # recommendations' copies (fed by events) must know the user and the dishes before a plan validates
        plan = poll_until(lambda: (r := api.post("/recommendations", headers=manager.auth,
                                                 json=plan_body(owner, rid, dish_ids[:1]))).status_code == 201
                          and r.json(), 60, "recommendations to copy the user and the menu")
        order_body = {"restaurant_id": rid, "delivery_address": "1 Matrix Street", "phone": "+44 20 7946 0000",
                      "days": [{"date": (date.today() + timedelta(days=3)).isoformat(), "meals": [
                          {"meal": "lunch", "dishes": [{"dish_id": dish_ids[0], "quantity": 1}]}]}]}
        order = poll_until(lambda: (r := api.post("/orders", headers={**owner.auth,
                                                                       "Idempotency-Key": str(uuid.uuid4())},
                                                  json=order_body)).status_code == 201 and r.json(),
                           60, "orders to copy the menu")
        notification = poll_until(lambda: api.get("/notifications", headers=owner.auth).json()["items"], 60,
                                  "the owner's welcome notification")[0]
        published = api.post("/recommendations", headers=manager.auth, json=plan_body(owner, rid, dish_ids[:1]))
        assert published.status_code == 201, published.text
        published = api.post(f"/recommendations/{published.json()['id']}/publish", headers=manager.auth).json()
        spare = [api.post(f"/restaurants/{rid}/dishes", headers=boss.auth, json=DISH_BODY).json()["id"]
                 for _ in range(2)]
        yield {
            "api": api, "accounts": accounts,
            "params": {"user_id": owner.user_id, "entry_id": entry.json()["id"], "restaurant_id": rid,
                       "dish_id": dish_ids[1], "order_id": order["order_id"], "plan_id": plan["id"],
                       "task_id": str(uuid.uuid4()), "day": WEEK.isoformat(), "notification_id": notification["id"]},
            # a DELETE of a dish by each allowed cell needs a dish of its own; a user reads published plans only
            "per_cell": {("DELETE", "/restaurants/{restaurant_id}/dishes/{dish_id}"): {
                "restaurant": {"dish_id": spare[0]}, "admin": {"dish_id": spare[1]}},
                ("GET", "/recommendations/{plan_id}"): {"*": {"plan_id": published["id"]}}},
            "bodies": {
                "plan": plan_body(owner, rid, dish_ids[:1]),
                "draft": {"user_id": owner.user_id, "restaurant_id": rid, "week_start": WEEK.isoformat(),
                          "goal": 2000},
                "edit": {"days": plan_body(owner, rid, dish_ids[:2])["days"], "comment": "edited"},
                "order": order_body,
                "payment": {"order_id": order["order_id"], "amount": 1},  # never its total: nothing is paid
            },
        }


def _class(status: int) -> str | int:
    assert status < 500, f"a server error: {status}"
    return status if status in (401, 403, 404) else A


def _call(world: dict[str, Any], method: str, path: str, cell: str, body: Any) -> int:
    api: httpx.Client = world["api"]
    special = world["per_cell"].get((method, path), {})
    params = {**world["params"], **special.get("*", {}), **special.get(cell, {})}
    url = path.format(**params)
    headers = {} if cell == "anonymous" else dict(world["accounts"][cell].auth)
    if isinstance(body, str):
        body = world["bodies"][body]
    if (method, path) == ("POST", "/orders"):
        headers["Idempotency-Key"] = str(uuid.uuid4())
    if path.endswith("/stream"):  # an open stream answers its status at once; close it
        with api.stream(method, url, headers=headers) as resp:
            return resp.status_code
    return api.request(method, url, headers=headers, json=body).status_code


def test_every_route_answers_each_role_as_the_matrix_says(world: dict[str, Any]) -> None:
    wrong = []
    for (method, path), (cells, body) in MATRIX.items():
        for cell, expected in cells.items():
            status = _call(world, method, path, cell, body)
            if _class(status) != expected:
                wrong.append(f"{method} {path} as {cell}: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)
