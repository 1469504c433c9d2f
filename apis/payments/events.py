"""Events payments publishes (schemas in schemas/payments.payment/ and schemas/payments.wallet/)."""

from __future__ import annotations

import dataclasses

from chassis.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class _PaymentEvent(Event):
    aggregate_type = "payments.payment"  # keyed by order id
    order_id: str
    user_id: str
    amount: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPaid(_PaymentEvent):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPaymentFailed(_PaymentEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentRefunded(_PaymentEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class WalletDeposited(Event):
    aggregate_type = "payments.wallet"  # keyed by user id
    user_id: str
    amount: int
    balance: int
