"""Tokens that must not pass, roles that must not reach, passwords that must not leak, throttling."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_spec_validator import validate

from apis.auth.keys import SigningKey
from apis.auth.settings import AuthSettings
from chassis.service import Service
from tests.e2e.helpers import admin, client, profile_of, register, staff

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def real_key() -> SigningKey:
    """The dev signing key, to mint tokens that are well signed but wrong in their claims."""
    return SigningKey.load_or_create(AuthSettings().auth_signing_key_file, create=False)


def claims(user_id: str, **over) -> dict:
    now = int(time.time())
    return {"iss": "calories-auth", "aud": "calories", "sub": user_id, "roles": ["user"], "typ": "access",
            "iat": now, "exp": now + 300, **over}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged_tokens(user_id: str, real_key: SigningKey) -> dict[str, str]:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = real_key.sign(claims(user_id))
    head, payload, sig = good.split(".")
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(user_id))}.",
        "signed by another key, same kid": jwt.encode(claims(user_id), other, algorithm="RS256",
                                                      headers={"kid": real_key.kid}),
        "HS256 with the public key as secret": f"{b64({'alg': 'HS256', 'kid': real_key.kid})}.{payload}.{sig}",
        "expired": real_key.sign(claims(user_id, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
        "wrong audience": real_key.sign(claims(user_id, aud="someone-else")),
        "wrong issuer": real_key.sign(claims(user_id, iss="evil")),
        "tampered payload (admin role)": f"{head}.{b64(claims(user_id, roles=['admin']))}.{sig}",
        "refresh-type token": real_key.sign(claims(user_id, typ="refresh")),
        "not a JWT": "definitely-not-a-token",
    }


def test_bad_tokens_are_refused_everywhere(api: httpx.Client, real_key: SigningKey) -> None:
    me = register(api)
    profile_of(api, me)
    assert api.get("/users/me", headers=bearer(real_key.sign(claims(me.user_id)))).status_code == 200  # control
    for name, token in forged_tokens(me.user_id, real_key).items():
        for method, path in (("GET", "/users/me"), ("POST", "/auth/staff")):
            resp = api.request(method, path, headers=bearer(token), json={})
            assert resp.status_code == 401, f"{name} on {path}: {resp.status_code} {resp.text}"
            assert resp.headers["content-type"] == "application/problem+json"
    assert api.get("/users/me").status_code == 401


def test_roles_guard_other_users_data_and_admin_endpoints(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    profile_of(api, alice)
    assert api.get(f"/users/{alice.user_id}", headers=bob.auth).status_code == 403
    assert api.get(f"/users/{alice.user_id}", headers=alice.auth).status_code == 403  # not even one's own by id

    manager = staff(api, "manager")
    seen = api.get(f"/users/{alice.user_id}", headers=manager.auth)
    assert seen.status_code == 200 and seen.json()["email"] == alice.email
    assert api.get(f"/users/{alice.user_id}", headers=admin(api).auth).status_code == 200

    new_staff = {"email": f"c-{uuid.uuid4().hex[:8]}@example.com", "password": "long-enough", "name": "C",
                 "role": "courier"}
    for who in (alice, manager):
        resp = api.post("/auth/staff", headers=who.auth, json=new_staff)
        assert resp.status_code == 403 and "admin" in resp.json()["detail"]
    assert api.post("/auth/staff", json=new_staff).status_code == 401

    # a self-registered account cannot pick its own role
    sneaky = api.post("/auth/register", json={"email": f"s-{uuid.uuid4().hex[:8]}@example.com",
                                              "password": "long-enough", "name": "S", "roles": ["admin"]})
    assert sneaky.status_code == 422


def test_restaurant_staff_token_names_its_restaurant(api: httpx.Client, real_key: SigningKey) -> None:
    cook = staff(api, "restaurant", restaurant_id="r-42")
    token_claims = jwt.decode(cook.access_token, options={"verify_signature": False})
    assert token_claims["roles"] == ["restaurant"] and token_claims["restaurant_id"] == "r-42"
    missing = api.post("/auth/staff", headers=admin(api).auth, json={
        "email": f"r-{uuid.uuid4().hex[:8]}@example.com", "password": "long-enough", "name": "R",
        "role": "restaurant"})
    assert missing.status_code == 422 and "restaurant_id" in missing.json()["detail"]


def test_the_password_is_never_returned_or_logged(api: httpx.Client) -> None:
    me = register(api)
    responses = [api.post("/auth/login", json={"email": me.email, "password": me.password}),
                 api.post("/auth/login", json={"email": me.email, "password": me.password + "-wrong"}),
                 api.post("/auth/register", json={"email": me.email, "password": me.password, "name": "Again"}),
                 profile_of(api, me)]
    for resp in responses:
        assert me.password not in resp.text
    logs = [p for p in (ROOT / ".stack" / "logs").glob("*.log")]
    assert logs
    for path in logs:
        assert me.password.encode() not in path.read_bytes(), f"the password appears in {path.name}"


def _address_of(api: httpx.Client) -> str:
    return api.headers["X-Forwarded-For"]  # what auth takes for this client's address (helpers.client)


def test_bad_logins_from_one_address_do_not_lock_the_owner_out(api: httpx.Client) -> None:
    """Issue 10: five bad logins locked the account itself, so an attacker anywhere kept its owner out.
    Now failed logins slow down the address they come from (a growing delay), not the account."""
    me = register(api)
    settings = AuthSettings()
    codes = [api.post("/auth/login", json={"email": me.email, "password": "wrong-password"}).status_code
             for _ in range(settings.login_free_failures + 3)]
    assert codes[:settings.login_free_failures] == [401] * settings.login_free_failures
    # the owner, elsewhere, signs in with the right password at once
    with client() as elsewhere:
        assert elsewhere.post("/auth/login", json={"email": me.email, "password": me.password}).status_code == 200
    # and may keep failing and succeeding from their own address: the account is never locked
    with client() as elsewhere:
        for _ in range(settings.login_free_failures - 1):
            assert elsewhere.post("/auth/login", json={"email": me.email, "password": "typo"}).status_code == 401
        assert elsewhere.post("/auth/login", json={"email": me.email, "password": me.password}).status_code == 200


def _record_attempts(key: str, count: int) -> None:
    """As if `count` attempts counted under `key` (e.g. "address:<ip>") had just been made: the throttle's
    arithmetic is tested without waiting out real delays or paying an argon2 hash per attempt."""
    with Service("auth").engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO login_failures (key, failed_at) "
                             "SELECT :k, now() FROM generate_series(1, :n)"), {"k": key, "n": count})


def test_failed_logins_slow_down_their_address_with_a_growing_delay(api: httpx.Client) -> None:
    settings = AuthSettings()
    me = register(api)
    _record_attempts(f"address:{_address_of(api)}", settings.login_free_failures + 4)  # wait: 16 x base
    first = api.post("/auth/login", json={"email": me.email, "password": me.password})
    assert first.status_code == 429 and first.headers["content-type"] == "application/problem+json", first.text
    assert 0 < int(first.headers["retry-after"]) <= 16 * settings.login_delay_base_seconds
    _record_attempts(f"address:{_address_of(api)}", 3)  # three more failures: eight times the wait
    longer = api.post("/auth/login", json={"email": me.email, "password": me.password})
    assert longer.status_code == 429 and int(longer.headers["retry-after"]) > 16 * settings.login_delay_base_seconds
    with client() as elsewhere:  # another address, and the account itself, are not affected
        assert elsewhere.post("/auth/login", json={"email": me.email, "password": me.password}).status_code == 200


def test_registration_is_throttled_per_client_address(api: httpx.Client) -> None:
    """Issue 10: registration was not throttled, and each one costs an argon2 hash (19 MiB)."""
    settings = AuthSettings()
    address = _address_of(api)
    _record_attempts(f"register:{address}", settings.register_max_per_address)  # as often as it may
    body = {"email": f"flood-{uuid.uuid4().hex[:8]}@example.com", "password": "long-enough", "name": "Flood"}
    refused = api.post("/auth/register", json=body)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= settings.register_window_seconds + 1
    with client() as elsewhere:  # another address registers, and gets SPEC's 201 {user_id}
        made = elsewhere.post("/auth/register", json=body)
        assert made.status_code == 201 and set(made.json()) == {"user_id"}, made.text


@pytest.mark.parametrize("service", ["auth", "users", "records", "restaurants", "recommendations", "orders",
                                     "payments", "delivery", "notifications"])
def test_openapi_documents_are_served_and_valid(api: httpx.Client, service: str) -> None:
    resp = api.get(f"/{service}/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    validate(doc)
    assert any(path.startswith(f"/{service}/") for path in doc["paths"])
