"""Defect: outbox, inbox and early-event rows were never pruned, so storage grew forever. Every
service process prunes them by age (chassis/retention.py, run by chassis/web.py create_app)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from apis.delivery.models import early_events
from chassis.outbox import inbox, outbox
from chassis.retention import Retention, chassis_retention, prune
from chassis.settings import ServiceSettings

NOW = datetime.now(UTC)


def test_old_outbox_inbox_and_early_event_rows_go_and_new_ones_stay(tier) -> None:
    settings = ServiceSettings()
    rules = [*chassis_retention(settings),
             Retention(early_events, "recorded_at", timedelta(seconds=settings.early_event_retention_seconds))]
    with tier("delivery").uow() as uow:
        s = uow.session
        ids = {age: uuid.uuid4() for age in ("old", "new")}
        ages = {"old": timedelta(days=60), "new": timedelta(seconds=1)}
        for age, event_id in ids.items():
            s.execute(insert(outbox).values(id=event_id, aggregatetype="stacktest.probe", aggregateid="a",
                                            type="ProbeHappened", payload=b"x", correlation_id="c",
                                            created_at=NOW - ages[age]))
            s.execute(insert(inbox).values(consumer="retention_test", event_id=event_id,
                                           processed_at=NOW - ages[age]))
            s.execute(insert(early_events).values(order_id=event_id, kind="release", payload={},
                                                  recorded_at=NOW - ages[age]))
        # Just inside each retention stays too.
        edge = uuid.uuid4()
        s.execute(insert(inbox).values(consumer="retention_test", event_id=edge,
                                       processed_at=NOW - timedelta(seconds=settings.inbox_retention_seconds - 60)))

        deleted = prune(s, rules, now=NOW)

        assert deleted["outbox"] >= 1 and deleted["inbox"] >= 1 and deleted["early_events"] >= 1
        left = {
            "outbox": set(s.execute(select(outbox.c.id).where(outbox.c.id.in_(ids.values()))).scalars()),
            "inbox": set(s.execute(select(inbox.c.event_id).where(inbox.c.consumer == "retention_test"))
                         .scalars()),
            "early_events": set(s.execute(select(early_events.c.order_id)
                                          .where(early_events.c.order_id.in_(ids.values()))).scalars()),
        }
        assert left == {"outbox": {ids["new"]}, "inbox": {ids["new"], edge}, "early_events": {ids["new"]}}


def test_pruning_runs_in_batches_until_done(tier) -> None:
    with tier("delivery").uow() as uow:
        s = uow.session
        s.execute(insert(inbox), [{"consumer": "retention_batches", "event_id": uuid.uuid4(),
                                   "processed_at": NOW - timedelta(days=30)} for _ in range(25)])
        prune(s, [Retention(inbox, "processed_at", timedelta(days=8))], now=NOW, batch=10)
        assert s.execute(select(func.count()).select_from(inbox)
                         .where(inbox.c.consumer == "retention_batches")).scalar_one() == 0


def test_old_early_releases_and_order_history_go_and_new_ones_stay(tier) -> None:
    from apis.orders.models import history
    from apis.restaurants.models import early_releases

    keep = timedelta(days=30)
    old, new = uuid.uuid4(), uuid.uuid4()
    with tier("restaurants").uow() as uow:
        s = uow.session
        for order_id, age in ((old, timedelta(days=60)), (new, timedelta(seconds=1))):
            s.execute(insert(early_releases).values(order_id=order_id, reason="cancelled", recorded_at=NOW - age))
        prune(s, [Retention(early_releases, "recorded_at", keep)], now=NOW)
        assert set(s.execute(select(early_releases.c.order_id)
                             .where(early_releases.c.order_id.in_([old, new]))).scalars()) == {new}
    with tier("orders").uow() as uow:
        s = uow.session
        for order_id, age in ((old, timedelta(days=500)), (new, timedelta(days=1))):
            s.execute(insert(history).values(order_id=order_id, status="PENDING", event="OrderCreated",
                                             at=NOW - age))
        prune(s, [Retention(history, "at", timedelta(days=400))], now=NOW)
        assert set(s.execute(select(history.c.order_id)
                             .where(history.c.order_id.in_([old, new]))).scalars()) == {new}
