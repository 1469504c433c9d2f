"""The group instance id of a local processor (static membership, chassis/settings.py): stable while
the worker subscribes to the same topics, new when its subscription changes, because a static
member that rejoins in time keeps its old assignment whatever it now subscribes to."""

from __future__ import annotations

import importlib

from chassis.streams import static_instance_id


def test_the_id_is_stable_for_the_same_topics_in_any_order() -> None:
    assert static_instance_id("orders_saga", {"a", "b"}) == static_instance_id("orders_saga", {"b", "a"})
    assert static_instance_id("orders_saga", {"a"}).startswith("orders_saga-")


def test_a_changed_subscription_or_worker_gets_a_new_id() -> None:
    base = static_instance_id("records_totals", {"calories.records.diary"})
    assert static_instance_id("records_totals", {"calories.records.diary", "calories.users.profile"}) != base
    assert static_instance_id("records_totals", set()) != base
    assert static_instance_id("users_profiles", {"calories.records.diary"}) != base


def test_a_processor_subscribes_to_its_agents_topics_and_its_tables_changelogs() -> None:
    module = importlib.import_module("stream_processors.records_totals")
    topics = module.app.subscribed_topics()
    assert "calories.records.diary" in topics
    changelogs = {t for t in topics if t.endswith("-changelog")}
    assert changelogs and all(t.startswith("calories-records_totals-") for t in changelogs), topics
