"""delivery's rules without I/O: courier capacity, the saga reactions per booking state, task moves."""

from datetime import date

import pytest

from apis.delivery import domain

D1, D2, D3 = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)


def test_a_date_is_full_when_its_used_slots_reach_the_capacity() -> None:
    assert domain.first_full_date([D1, D2], {}, 2) is None
    assert domain.first_full_date([D1, D2], {D1: 1, D2: 1}, 2) is None
    assert domain.first_full_date([D2, D1], {D2: 2}, 2) == D2
    # the earliest full date is the one named, whatever order the dates came in
    assert domain.first_full_date([D3, D2, D1], {D3: 5, D2: 2}, 2) == D2
    assert domain.first_full_date([D1], {D1: 0}, 0) == D1  # no couriers at all
    assert domain.rejection_reason(D1) == "no courier free on 2026-11-27"


def test_release_reasons_name_what_happened() -> None:
    assert domain.release_reason("OrderCancelled", "changed my mind") == "order cancelled: changed my mind"
    assert domain.release_reason("OrderPaymentFailed", "balance too low") == "payment failed: balance too low"
    assert "expired" in domain.release_reason("OrderExpired", None)


def test_a_reservation_books_once_and_never_for_an_order_that_already_ended() -> None:
    assert domain.reserve_action(None, []) == "book"
    assert domain.reserve_action(None, [domain.EARLY_PAID, domain.EARLY_PREPARED]) == "book"
    assert domain.reserve_action(None, [domain.EARLY_RELEASE]) == "ignore"  # version file
    for status in (domain.PENDING, domain.CONFIRMED, domain.RELEASED, domain.REJECTED):
        assert domain.reserve_action(status, []) == "ignore"  # a repeat applies nothing


@pytest.mark.parametrize(("status", "release", "confirm"), [
    (None, "record", "record"),
    (domain.PENDING, "apply", "apply"),
    (domain.CONFIRMED, "ignore", "ignore"),   # past the pivot: never released
    (domain.RELEASED, "ignore", "ignore"),    # semantic lock: a released booking cannot be confirmed
    (domain.REJECTED, "ignore", "ignore"),
])
def test_release_and_confirm_by_booking_state(status, release, confirm) -> None:
    assert domain.release_action(status) == release
    assert domain.confirm_action(status) == confirm


def test_a_prepared_day_readies_only_a_waiting_task() -> None:
    assert domain.prepared_action(None) == "record"
    assert domain.prepared_action(domain.WAITING_KITCHEN) == "apply"
    for status in (domain.READY, domain.PICKED_UP, domain.DELIVERED):
        assert domain.prepared_action(status) == "ignore"
    assert domain.first_task_status(prepared_early=True) == domain.READY
    assert domain.first_task_status(prepared_early=False) == domain.WAITING_KITCHEN


def test_pick_up_only_a_ready_task_and_repeating_it_changes_nothing() -> None:
    assert domain.pick_up(domain.READY, None, "c1") is True
    assert domain.pick_up(domain.PICKED_UP, "c1", "c1") is False
    assert domain.pick_up(domain.DELIVERED, "c1", "c1") is False
    with pytest.raises(domain.Refused, match="waiting_kitchen") as refused:
        domain.pick_up(domain.WAITING_KITCHEN, None, "c1")
    assert refused.value.status == 409
    with pytest.raises(domain.Refused, match="another courier") as refused:
        domain.pick_up(domain.PICKED_UP, "c1", "c2")
    assert refused.value.status == 409


def test_deliver_only_what_this_courier_picked_up() -> None:
    assert domain.deliver(domain.PICKED_UP, "c1", "c1") is True
    assert domain.deliver(domain.DELIVERED, "c1", "c1") is False
    for status in (domain.PICKED_UP, domain.DELIVERED):
        with pytest.raises(domain.Refused) as refused:
            domain.deliver(status, "c1", "c2")
        assert refused.value.status == 403
    for status in (domain.WAITING_KITCHEN, domain.READY):
        with pytest.raises(domain.Refused, match=status) as refused:
            domain.deliver(status, None, "c1")
        assert refused.value.status == 409
