"""Registration, login, the profile created from the event, and optimistic concurrency."""

from __future__ import annotations

import threading

import httpx

from chassis.service import Service
from tests.e2e.helpers import client, profile_of, register
from tests.support import TopicReader


def test_register_login_profile_and_versioned_patch(api: httpx.Client) -> None:
    me = register(api, phone="+44 20 7946 0000", address="1 Soup Street")
    first = profile_of(api, me)
    assert first.headers["etag"] == '"1"'
    body = first.json()
    assert (body["user_id"], body["email"], body["phone"], body["address"]) == (
        me.user_id, me.email, "+44 20 7946 0000", "1 Soup Street")

    no_version = api.patch("/users/me", headers=me.auth, json={"daily_calorie_goal": 2000})
    assert no_version.status_code == 428
    assert no_version.headers["content-type"] == "application/problem+json"
    assert "If-Match" in no_version.json()["detail"]

    ok = api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'}, json={"daily_calorie_goal": 2000})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"' and ok.json()["daily_calorie_goal"] == 2000

    stale = api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'}, json={"daily_calorie_goal": 1500})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    now = api.get("/users/me", headers=me.auth)
    assert now.json()["daily_calorie_goal"] == 2000 and now.headers["etag"] == '"2"'


def test_concurrent_patches_with_the_same_version_exactly_one_wins(api: httpx.Client) -> None:
    me = register(api)
    profile_of(api, me)
    writers = 8
    barrier = threading.Barrier(writers)
    statuses: list[int] = []

    def patch(goal: int) -> None:
        with client() as c:
            barrier.wait()
            r = c.patch("/users/me", headers={**me.auth, "If-Match": '"1"'}, json={"daily_calorie_goal": goal})
            statuses.append(r.status_code)

    threads = [threading.Thread(target=patch, args=(1800 + i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [412] * (writers - 1)
    final = api.get("/users/me", headers=me.auth)
    assert final.headers["etag"] == '"2"'


def test_bad_input_is_a_problem_naming_the_fields(api: httpx.Client) -> None:
    resp = api.post("/auth/register", json={"email": "not-an-email", "password": "short"})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in resp.json()["errors"]}
    assert fields == {"body.email", "body.password", "body.name"}

    me = register(api)
    profile_of(api, me)
    bad = api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'}, json={"daily_calorie_goal": -5})
    assert bad.status_code == 422 and "daily_calorie_goal" in bad.json()["detail"]
    unknown = api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'}, json={"shoe_size": 44})
    assert unknown.status_code == 422 and "shoe_size" in unknown.json()["detail"]
    # nothing was lost: the profile is untouched at version 1
    assert api.get("/users/me", headers=me.auth).headers["etag"] == '"1"'


def test_an_email_registers_once(api: httpx.Client) -> None:
    me = register(api)
    again = api.post("/auth/register", json={"email": me.email.upper(), "password": "another-pw", "name": "X"})
    assert again.status_code == 409 and me.email in again.json()["detail"]


def test_refresh_rotates_and_a_reused_token_revokes_the_family(api: httpx.Client) -> None:
    me = register(api)
    first = api.post("/auth/refresh", json={"refresh_token": me.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != me.refresh_token and pair["token_type"] == "Bearer"
    assert api.get("/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code in (200, 404)

    replay = api.post("/auth/refresh", json={"refresh_token": me.refresh_token})
    assert replay.status_code == 401
    # the theft is detected: the newer token of the same account is revoked too
    assert api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert api.post("/auth/refresh", json={"refresh_token": "garbage"}).status_code == 401


def test_profile_changes_are_published_with_the_calorie_goal(api: httpx.Client) -> None:
    reader = TopicReader("calories.users.profile")
    try:
        me = register(api, address="2 Salad Road")
        profile_of(api, me)
        ok = api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'}, json={"daily_calorie_goal": 2200})
        assert ok.status_code == 200
        codec = Service("users").codec

        def ours(seen: list) -> list[dict]:
            return [codec.decode(m.value()) for m in seen if m.key().decode() == me.user_id]

        events = ours(reader.read_until(lambda seen: len(ours(seen)) >= 2, timeout=30))
    finally:
        reader.close()
    assert [(e["event_type"], e["version"], e["daily_calorie_goal"]) for e in events] == [
        ("UserProfileChanged", 1, None), ("UserProfileChanged", 2, 2200)]
    assert events[0]["address"] == "2 Salad Road"
