"""Events payments publishes (schemas in schemas/payments.payment/ and schemas/payments.wallet/)."""

from __future__ import annotations

from chassis.events import Event


class _PaymentEvent(Event):
    aggregate_type = "payments.payment"  # keyed by order id
    order_id: str
    user_id: str
    amount: int


class OrderPaid(_PaymentEvent):
    pass


class OrderPaymentFailed(_PaymentEvent):
    reason: str


class PaymentRefunded(_PaymentEvent):
    reason: str


class WalletDeposited(Event):
    aggregate_type = "payments.wallet"  # keyed by user id
    user_id: str
    amount: int
    balance: int
