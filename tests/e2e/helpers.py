"""Helpers of the end-to-end tests: clients of the HTTP entry, accounts of every role, restaurants,
menus and plans. Test modules import from here (never from each other or from conftest)."""

from __future__ import annotations

import itertools
import os
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from tests.support import poll_until

ENTRY = os.environ.get("CALORIES_ENTRY", "http://127.0.0.1:8000")
ADMIN_EMAIL = os.environ.get("CALORIES_ADMIN_EMAIL", "admin@calories.local")
ADMIN_PASSWORD = os.environ.get("CALORIES_ADMIN_PASSWORD", "admin-password")
_addresses = itertools.count(1)


def client() -> httpx.Client:
    # Each client looks like its own address to auth's throttling (the gateway appends the real
    # peer, which auth trusts as a proxy), so one test's failed logins never throttle another's.
    fake_address = f"198.51.{random.randint(0, 255)}.{next(_addresses) % 250 + 1}"
    return httpx.Client(base_url=ENTRY, timeout=30, headers={"X-Forwarded-For": fake_address})


@dataclass
class Account:
    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def login(api: httpx.Client, email: str, password: str) -> dict:
    resp = api.post("/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    return resp.json()


def register(api: httpx.Client, **extra: str) -> Account:
    email, password = f"user-{uuid.uuid4().hex[:12]}@example.com", f"pw-{uuid.uuid4().hex}"
    resp = api.post("/auth/register", json={"email": email, "password": password, "name": "Test User", **extra})
    assert resp.status_code == 201, resp.text
    tokens = login(api, email, password)
    return Account(resp.json()["user_id"], email, password, tokens["access_token"], tokens["refresh_token"])


def admin(api: httpx.Client) -> Account:
    tokens = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    return Account("", ADMIN_EMAIL, ADMIN_PASSWORD, tokens["access_token"], tokens["refresh_token"])


def staff(api: httpx.Client, role: str, **extra: str) -> Account:
    email, password = f"{role}-{uuid.uuid4().hex[:12]}@example.com", f"pw-{uuid.uuid4().hex}"
    resp = api.post("/auth/staff", headers=admin(api).auth,
                    json={"email": email, "password": password, "name": f"Test {role}", "role": role, **extra})
    assert resp.status_code == 201, resp.text
    tokens = login(api, email, password)
    return Account(resp.json()["user_id"], email, password, tokens["access_token"], tokens["refresh_token"])


def profile_of(api: httpx.Client, account: Account) -> httpx.Response:
    """The account's profile, once the UserRegistered event has created it."""
    # 60 s: generous, as every wait on an event: the disruptive lanes may have Connect down meanwhile.
    return poll_until(lambda: (r := api.get("/users/me", headers=account.auth)).status_code == 200 and r,
                      60, f"the profile of {account.email} to appear")


WEEK = date(2026, 11, 30)


def new_restaurant(api: httpx.Client, dishes: list[tuple[str, int, str]], capacity: int = 100) -> tuple[str, list]:
    boss = admin(api)
    resp = api.post("/restaurants", headers=boss.auth, json={
        "name": f"Test kitchen {uuid.uuid4().hex[:8]}", "address": "1 Test Street", "daily_capacity": capacity})
    assert resp.status_code == 201, resp.text
    rid = resp.json()["id"]
    made = []
    for text, calories, kind in dishes:
        d = api.post(f"/restaurants/{rid}/dishes", headers=boss.auth,
                     json={"text": text, "calories": calories, "kind": kind, "price": 100 + calories})
        assert d.status_code == 201, d.text
        made.append(d.json())
    return rid, made


MENU = [("Porridge", 350, "breakfast"), ("Borscht", 350, "soup"), ("Stroganoff", 700, "main"),
        ("Pelmeni", 620, "main"), ("Greek salad", 290, "salad"), ("Honey cake", 430, "dessert"),
        ("Kompot", 90, "drink"), ("Buckwheat", 180, "side")]


def known_to_recommendations(api: httpx.Client, manager: Account, user: Account, rid: str, dish_ids: list[str]):
    """Wait until recommendations' own copies (fed by events) know the user and the dishes."""
    def ready() -> bool:
        resp = api.post("/recommendations", headers=manager.auth, json=plan_body(user, rid, dish_ids[:1]))
        return resp.status_code == 201 or (resp.status_code, resp.json()["detail"])
    return poll_until(lambda: ready() is True, 30, "recommendations to copy the user and the menu")


def plan_body(user: Account, rid: str, dish_ids: list[str], week: date = WEEK) -> dict:
    return {"user_id": user.user_id, "restaurant_id": rid, "week_start": week.isoformat(), "comment": "eat well",
            "days": [{"date": (week + timedelta(days=i)).isoformat(),
                      "meals": [{"meal": "lunch", "dish_ids": list(dish_ids)}]} for i in range(7)]}
