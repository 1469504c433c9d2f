"""notifications' rules without I/O: every entry of the table, the schemas it covers, live windows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from apis.notifications import domain
from apis.notifications.domain import NOT_NOTIFIED, NOTIFIED, LiveWindow, NotNotifiable, notice_for

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
USER = str(uuid.uuid4())
ORDER = "0a1b2c3d-0000-4000-8000-000000000001"


def _sample(avro_type: Any) -> Any:
    """A plausible value for an Avro field type, the way fastavro decodes it."""
    if isinstance(avro_type, list):  # a union: its first non-null branch
        return _sample(next(t for t in avro_type if t != "null"))
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        if logical == "date":
            return date(2026, 12, 1)
        if logical and logical.startswith("timestamp"):
            return datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        if avro_type["type"] == "array":
            return [_sample(avro_type["items"])]
        if avro_type["type"] == "record":
            return {f["name"]: _sample(f["type"]) for f in avro_type["fields"]}
        return _sample(avro_type["type"])
    return {"string": "text", "int": 1250, "long": 1250, "double": 1.5, "float": 1.5, "boolean": True}[avro_type]


def sample_event(aggregate_type: str, event_type: str) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / aggregate_type / f"{event_type}.avsc").read_text())
    value = {f["name"]: _sample(f["type"]) for f in schema["fields"]}
    for ids in ("user_id", "order_id", "plan_id", "restaurant_id"):
        if ids in value:
            value[ids] = USER if ids == "user_id" else ORDER
    return value | {"event_type": event_type}


def all_schemas() -> set[tuple[str, str]]:
    return {(p.parent.name, p.stem) for p in SCHEMAS.glob("*/*.avsc")}


def test_every_event_type_is_either_notified_or_deliberately_not() -> None:
    undecided = {e for _, e in all_schemas()} - set(NOTIFIED) - NOT_NOTIFIED
    assert not undecided, (f"new event types {sorted(undecided)}: add a line to NOTIFIED in "
                           "apis/notifications/domain.py, or name them in NOT_NOTIFIED")
    assert not set(NOTIFIED) & NOT_NOTIFIED


@pytest.mark.parametrize("event_type", sorted(NOTIFIED))
def test_each_notified_event_renders_for_its_recipient(event_type: str) -> None:
    template = NOTIFIED[event_type]
    assert (template.aggregate_type, event_type) in all_schemas(), "the table names a schema that does not exist"
    notice = notice_for(event_type, sample_event(template.aggregate_type, event_type))
    assert notice is not None
    assert notice.user_id == uuid.UUID(USER) and notice.kind == template.kind
    for text in (notice.title, notice.body):
        assert text and "{" not in text and "None" not in text, text
    json.dumps(notice.data)  # stored as jsonb: only JSON values
    if "order_id" in sample_event(template.aggregate_type, event_type):
        assert notice.data["order_id"] == ORDER


def test_kinds_are_distinct() -> None:
    kinds = [t.kind for t in NOTIFIED.values()]
    assert len(kinds) == len(set(kinds))


@pytest.mark.parametrize(("event_type", "fields", "title", "body"), [
    ("UserRegistered", {"name": "Ann"}, "Welcome to Calories, Ann!",
     "Log what you eat in your diary; a nutrition manager can plan your weeks."),
    ("RecommendationPublished", {"week_start": date(2026, 11, 30), "comment": None,
                                 "days": [{}] * 7},
     "Your meal plan for the week of 2026-11-30 is ready", "Your nutrition manager published a plan for 7 days."),
    ("RecommendationPublished", {"week_start": date(2026, 11, 30), "comment": "less sugar", "days": [{}] * 7},
     "Your meal plan for the week of 2026-11-30 is ready",
     'Your nutrition manager published a plan for 7 days. Their note: "less sugar"'),
    ("OrderCreated", {"order_id": ORDER, "total": 12050, "days": [{}] * 3}, "Order 0a1b2c3d received",
     "3 days, 120.50 in total: we are checking the kitchen and a courier."),
    ("OrderRejected", {"order_id": ORDER, "reason": "no courier on 2026-12-02"}, "Order 0a1b2c3d was rejected",
     "Reason: no courier on 2026-12-02. Nothing was charged for it."),
    ("OrderCancelled", {"order_id": ORDER, "reason": "changed my mind"}, "Order 0a1b2c3d was cancelled",
     "Reason: changed my mind."),
    ("OrderPaymentFailed", {"order_id": ORDER, "amount": 900, "reason": "insufficient funds"},
     "Payment for order 0a1b2c3d failed", "Reason: insufficient funds."),
    ("PaymentRefunded", {"order_id": ORDER, "amount": 5, "reason": "order expired"}, "0.05 refunded",
     "Refund for order 0a1b2c3d. Reason: order expired."),
    ("DayPickedUp", {"order_id": ORDER, "date": date(2026, 12, 1)}, "Your meals for 2026-12-01 are on the way",
     "A courier picked up order 0a1b2c3d's meals for 2026-12-01."),
])
def test_texts_say_what_happened_with_the_reason(event_type: str, fields: dict, title: str, body: str) -> None:
    notice = notice_for(event_type, {"user_id": USER, **fields})
    assert (notice.title, notice.body) == (title, body)


def test_data_keeps_the_ids_and_figures_as_json() -> None:
    notice = notice_for("DayDelivered", {"user_id": USER, "order_id": ORDER, "date": date(2026, 12, 1),
                                         "courier_id": "c1"})
    assert notice.data == {"order_id": ORDER, "date": "2026-12-01"}


def test_events_outside_the_table_notify_nobody() -> None:
    assert notice_for("OrderReserved", {"user_id": USER, "order_id": ORDER}) is None
    assert notice_for("SomethingNew", {}) is None


@pytest.mark.parametrize("value", [{}, {"user_id": "not-a-uuid", "order_id": ORDER}])
def test_an_event_without_a_valid_recipient_can_never_notify(value: dict) -> None:
    with pytest.raises(NotNotifiable, match="recipient"):
        notice_for("OrderCompleted", value)


def test_an_event_missing_a_templated_field_can_never_notify() -> None:
    with pytest.raises(NotNotifiable, match="reason"):
        notice_for("OrderRejected", {"user_id": USER, "order_id": ORDER})


def test_money_is_minor_units() -> None:
    assert [domain.money(n) for n in (0, 5, 1250, 100000, -250)] == ["0.00", "0.05", "12.50", "1000.00", "-2.50"]


def test_the_notifier_reads_every_topic_the_table_names() -> None:
    assert domain.notified_aggregate_types() == ["auth.account", "delivery.booking", "orders.order",
                                                 "payments.payment", "recommendations.plan"]


def test_a_live_window_sends_each_notification_once_even_when_commits_come_out_of_order() -> None:
    window = LiveWindow(floor=10, settle=10)
    assert window.take([9, 10, 11, 13], now=0) == [11, 13]
    assert window.take([11, 13], now=1) == []
    assert window.take([11, 12, 13], now=2) == [12]  # 12 committed after 13 was sent
    assert window.floor == 10  # nothing settled yet: a late commit below 13 could still come
    assert window.take([11, 12, 13, 14], now=12) == [14]
    assert window.floor == 13  # 11, 12 and 13 were sent 10 s ago: everything up to 13 is in
    assert window.take([14], now=13) == []
    assert window.take([14, 15], now=30) == [15] and window.floor == 14
