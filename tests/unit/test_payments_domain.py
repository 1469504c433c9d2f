"""payments' rules without I/O: the order of the payment rules, settling, closing and refunding."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from apis.payments import domain
from apis.payments.schemas import DepositIn, PaymentIn

ME, OTHER, ORDER = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


def copy(status: str = domain.AWAITING, total: int | None = 1250, user_id: str = ME, reason: str | None = None):
    return SimpleNamespace(user_id=uuid.UUID(user_id), total=total, status=status, reason=reason)


def payment(status: str = domain.SUCCEEDED):
    return SimpleNamespace(status=status, amount=1250)


def decide(copy_row, payment_row=None, user_id: str = ME, amount: int = 1250):
    return domain.before_charging(order_id=ORDER, user_id=user_id, amount=amount, copy=copy_row, payment=payment_row)


def test_an_order_payments_has_not_seen_awaiting_payment_is_locked() -> None:
    refusal = decide(None)
    assert isinstance(refusal, domain.Refusal) and refusal.status == 409
    assert f"order {ORDER} is not awaiting payment" in refusal.detail


def test_someone_elses_order_looks_like_no_order_even_when_closed_or_paid() -> None:
    for row in (copy(), copy(status=domain.CLOSED, reason="expired")):
        assert decide(row, payment(), user_id=OTHER) == domain.Refusal(404, f"No order {ORDER} of yours to pay.")


def test_a_closed_order_is_refused_saying_why_before_any_replay() -> None:
    refusal = decide(copy(status=domain.CLOSED, reason="cancelled (changed my mind)"), payment(domain.REFUNDED))
    assert refusal.status == 409 and "was cancelled (changed my mind)" in refusal.detail


def test_a_paid_or_failed_order_answers_with_its_first_payment_whatever_the_amount() -> None:
    for status in (domain.SUCCEEDED, domain.FAILED):
        first = payment(status)
        assert decide(copy(), first, amount=1) == domain.Replay(first)


def test_the_amount_must_be_the_exact_total() -> None:
    refusal = decide(copy(total=1250), amount=1000)
    assert refusal.status == 422 and "amount 1000" in refusal.detail and "total 1250" in refusal.detail
    assert decide(copy(total=1250), amount=1250) is None


def test_settling_charges_a_sufficient_balance_and_fails_a_short_one() -> None:
    assert domain.settle(balance=1250, amount=1250) == domain.Settlement(domain.SUCCEEDED, None)
    assert domain.settle(balance=0, amount=0) == domain.Settlement(domain.SUCCEEDED, None)
    assert domain.settle(balance=500, amount=1250) == domain.Settlement(
        domain.FAILED, "insufficient funds: balance 500, total 1250")


def test_closing_reasons_and_refund_reasons() -> None:
    assert domain.closed_reason("OrderCancelled", "changed my mind") == "cancelled (changed my mind)"
    assert domain.closed_reason("OrderExpired", None) == "expired"
    assert domain.closed_reason("OrderRejected", "no courier") == "rejected (no courier)"
    assert [domain.refund_reason(t) for t in ("OrderCancelled", "OrderExpired", "OrderRejected")] == [
        "order cancelled", "order expired", "order rejected"]


def test_only_a_charge_not_yet_given_back_is_refunded() -> None:
    assert domain.needs_refund(payment(domain.SUCCEEDED))
    assert not domain.needs_refund(payment(domain.REFUNDED))
    assert not domain.needs_refund(payment(domain.FAILED))
    assert not domain.needs_refund(None)


def test_conservation() -> None:
    assert domain.conserved(deposits=5000, charges=1250, refunds=1250, balance=5000)
    assert not domain.conserved(deposits=5000, charges=1250, refunds=0, balance=5000)


@pytest.mark.parametrize("amount", [0, -1, "5000", 12.5, True, domain.MAX_AMOUNT + 1])
def test_deposits_are_positive_whole_minor_units(amount: object) -> None:
    with pytest.raises(ValidationError):
        DepositIn(amount=amount)
    assert DepositIn(amount=1).amount == 1


def test_a_payment_names_an_order_id_and_a_whole_amount() -> None:
    with pytest.raises(ValidationError):
        PaymentIn(order_id="nope", amount=5)
    with pytest.raises(ValidationError):
        PaymentIn(order_id=ORDER, amount="5")
    with pytest.raises(ValidationError):
        PaymentIn(order_id=ORDER, amount=5, extra=1)
