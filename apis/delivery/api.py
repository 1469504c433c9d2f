"""delivery's routes: the couriers' tasks. Bookings are made by the saga (stream_processors/delivery_bookings.py)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from apis.delivery import domain, service
from apis.delivery.schemas import DayOut, TaskOut, TaskPage, TaskStatus
from apis.delivery.settings import DeliverySettings
from chassis.problems import problem_responses
from chassis.security import Principal, require_roles
from chassis.service import Service
from chassis.web import current_service

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["delivery"], responses=problem_responses(401, 422, 503))
Svc = Annotated[Service[DeliverySettings], Depends(current_service)]  # app.py gives it DeliverySettings
Courier = Annotated[Principal, require_roles("courier")]
Dispatcher = Annotated[Principal, require_roles("courier", "admin")]



def _out(row) -> TaskOut:
    return TaskOut.model_validate(row, from_attributes=True)


@router.get("/tasks", response_model=TaskPage, responses=problem_responses(400, 403))
def list_tasks(svc: Svc, courier: Courier,
               status: Annotated[list[TaskStatus] | None,
                                 Query(description="repeatable; default: ready and picked_up")] = None,
               order_id: uuid.UUID | None = None, cursor: str | None = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> TaskPage:
    """Tasks open for pickup (nobody's yet) and the courier's own; never another courier's."""
    rows, next_cursor = service.list_tasks(uow=svc.uow(), statuses=status or domain.OPEN_TASKS, order_id=order_id,
                                           cursor=cursor, limit=limit, courier_id=uuid.UUID(courier.user_id))
    return TaskPage(items=[_out(r) for r in rows], next_cursor=next_cursor)


@router.post("/tasks/{task_id}/picked-up", response_model=TaskOut, responses=problem_responses(403, 404, 409))
def picked_up(task_id: uuid.UUID, svc: Svc, courier: Courier) -> TaskOut:
    return _out(service.pick_up(uow=svc.uow(), task_id=task_id, courier_id=uuid.UUID(courier.user_id)))


@router.post("/tasks/{task_id}/delivered", response_model=TaskOut, responses=problem_responses(403, 404, 409))
def delivered(task_id: uuid.UUID, svc: Svc, courier: Courier) -> TaskOut:
    return _out(service.deliver(uow=svc.uow(), task_id=task_id, courier_id=uuid.UUID(courier.user_id)))


@router.get("/days/{day}", response_model=DayOut, responses=problem_responses(403))
def day_slots(day: date, svc: Svc, _: Dispatcher) -> DayOut:
    """Courier slots on one date: capacity, held by pending or confirmed bookings, and free."""
    capacity = svc.settings.delivery_slots_per_day
    return DayOut.model_validate(service.day_slots(uow=svc.uow(), day=day, capacity=capacity))
