"""End-to-end tests: everything through the single HTTP entry (`make up` must have run)."""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

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


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with client() as c:
        if c.get("/healthz").status_code != 200:
            pytest.fail(f"nothing answers at {ENTRY}; run `make up`")
        yield c


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
    return poll_until(lambda: (r := api.get("/users/me", headers=account.auth)).status_code == 200 and r,
                      30, f"the profile of {account.email} to appear")
