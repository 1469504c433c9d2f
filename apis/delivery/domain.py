"""delivery's rules, free of I/O: courier slots per day, what each saga event does to a booking,
and what a courier may do to a delivery task."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Literal

# Booking statuses. Only pending and confirmed bookings hold courier slots.
PENDING, CONFIRMED, RELEASED, REJECTED = "pending", "confirmed", "released", "rejected"
HOLDING = (PENDING, CONFIRMED)

# Task statuses, in the order a day's delivery goes through them.
WAITING_KITCHEN, READY, PICKED_UP, DELIVERED = "waiting_kitchen", "ready", "picked_up", "delivered"
OPEN_TASKS = (READY, PICKED_UP)  # what a courier works on: the default of the task list

# Kinds of early events (version file): an event recorded because the one it depends on has not come yet.
EARLY_RELEASE, EARLY_PAID, EARLY_PREPARED = "release", "paid", "prepared"

Action = Literal["apply", "record", "ignore"]


# ---- capacity ----

def first_full_date(dates: Iterable[date], used: Mapping[date, int], capacity: int) -> date | None:
    """The earliest of `dates` with every courier slot taken, or None when each date has one free."""
    for day in sorted(set(dates)):
        if used.get(day, 0) >= capacity:
            return day
    return None


def rejection_reason(day: date) -> str:
    return f"no courier free on {day.isoformat()}"


def release_reason(event_type: str, reason: str | None) -> str:
    """Why the slots were released, as the order's owner would want to read it."""
    if event_type == "OrderPaymentFailed":
        return f"payment failed: {reason}" if reason else "payment failed"
    if event_type == "OrderExpired":
        return "the order expired before it was paid"
    return f"order cancelled: {reason}" if reason else "order cancelled"


# ---- what a saga event does, given the booking as it is now ----

def reserve_action(booking_status: str | None, early_kinds: Iterable[str]) -> Literal["book", "ignore"]:
    """OrderReserved: book once per order; an order that already ended (its cancellation, expiry or
    failed payment came first and was recorded) books nothing, so its slots are never taken."""
    if booking_status is not None or EARLY_RELEASE in set(early_kinds):
        return "ignore"
    return "book"


def release_action(booking_status: str | None) -> Action:
    """OrderCancelled / OrderExpired / OrderPaymentFailed: release held, not yet paid, slots.
    No booking yet: record it, so the reservation that arrives later books nothing.
    Confirmed is past the pivot (payment) and never rolled back; released/rejected hold nothing."""
    if booking_status is None:
        return "record"
    return "apply" if booking_status == PENDING else "ignore"


def confirm_action(booking_status: str | None) -> Action:
    """OrderActivated: confirm a pending booking. A released one stays released (semantic lock: a released
    reservation cannot be confirmed); no booking yet: record, confirmed when the booking is made."""
    if booking_status is None:
        return "record"
    return "apply" if booking_status == PENDING else "ignore"


def prepared_action(task_status: str | None) -> Action:
    """DayPrepared: the day's task may be picked up. No task yet: record, applied when it is created."""
    if task_status is None:
        return "record"
    return "apply" if task_status == WAITING_KITCHEN else "ignore"


def first_task_status(prepared_early: bool) -> str:
    return READY if prepared_early else WAITING_KITCHEN


# ---- what a courier may do to a task ----

class Refused(Exception):
    """A courier's request the task's state does not allow; `status` is the HTTP status to answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def pick_up(status: str, task_courier: str | None, courier: str) -> bool:
    """True: the task moves to picked_up; False: this courier already did it (answer it unchanged)."""
    if status == READY:
        return True
    if status in (PICKED_UP, DELIVERED):
        if task_courier == courier:
            return False
        raise Refused(409, f"the task is {status} by another courier")
    raise Refused(409, f"the task is {status}: the kitchen has not prepared this day's meals, "
                       "so there is nothing to pick up yet")


def deliver(status: str, task_courier: str | None, courier: str) -> bool:
    """True: the task moves to delivered; False: this courier already did it (answer it unchanged).
    Only the courier who picked the meals up can have delivered them."""
    if status in (PICKED_UP, DELIVERED):
        if task_courier != courier:
            raise Refused(403, "only the courier who picked this task up may mark it delivered")
        return status == PICKED_UP
    raise Refused(409, f"the task is {status}: it must be picked up before it can be delivered")
