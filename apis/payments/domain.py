"""payments' rules, free of I/O: when an order may be paid, what a payment does, how a copy closes.

Order of the payment rules (SPEC §5, docs/saga.md): the semantic lock first (only an order payments
has seen reach AWAITING_PAYMENT is payable), then ownership, then a closed order, then the first
answer for a repeat (one payment per order), then the order's payment deadline, then the exact
total, then the balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

AWAITING, CLOSED = "awaiting", "closed"
SUCCEEDED, FAILED, REFUNDED = "succeeded", "failed", "refunded"
DEPOSIT, CHARGE, REFUND = "deposit", "charge", "refund"

# Money in minor units; a ceiling keeps sums far inside bigint and catches a client's unit mistake.
MAX_AMOUNT = 100_000_000_00

# orders' events that end an order before or instead of its fulfilment, and how payments says so.
CLOSING_EVENTS = {"OrderCancelled": "cancelled", "OrderExpired": "expired", "OrderRejected": "rejected"}


@dataclass(frozen=True)
class Refusal:
    """The payment is refused without touching money: an HTTP problem with this status and detail."""

    status: int
    detail: str


@dataclass(frozen=True)
class Replay:
    """The order already has a payment: answer with it, charge nothing."""

    payment: Any


@dataclass(frozen=True)
class Settlement:
    status: str  # SUCCEEDED or FAILED
    reason: str | None


def before_charging(*, order_id: str, user_id: str, amount: int, copy: Any | None,
                    payment: Any | None, now: datetime | None = None) -> Refusal | Replay | None:
    """Everything decided before the wallet is looked at; None means: go on and settle.

    `copy` and `payment` are payments' rows for the order (attributes user_id, total, status, reason,
    and the copy's expires_at: the deadline, None when orders did not send one), or None when there is
    none. `now` is when the payment is made; without it the deadline is not judged.
    """
    if copy is None:
        # No copy = orders never told us it awaits payment: still PENDING, or not an order at all.
        return Refusal(409, f"order {order_id} is not awaiting payment: its kitchen and courier are not "
                            "reserved yet (or there is no such order); pay once it is AWAITING_PAYMENT.")
    if str(copy.user_id) != str(user_id):
        # Someone else's order is indistinguishable from no order.
        return Refusal(404, f"No order {order_id} of yours to pay.")
    if copy.status == CLOSED:
        return Refusal(409, f"order {order_id} was {copy.reason or 'closed'} and can no longer be paid.")
    if payment is not None:
        return Replay(payment)
    deadline = getattr(copy, "expires_at", None)
    if now is not None and deadline is not None and now >= deadline:
        return Refusal(409, f"order {order_id} was not paid by its deadline {deadline.isoformat()}; it can no "
                            "longer be paid and will expire (nothing was charged).")
    if amount != copy.total:
        return Refusal(422, f"amount {amount} does not match the order's total {copy.total}; "
                            "pay exactly the total.")
    return None


def settle(*, balance: int, amount: int) -> Settlement:
    """A short balance fails the payment (recorded, never retried); otherwise the wallet is charged."""
    if balance < amount:
        return Settlement(FAILED, f"insufficient funds: balance {balance}, total {amount}")
    return Settlement(SUCCEEDED, None)


def closed_reason(event_type: str, reason: str | None) -> str:
    """What the closed copy says, e.g. 'cancelled (changed my mind)' or 'expired'."""
    word = CLOSING_EVENTS[event_type]
    return f"{word} ({reason})" if reason else word


def refund_reason(event_type: str) -> str:
    """The PaymentRefunded reason: which closing of the order gave the money back."""
    return f"order {CLOSING_EVENTS[event_type]}"


def needs_refund(payment: Any | None) -> bool:
    """Only a charge that landed and was not given back yet is refunded: a repeat refunds nothing."""
    return payment is not None and payment.status == SUCCEEDED


def conserved(*, deposits: int, charges: int, refunds: int, balance: int) -> bool:
    return deposits - charges + refunds == balance
