"""Issue 10, the pure rules: a dish repeated in one meal is one line with the summed quantity;
payments refuses a payment at or after the order's deadline (but still replays a payment made)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from apis.orders.domain import MenuItem, price_days
from apis.payments import domain

R = "r-1"
MENU = {"soup": MenuItem("soup", R, "Borscht", 350, 450, True), "tea": MenuItem("tea", R, "Tea", 5, 100, True)}
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_repeated_dish_in_a_meal_is_merged_into_one_line_with_the_summed_quantity() -> None:
    days = [{"date": "2026-12-01", "meals": [{"meal": "lunch", "dishes": [
        {"dish_id": "soup", "quantity": 1}, {"dish_id": "tea", "quantity": 1}, {"dish_id": "soup", "quantity": 2}]}]}]
    priced, total, problems = price_days(days, MENU, R)
    assert problems == [] and total == 3 * 450 + 100
    assert [(x["dish_id"], x["quantity"]) for x in priced[0]["meals"][0]["dishes"]] == [("soup", 3), ("tea", 1)]
    assert days[0]["meals"][0]["dishes"][0]["quantity"] == 1  # the request itself is not changed


def copy(expires_at: datetime | None) -> SimpleNamespace:
    return SimpleNamespace(user_id="u", total=500, status=domain.AWAITING, reason=None, expires_at=expires_at)


def test_payment_after_the_order_deadline_is_refused_with_409() -> None:
    late = domain.before_charging(order_id="o", user_id="u", amount=500, copy=copy(NOW - timedelta(seconds=1)),
                                  payment=None, now=NOW)
    assert isinstance(late, domain.Refusal) and late.status == 409 and "deadline" in late.detail
    at_it = domain.before_charging(order_id="o", user_id="u", amount=500, copy=copy(NOW), payment=None, now=NOW)
    assert isinstance(at_it, domain.Refusal)


def test_payment_before_the_deadline_or_without_one_goes_on_and_a_made_payment_replays() -> None:
    for deadline in (NOW + timedelta(seconds=1), None):
        assert domain.before_charging(order_id="o", user_id="u", amount=500, copy=copy(deadline), payment=None,
                                      now=NOW) is None
    made = SimpleNamespace(status=domain.SUCCEEDED)
    replay = domain.before_charging(order_id="o", user_id="u", amount=500, copy=copy(NOW - timedelta(hours=1)),
                                    payment=made, now=NOW)
    assert isinstance(replay, domain.Replay)
