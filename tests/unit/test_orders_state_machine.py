"""The order's state machine: every (status, event) pair, the ones that move it and the ones
that must not (a late, repeated or raced event changes nothing)."""

from __future__ import annotations

import itertools

import pytest

from apis.delivery.events import DeliveryRejected, DeliveryReserved
from apis.orders.domain import TERMINAL, TRANSITIONS, OrderStatus, next_status
from apis.orders.events import OrderCancelled, OrderCompleted, OrderExpired
from apis.payments.events import OrderPaid, OrderPaymentFailed
from apis.restaurants.events import OrderReserveRejected

S = OrderStatus
EXPECTED = {
    (S.PENDING, OrderReserveRejected): S.REJECTED,
    (S.PENDING, DeliveryRejected): S.REJECTED,
    (S.PENDING, DeliveryReserved): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, OrderPaymentFailed): S.REJECTED,
    (S.AWAITING_PAYMENT, OrderPaid): S.ACTIVE,
    (S.PENDING, OrderCancelled): S.CANCELLED,
    (S.AWAITING_PAYMENT, OrderCancelled): S.CANCELLED,
    (S.PENDING, OrderExpired): S.EXPIRED,
    (S.AWAITING_PAYMENT, OrderExpired): S.EXPIRED,
    (S.ACTIVE, OrderCompleted): S.COMPLETED,
}
CAUSES = sorted({cause for _, cause in EXPECTED}, key=lambda c: c.__name__)


@pytest.mark.parametrize(("status", "cause"), list(itertools.product(S, CAUSES)),
                         ids=lambda x: getattr(x, "__name__", str(x)))
def test_every_pair(status: OrderStatus, cause: type) -> None:
    assert next_status(status, cause) == EXPECTED.get((status, cause))


def test_the_table_is_exactly_the_expected_one() -> None:
    assert TRANSITIONS == EXPECTED


def test_terminal_statuses_never_move_and_every_status_is_reachable() -> None:
    assert not [pair for pair in TRANSITIONS if pair[0] in TERMINAL]
    reachable = {S.PENDING} | set(TRANSITIONS.values())
    assert reachable == set(S)


def test_a_raced_payment_loses_to_a_cancellation() -> None:
    after_cancel = next_status(S.AWAITING_PAYMENT, OrderCancelled)
    assert after_cancel == S.CANCELLED and next_status(after_cancel, OrderPaid) is None


def test_statuses_are_the_strings_stored_and_shown() -> None:
    assert S.AWAITING_PAYMENT == "AWAITING_PAYMENT" and next_status("PENDING", DeliveryReserved) == "AWAITING_PAYMENT"
