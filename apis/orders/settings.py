"""orders' settings (CALORIES_* environment variables)."""

from __future__ import annotations

from chassis.service import ServiceSettings


class OrderSettings(ServiceSettings):
    # An order not paid within this time expires, with the same compensations as a cancellation.
    order_payment_deadline_seconds: int = 900
    # Without an Idempotency-Key, the same order from the same user within this window is a retry.
    order_natural_key_window_seconds: int = 600
