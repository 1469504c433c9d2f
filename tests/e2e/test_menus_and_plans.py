"""Restaurants, menus and the manager's weekly recommendations, through the HTTP entry."""

from __future__ import annotations

import uuid

import httpx
import pytest

from chassis.service import Service
from tests.e2e.helpers import (
    MENU,
    WEEK,
    admin,
    known_to_recommendations,
    new_restaurant,
    plan_body,
    profile_of,
    register,
    staff,
)
from tests.support import TopicReader, poll_until


def test_staff_change_only_their_own_restaurants_menu(api: httpx.Client) -> None:
    mine, _ = new_restaurant(api, MENU[:2])
    other, other_dishes = new_restaurant(api, MENU[2:3])
    cook = staff(api, "restaurant", restaurant_id=mine)
    dish = {"text": "Solyanka", "calories": 410, "kind": "Soup", "price": 720, "comment": "spicy"}
    added = api.post(f"/restaurants/{mine}/dishes", headers=cook.auth, json=dish)
    assert added.status_code == 201 and added.json()["restaurant_id"] == mine
    changed = api.put(f"/restaurants/{mine}/dishes/{added.json()['id']}", headers=cook.auth,
                      json={**dish, "price": 750, "available": False})
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.json()["available"] is False

    for method, path in (("POST", f"/restaurants/{other}/dishes"),
                         ("PUT", f"/restaurants/{other}/dishes/{other_dishes[0]['id']}"),
                         ("DELETE", f"/restaurants/{other}/dishes/{other_dishes[0]['id']}")):
        resp = api.request(method, path, headers=cook.auth, json=dish)
        assert resp.status_code == 403, (method, resp.text)
    # a dish id of another restaurant under my restaurant's path is simply not there
    assert api.put(f"/restaurants/{mine}/dishes/{other_dishes[0]['id']}", headers=cook.auth,
                   json=dish).status_code == 404
    user = register(api)
    assert api.post(f"/restaurants/{mine}/dishes", headers=user.auth, json=dish).status_code == 403
    assert api.post("/restaurants", headers=cook.auth, json={"name": "Mine too", "address": "x",
                                                             "daily_capacity": 1}).status_code == 403

    menu = api.get(f"/restaurants/{mine}/menu", headers=user.auth).json()
    sections = {s["kind"]: [d["text"] for d in s["dishes"]] for s in menu["sections"]}
    assert sections == {"breakfast": ["Porridge"], "soup": ["Borscht", "Solyanka"]}
    assert api.delete(f"/restaurants/{mine}/dishes/{added.json()['id']}", headers=cook.auth).status_code == 204
    menu = api.get(f"/restaurants/{mine}/menu", headers=user.auth).json()
    assert [d["text"] for s in menu["sections"] for d in s["dishes"]] == ["Porridge", "Borscht"]
    assert api.get(f"/restaurants/{mine}/menu").status_code == 401


def test_a_plan_is_validated_against_the_restaurants_menu(api: httpx.Client) -> None:
    rid, dishes = new_restaurant(api, MENU)
    _, foreign = new_restaurant(api, [("Tiramisu", 450, "dessert")])
    manager = staff(api, "manager")
    user = register(api)
    profile_of(api, user)
    ids = [d["id"] for d in dishes]
    known_to_recommendations(api, manager, user, rid, ids)

    bad = plan_body(user, rid, [ids[1]])
    bad["days"][2]["meals"][0]["dish_ids"].append(foreign[0]["id"])
    expected = f"2026-12-02 lunch: dish {foreign[0]['id']} (Tiramisu) belongs to another restaurant, not {rid}"

    def refused() -> httpx.Response | bool:  # once the foreign dish's copy has arrived too
        r = api.post("/recommendations", headers=manager.auth, json=bad)
        return r.status_code == 422 and expected in r.json()["detail"] and r

    resp = poll_until(refused, 30, "the foreign dish to be refused by name")
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"] == [{"field": "body.days", "message": expected}]

    short = plan_body(user, rid, [ids[1]])
    del short["days"][6]
    resp = api.post("/recommendations", headers=manager.auth, json=short)
    assert resp.status_code == 422 and "missing 2026-12-06" in resp.json()["detail"]

    boss = admin(api)
    unavailable = api.put(f"/restaurants/{rid}/dishes/{ids[5]}", headers=boss.auth, json={
        "text": "Honey cake", "calories": 430, "kind": "dessert", "price": 530, "available": False})
    assert unavailable.status_code == 200

    def refused_as_unavailable() -> bool:
        r = api.post("/recommendations", headers=manager.auth, json=plan_body(user, rid, [ids[5]]))
        return r.status_code == 422 and "(Honey cake) is not available" in r.json()["detail"]

    poll_until(refused_as_unavailable, 30, "the unavailable dish to be refused")
    user_try = api.post("/recommendations", headers=user.auth, json=plan_body(user, rid, [ids[1]]))
    assert user_try.status_code == 403


def test_published_plan_reaches_its_user_and_only_them(api: httpx.Client) -> None:
    rid, dishes = new_restaurant(api, MENU)
    ids = {d["text"]: d["id"] for d in dishes}
    manager = staff(api, "manager")
    user, stranger = register(api), register(api)
    profile_of(api, user)
    assert api.patch("/users/me", headers={**user.auth, "If-Match": '"1"'},
                     json={"daily_calorie_goal": 2000}).status_code == 200
    known_to_recommendations(api, manager, user, rid, list(ids.values()))

    body = plan_body(user, rid, [ids["Borscht"], ids["Stroganoff"]])
    body["days"][0]["meals"].append({"meal": "breakfast", "dish_ids": [ids["Porridge"]]})

    def goal_copied() -> dict | bool:
        r = api.post("/recommendations", headers=manager.auth, json=body).json()
        return r["days"][0]["goal"] == 2000 and r

    plan = poll_until(goal_copied, 30, "the goal to reach recommendations' copy")
    first = plan["days"][0]
    assert (first["calories"], first["difference"]) == (1400, -600)
    assert first["warning"] == "600 kcal under the daily goal of 2000"
    assert plan["status"] == "draft"
    assert api.get(f"/recommendations/{plan['id']}", headers=user.auth).status_code == 404  # drafts are private

    reader = TopicReader("calories.recommendations.plan")
    try:
        published = api.post(f"/recommendations/{plan['id']}/publish", headers=manager.auth)
        assert published.status_code == 200 and published.json()["status"] == "published"
        assert api.post(f"/recommendations/{plan['id']}/publish", headers=manager.auth).status_code == 200
        codec = Service("recommendations").codec
        [msg] = [m for m in reader.read_until(lambda s: any(m.key().decode() == plan["id"] for m in s), 30)
                 if m.key().decode() == plan["id"]]  # published twice, one event
        event = codec.decode(msg.value())
    finally:
        reader.close()
    assert event["event_type"] == "RecommendationPublished" and event["user_id"] == user.user_id
    assert event["days"][0]["calories"] == 1400 and event["days"][0]["meals"][1]["dish_ids"] == [ids["Porridge"]]

    mine = api.get("/recommendations", headers=user.auth).json()["items"]
    assert [p["id"] for p in mine] == [plan["id"]]
    assert api.get(f"/recommendations/{plan['id']}", headers=user.auth).json()["comment"] == "eat well"
    assert api.get("/recommendations", headers=stranger.auth).json()["items"] == []
    assert api.get(f"/recommendations/{plan['id']}", headers=stranger.auth).status_code == 404
    assert api.get(f"/recommendations/{plan['id']}", headers=manager.auth).status_code == 200
    by_user = api.get("/recommendations", headers=manager.auth, params={"user_id": user.user_id}).json()["items"]
    assert plan["id"] in [p["id"] for p in by_user]
    edit = api.put(f"/recommendations/{plan['id']}", headers=manager.auth, json={"days": body["days"]})
    assert edit.status_code == 409


def test_automatic_draft_fits_the_goal_and_can_be_edited(api: httpx.Client) -> None:
    rid, dishes = new_restaurant(api, MENU)
    manager = staff(api, "manager")
    user = register(api)
    profile_of(api, user)
    known_to_recommendations(api, manager, user, rid, [d["id"] for d in dishes])
    resp = api.post("/recommendations/draft", headers=manager.auth, json={
        "user_id": user.user_id, "restaurant_id": rid, "week_start": WEEK.isoformat(), "goal": 1800})
    assert resp.status_code == 201, resp.text
    draft = resp.json()
    assert draft["status"] == "draft" and len(draft["days"]) == 7
    for day in draft["days"]:
        chosen = [d["id"] for m in day["meals"] for d in m["dishes"]]
        assert len(chosen) == len(set(chosen)), f"a dish twice on {day['date']}"
        assert {m["meal"] for m in day["meals"]} == {"breakfast", "lunch", "dinner"}
        assert abs(sum(d["calories"] for m in day["meals"] for d in m["dishes"]) - 1800) <= 90, day

    edited_days = [{"date": d["date"], "meals": [{"meal": m["meal"], "dish_ids": [x["id"] for x in m["dishes"]]}
                                                 for m in d["meals"]]} for d in draft["days"]]
    edited_days[0]["meals"] = [{"meal": "lunch", "dish_ids": [dishes[1]["id"]]}]
    edited = api.put(f"/recommendations/{draft['id']}", headers=manager.auth, json={"days": edited_days})
    assert edited.status_code == 200 and edited.json()["days"][0]["calories"] == 350
    assert edited.json()["version"] == 2


@pytest.mark.parametrize("missing", ["user_id", "restaurant_id", "week_start"])
def test_draft_needs_its_inputs(api: httpx.Client, missing: str) -> None:
    manager = staff(api, "manager")
    body = {"user_id": str(uuid.uuid4()), "restaurant_id": str(uuid.uuid4()), "week_start": "2026-11-30"}
    del body[missing]
    resp = api.post("/recommendations/draft", headers=manager.auth, json=body)
    assert resp.status_code == 422 and missing in resp.json()["detail"]


def test_draft_refuses_what_it_cannot_plan(api: httpx.Client) -> None:
    rid, dishes = new_restaurant(api, MENU[:2])
    manager = staff(api, "manager")
    user = register(api)
    profile_of(api, user)
    known_to_recommendations(api, manager, user, rid, [d["id"] for d in dishes])
    body = {"user_id": user.user_id, "restaurant_id": rid, "week_start": "2026-11-30", "goal": 2000}
    no_goal = api.post("/recommendations/draft", headers=manager.auth, json={k: v for k, v in body.items()
                                                                               if k != "goal"})
    assert no_goal.status_code == 422 and "no daily calorie goal" in no_goal.json()["detail"]
    twice = api.post("/recommendations/draft", headers=manager.auth, json={**body, "meals": ["lunch", "lunch"]})
    assert twice.status_code == 422 and "No draft possible" in twice.json()["detail"]


def test_another_manager_cannot_edit_or_publish_a_plan(api: httpx.Client) -> None:
    """Issue 10: any manager could edit or publish another manager's plan. Only its author (or an admin) may."""
    rid, dishes = new_restaurant(api, MENU)
    ids = [d["id"] for d in dishes]
    author, rival = staff(api, "manager"), staff(api, "manager")
    user = register(api)
    profile_of(api, user)
    known_to_recommendations(api, author, user, rid, ids)
    body = plan_body(user, rid, ids[1:3])
    plan = api.post("/recommendations", headers=author.auth, json=body)
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]

    edit = api.put(f"/recommendations/{plan_id}", headers=rival.auth, json={"days": body["days"], "comment": "mine"})
    assert edit.status_code == 403 and edit.headers["content-type"] == "application/problem+json", edit.text
    assert api.post(f"/recommendations/{plan_id}/publish", headers=rival.auth).status_code == 403
    unchanged = api.get(f"/recommendations/{plan_id}", headers=author.auth).json()
    assert (unchanged["status"], unchanged["comment"]) == ("draft", "eat well")

    assert api.put(f"/recommendations/{plan_id}", headers=author.auth,
                   json={"days": body["days"], "comment": "by the author"}).status_code == 200
    published = api.post(f"/recommendations/{plan_id}/publish", headers=admin(api).auth)  # an admin may
    assert published.status_code == 200 and published.json()["comment"] == "by the author"
