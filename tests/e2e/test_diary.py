"""The food diary through the HTTP entry, and daily totals computed by the Faust processor."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, Producer
from confluent_kafka.admin import AdminClient

from chassis.lag import consumer_lag
from chassis.settings import stack_settings
from tests.e2e.helpers import Account, profile_of, register, staff
from tests.support import SIDE_LANE, TopicReader, caught_up_to, end_offsets, poll_until

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "calories.records.diary"
GROUP = "calories-records_totals"


def with_goal(api: httpx.Client, goal: int) -> Account:
    me = register(api)
    profile_of(api, me)
    assert api.patch("/users/me", headers={**me.auth, "If-Match": '"1"'},
                     json={"daily_calorie_goal": goal}).status_code == 200
    return me


def add(api: httpx.Client, me: Account, at: str, meal: str, text: str, calories: int) -> dict:
    resp = api.post("/records", headers=me.auth, json={"eaten_at": at, "meal": meal, "text": text,
                                                       "calories": calories})
    assert resp.status_code == 201, resp.text
    return resp.json()


def daily(api: httpx.Client, me: Account, start: str = "2026-11-24", end: str = "2026-11-25") -> list[dict]:
    resp = api.get("/records/daily", headers=me.auth, params={"from": start, "to": end})
    assert resp.status_code == 200, resp.text
    return resp.json()["days"]


def wait_for_days(api: httpx.Client, me: Account, expected: list[dict]) -> list[dict]:
    return poll_until(lambda: (d := daily(api, me)) == expected and d, 60, f"daily totals {expected}")


def day(date: str, by_meal: dict[str, int], goal: int | None = 2000) -> dict:
    calories = sum(by_meal.values())
    return {"date": date, "calories": calories, "by_meal": by_meal, "goal": goal,
            "remaining": None if goal is None else goal - calories}


def test_totals_follow_adds_changes_and_removes(api: httpx.Client) -> None:
    me = with_goal(api, 2000)
    add(api, me, "2026-11-24T08:00:00+01:00", "breakfast", "Porridge", 400)
    lunch = add(api, me, "2026-11-24T13:00:00+01:00", "lunch", "Borscht", 600)
    dinner = add(api, me, "2026-11-25T19:00:00+01:00", "dinner", "Pelmeni", 700)
    snack = add(api, me, "2026-11-25T16:00:00+01:00", "snack", "Apple", 150)
    # local dates: 00:30 at +03:00 is still the 25th there, though the 24th in UTC
    add(api, me, "2026-11-25T00:30:00+03:00", "snack", "Kefir", 100)
    wait_for_days(api, me, [day("2026-11-24", {"breakfast": 400, "lunch": 600}),
                            day("2026-11-25", {"dinner": 700, "snack": 250})])

    changed = api.put(f"/records/{lunch['id']}", headers=me.auth, json={
        "eaten_at": "2026-11-24T13:00:00+01:00", "meal": "lunch", "text": "Borscht, large", "calories": 650})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    moved = api.put(f"/records/{snack['id']}", headers=me.auth, json={  # to the other day and meal
        "eaten_at": "2026-11-24T21:00:00+01:00", "meal": "dinner", "text": "Apple", "calories": 150})
    assert moved.status_code == 200
    assert api.delete(f"/records/{dinner['id']}", headers=me.auth).status_code == 204
    assert api.get(f"/records/{dinner['id']}", headers=me.auth).status_code == 404
    wait_for_days(api, me, [day("2026-11-24", {"breakfast": 400, "dinner": 150, "lunch": 650}),
                            day("2026-11-25", {"snack": 100})])

    # the goal is records' copy from users' events: a new goal shows in `remaining`
    assert api.patch("/users/me", headers={**me.auth, "If-Match": '"2"'},
                     json={"daily_calorie_goal": 1800}).status_code == 200
    wait_for_days(api, me, [day("2026-11-24", {"breakfast": 400, "dinner": 150, "lunch": 650}, 1800),
                            day("2026-11-25", {"snack": 100}, 1800)])


def test_entries_list_with_date_filter_and_cursor(api: httpx.Client) -> None:
    me = register(api)
    for hour in range(5):
        add(api, me, f"2026-11-2{4 + hour % 2}T1{hour}:00:00Z", "snack", f"Nuts {hour}", 100 + hour)
    first = api.get("/records", headers=me.auth, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get("/records", headers=me.auth, params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    times = [e["eaten_at"] for e in first["items"] + rest["items"]]
    assert times == sorted(times)
    only_25th = api.get("/records", headers=me.auth, params={"from": "2026-11-25", "to": "2026-11-25"}).json()
    assert {e["date"] for e in only_25th["items"]} == {"2026-11-25"} and len(only_25th["items"]) == 2
    assert api.get("/records", headers=me.auth, params={"cursor": "bogus"}).status_code == 400
    bad = api.post("/records", headers=me.auth, json={"eaten_at": "2026-11-25T12:00:00", "meal": "lunch",
                                                       "text": "x", "calories": -1})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"body.eaten_at", "body.calories"}


def test_manager_reads_habits_and_nobody_else_sees_a_diary(api: httpx.Client) -> None:
    eater = with_goal(api, 2000)
    for d, (lunch, dinner) in enumerate([(600, 800), (650, 700), (550, 900)]):
        add(api, eater, f"2026-11-1{d}T12:00:00Z", "lunch", "Borscht", lunch)
        add(api, eater, f"2026-11-1{d}T19:00:00Z", "dinner", "Pelmeni" if d else "Salad", dinner)
    manager = staff(api, "manager")
    habits = api.get(f"/records/users/{eater.user_id}/habits", headers=manager.auth,
                     params={"from": "2026-11-01", "to": "2026-11-30"})
    assert habits.status_code == 200, habits.text
    h = habits.json()
    assert (h["entries"], h["days_with_entries"]) == (6, 3)
    assert h["average_calories_per_day"] == round((600 + 800 + 650 + 700 + 550 + 900) / 3, 1)
    assert h["average_calories_per_meal"] == {"lunch": 600.0, "dinner": 800.0}
    assert [(f["text"], f["times"]) for f in h["most_frequent"]] == [("Borscht", 3), ("Pelmeni", 2), ("Salad", 1)]
    entries = api.get(f"/records/users/{eater.user_id}", headers=manager.auth).json()["items"]
    assert len(entries) == 6
    totals = poll_until(lambda: (r := api.get(f"/records/users/{eater.user_id}/daily", headers=manager.auth,
                                              params={"from": "2026-11-10", "to": "2026-11-10"}).json()["days"])
                        [0]["calories"] == 1400 and r, 30, "the manager's view of the totals")
    assert totals[0]["goal"] == 2000

    other = register(api)
    for path in (f"/records/users/{eater.user_id}", f"/records/users/{eater.user_id}/habits",
                 f"/records/users/{eater.user_id}/daily"):
        assert api.get(path, headers=other.auth).status_code == 403
        assert api.get(path, headers=eater.auth).status_code == 403  # the manager views are for managers
    entry_id = entries[0]["id"]
    for method in ("GET", "PUT", "DELETE"):
        resp = api.request(method, f"/records/{entry_id}", headers=other.auth, json={
            "eaten_at": "2026-11-10T12:00:00Z", "meal": "lunch", "text": "mine now", "calories": 1})
        assert resp.status_code == 404, method
    assert api.get("/records", headers=other.auth).json()["items"] == []
    assert all(d["calories"] == 0 for d in daily(api, other, "2026-11-10", "2026-11-12"))
    assert api.get("/records").status_code == 401


def wait_caught_up(timeout: float, what: str) -> None:
    """Until records_totals has consumed the diary topic up to where it ends now."""
    ends = end_offsets([TOPIC])
    poll_until(lambda: caught_up_to(GROUP, ends), timeout, what)


@pytest.fixture
def diary() -> Iterator[TopicReader]:
    """The diary topic from where it ends before the test: every diary event the test causes."""
    reader = TopicReader(TOPIC)
    yield reader
    reader.close()


def test_every_event_delivered_twice_changes_no_total(api: httpx.Client, diary: TopicReader) -> None:
    me = with_goal(api, 2000)
    entry = add(api, me, "2026-11-24T08:00:00Z", "breakfast", "Eggs", 300)
    add(api, me, "2026-11-25T08:00:00Z", "breakfast", "Toast", 250)
    api.put(f"/records/{entry['id']}", headers=me.auth, json={"eaten_at": "2026-11-24T08:00:00Z",
                                                              "meal": "breakfast", "text": "Eggs", "calories": 320})
    expected = [day("2026-11-24", {"breakfast": 320}), day("2026-11-25", {"breakfast": 250})]
    wait_for_days(api, me, expected)

    producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    originals = [m for m in diary.read_to_end(60) if m.key().decode() == me.user_id]
    assert len(originals) >= 3
    for msg in originals:
        producer.produce(TOPIC, key=msg.key(), value=msg.value(), headers=msg.headers())
    assert producer.flush(10) == 0
    wait_caught_up(60, "the totals processor to consume the redeliveries")
    assert daily(api, me) == expected


@pytest.mark.disruptive
@SIDE_LANE
def test_worker_killed_recovers_its_tables_and_a_replay_changes_nothing(
        api: httpx.Client, diary: TopicReader) -> None:
    stack = [sys.executable, str(ROOT / "stack" / "stack.py")]
    me = with_goal(api, 2000)
    soup = add(api, me, "2026-11-24T12:00:00Z", "lunch", "Soup", 420)
    gone = add(api, me, "2026-11-24T13:00:00Z", "dessert", "Cake", 380)
    api.delete(f"/records/{gone['id']}", headers=me.auth)
    wait_for_days(api, me, [day("2026-11-24", {"lunch": 420}), day("2026-11-25", {})])
    wait_caught_up(60, "the totals processor to catch up")

    # 1. kill -9 and start: the tables come back from their changelogs, so changing an entry made
    #    before the crash replaces its old contribution (420 → 500) instead of adding to it.
    subprocess.run([*stack, "kill", "records_totals"], check=True)
    subprocess.run([*stack, "start", "records_totals"], check=True)
    assert api.put(f"/records/{soup['id']}", headers=me.auth, json={
        "eaten_at": "2026-11-24T12:00:00Z", "meal": "lunch", "text": "Soup", "calories": 500}).status_code == 200
    expected = [day("2026-11-24", {"lunch": 500}), day("2026-11-25", {})]
    wait_for_days(api, me, expected)
    wait_caught_up(60, "the totals processor to catch up")

    # 2. stop, rewind the group to where the topic ended when the test began, start: every diary
    #    event since (this test's, and whatever ran beside it) is processed again, and no total
    #    moves. Not from offset 0: on a stack used for weeks that replay alone takes minutes.
    #    The group takes the new offsets only once it has no member: the local processors are
    #    static members (chassis/settings.py), which do not leave on a stop, so this waits out the
    #    stopped worker's 10-s session.
    subprocess.run([*stack, "stop", "records_totals"], check=True)
    admin = AdminClient({"bootstrap.servers": stack_settings().kafka_bootstrap})

    def rewound() -> bool:  # possible once the stopped member's session has ended
        request = ConsumerGroupTopicPartitions(GROUP, diary.start)
        try:
            result = admin.alter_consumer_group_offsets([request])[GROUP].result()
        except Exception:
            return False
        return all(tp.error is None for tp in result.topic_partitions)

    poll_until(rewound, 60, "the consumer group to accept offsets rewound to the test's start")
    assert sum(consumer_lag(stack_settings().kafka_bootstrap, GROUP, TOPIC).values()) > 0
    subprocess.run([*stack, "start", "records_totals"], check=True)
    wait_caught_up(120, "the processor to replay the diary topic from the test's start")
    assert daily(api, me) == expected

    add(api, me, "2026-11-25T09:00:00Z", "breakfast", "Yoghurt", 150)  # and it keeps updating
    wait_for_days(api, me, [day("2026-11-24", {"lunch": 500}), day("2026-11-25", {"breakfast": 150})])


@pytest.mark.parametrize("params", [{"from": "2026-11-25", "to": "2026-11-24"},
                                    {"from": "2025-01-01", "to": "2026-11-25"}, {"from": "yesterday"}])
def test_bad_ranges_are_problems(api: httpx.Client, params: dict) -> None:
    me = register(api)
    resp = api.get("/records/daily", headers=me.auth, params=params)
    assert resp.status_code in (400, 422) and resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"]
