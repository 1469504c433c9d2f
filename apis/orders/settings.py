"""orders' settings (CALORIES_* environment variables)."""

from __future__ import annotations

from chassis.service import ServiceSettings


class OrderSettings(ServiceSettings):
    # An order not paid within this time expires, with the same compensations as a cancellation.
    order_payment_deadline_seconds: int = 900
    # Without an Idempotency-Key, the same order from the same user within this window is a retry.
    order_natural_key_window_seconds: int = 600
    # The expiry sweep waits this long after the deadline before expiring an order, so that an
    # OrderPaid for a payment accepted just before the deadline (payments refuses one after it) still
    # reaches orders and activates it. Longer than the usual payments → orders event delay.
    order_payment_grace_seconds: int = 30
    # At most this many unpaid orders (PENDING + AWAITING_PAYMENT) per user; one more is refused with
    # 409 until one is paid, cancelled, rejected or expired. Unpaid orders hold kitchen portions and
    # courier slots, so this bounds what one account can hold hostage.
    order_max_open_per_user: int = 12
    # At most this many portions held by one user's unpaid orders together (every dish, quantity and
    # day); an order that would pass it is refused with 409. Bounds the kitchen capacity one account
    # can hold, whatever the size of each order.
    order_max_open_portions_per_user: int = 60
    # At most this many orders placed per user in any window of order_rate_window_seconds; one more is
    # refused with 429 and Retry-After. Replays (same Idempotency-Key or natural key) do not count.
    order_rate_limit: int = 20
    # Each order's steps (the saga view of GET /orders/{id}) are pruned after this many days.
    order_history_retention_days: int = 400
    order_rate_window_seconds: int = 60
