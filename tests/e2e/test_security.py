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
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_spec_validator import validate

from apis.auth.keys import SigningKey
from apis.auth.settings import AuthSettings
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


def test_failed_logins_are_throttled_per_account(api: httpx.Client) -> None:
    me = register(api)
    codes = [api.post("/auth/login", json={"email": me.email, "password": "wrong-password"}).status_code
             for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # even the right password waits now, from any address
    with client() as elsewhere:
        blocked = elsewhere.post("/auth/login", json={"email": me.email, "password": me.password})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["content-type"] == "application/problem+json"


def test_failed_logins_are_throttled_per_address(api: httpx.Client) -> None:
    limit = AuthSettings().login_max_failures_per_address
    me = register(api)
    for i in range(limit):
        resp = api.post("/auth/login", json={"email": f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.com",
                                             "password": "whatever"})
        assert resp.status_code == 401
    assert api.post("/auth/login", json={"email": me.email, "password": me.password}).status_code == 429
    with client() as elsewhere:  # another address is not affected
        assert elsewhere.post("/auth/login", json={"email": me.email, "password": me.password}).status_code == 200


@pytest.mark.parametrize("service", ["auth", "users", "records", "restaurants", "recommendations", "orders",
                                     "payments", "delivery", "notifications"])
def test_openapi_documents_are_served_and_valid(api: httpx.Client, service: str) -> None:
    resp = api.get(f"/{service}/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    validate(doc)
    assert any(path.startswith(f"/{service}/") for path in doc["paths"])
