"""orders' routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from apis.orders import service
from apis.orders.schemas import OrderCreatedOut, OrderIn, OrderOut, OrderPage
from apis.orders.settings import OrderSettings
from chassis.problems import Problem, problem_responses
from chassis.security import CurrentPrincipal
from chassis.service import Service
from chassis.web import current_service

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["orders"], responses=problem_responses(401, 422, 503))
Svc = Annotated[Service[OrderSettings], Depends(current_service)]  # app.py gives it OrderSettings



@router.post("", status_code=201, response_model=OrderCreatedOut,
             responses=problem_responses(400, 403, described={
                 404: "no published recommendation of yours with that id",
                 409: "the same request is in flight, or too many unpaid orders or portions held",
                 422: "invalid, or the key was used for another body",
                 429: "too many orders placed lately: wait Retry-After seconds"}))
def place_order(body: OrderIn, principal: CurrentPrincipal, svc: Svc, response: Response,
                idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> OrderCreatedOut:
    if not principal.has("user"):
        raise Problem(403, "Only a user account can order.")
    answer, _ = service.place_order(uow=svc.uow(), settings=svc.settings, user_id=uuid.UUID(principal.user_id),
                                    body=body.model_dump(mode="json", exclude_none=True),
                                    idempotency_key=idempotency_key)
    response.headers["Location"] = f"/orders/{answer['order_id']}"
    return OrderCreatedOut.model_validate(answer)


@router.get("", response_model=OrderPage, responses=problem_responses(400))
def list_orders(principal: CurrentPrincipal, svc: Svc, cursor: str | None = None,
                limit: Annotated[int, Query(ge=1, le=100)] = 20) -> OrderPage:
    items, next_cursor = service.list_orders(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), cursor=cursor,
                                             limit=limit)
    return OrderPage(items=[OrderOut.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/{order_id}", response_model=OrderOut, responses=problem_responses(404))
def get_order(order_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> OrderOut:
    return OrderOut.model_validate(service.get_order(uow=svc.uow(), order_id=order_id, principal=principal))


@router.post("/{order_id}/cancel", response_model=OrderOut, responses=problem_responses(404, 409))
def cancel_order(order_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> OrderOut:
    return OrderOut.model_validate(service.cancel(uow=svc.uow(), order_id=order_id,
                                                  user_id=uuid.UUID(principal.user_id)))
