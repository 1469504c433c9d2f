"""restaurants' routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from apis.restaurants import domain, reservations, service
from apis.restaurants.schemas import (
    DishIn,
    DishOut,
    MenuOut,
    PreparedIn,
    RestaurantIn,
    RestaurantOut,
    RestaurantPage,
    RestaurantPatch,
)
from chassis.problems import Problem, problem_responses
from chassis.security import CurrentPrincipal, Principal, require_roles
from chassis.web import ServiceDep as Svc

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["restaurants"], responses=problem_responses(401, 422, 503))
Admin = Annotated[Principal, require_roles("admin")]



async def _menu_editor(restaurant_id: uuid.UUID, principal: CurrentPrincipal) -> Principal:  # no thread hop
    if not domain.may_edit_menu(principal, str(restaurant_id)):
        raise Problem(403, "Only this restaurant's staff or an admin may do this.")
    return principal


MenuEditor = Annotated[Principal, Depends(_menu_editor)]


@router.post("", status_code=201, response_model=RestaurantOut, responses=problem_responses(400, 403, 409))
def create_restaurant(body: RestaurantIn, svc: Svc, _: Admin, response: Response) -> RestaurantOut:
    row = service.create_restaurant(uow=svc.uow(), data=body.model_dump())
    response.headers["Location"] = f"/restaurants/{row.id}"
    return RestaurantOut.model_validate(row, from_attributes=True)


@router.get("", response_model=RestaurantPage)
def list_restaurants(principal: CurrentPrincipal, svc: Svc, cursor: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> RestaurantPage:
    rows, next_cursor = service.list_restaurants(uow=svc.uow(), include_inactive=principal.has("admin"),
                                                 after=cursor, limit=limit)
    return RestaurantPage(items=[RestaurantOut.model_validate(r, from_attributes=True) for r in rows],
                          next_cursor=next_cursor)


@router.patch("/{restaurant_id}", response_model=RestaurantOut, responses=problem_responses(400, 403, 404, 409))
def change_restaurant(restaurant_id: uuid.UUID, body: RestaurantPatch, svc: Svc, _: Admin) -> RestaurantOut:
    changes = body.model_dump(exclude_unset=True)
    if not changes or any(v is None for v in changes.values()):
        raise Problem(422, "Send at least one field to change, none of them null.")
    row = service.change_restaurant(uow=svc.uow(), restaurant_id=restaurant_id, changes=changes)
    return RestaurantOut.model_validate(row, from_attributes=True)


@router.get("/{restaurant_id}/menu", response_model=MenuOut, responses=problem_responses(404))
def get_menu(restaurant_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> MenuOut:
    restaurant, dishes = service.menu(uow=svc.uow(), restaurant_id=restaurant_id)
    sections = domain.group_by_kind([DishOut.model_validate(d, from_attributes=True) for d in dishes])
    return MenuOut.model_validate({"restaurant": RestaurantOut.model_validate(restaurant, from_attributes=True),
                                   "sections": sections})


@router.post("/{restaurant_id}/dishes", status_code=201, response_model=DishOut,
             responses=problem_responses(400, 403, 404))
def add_dish(restaurant_id: uuid.UUID, body: DishIn, svc: Svc, _: MenuEditor) -> DishOut:
    return DishOut.model_validate(service.add_dish(uow=svc.uow(), restaurant_id=restaurant_id,
                                                   data=body.model_dump()), from_attributes=True)


@router.put("/{restaurant_id}/dishes/{dish_id}", response_model=DishOut, responses=problem_responses(400, 403, 404))
def replace_dish(restaurant_id: uuid.UUID, dish_id: uuid.UUID, body: DishIn, svc: Svc, _: MenuEditor) -> DishOut:
    return DishOut.model_validate(service.replace_dish(uow=svc.uow(), restaurant_id=restaurant_id, dish_id=dish_id,
                                                       data=body.model_dump()), from_attributes=True)


@router.delete("/{restaurant_id}/dishes/{dish_id}", status_code=204, responses=problem_responses(403, 404))
def remove_dish(restaurant_id: uuid.UUID, dish_id: uuid.UUID, svc: Svc, _: MenuEditor) -> Response:
    service.remove_dish(uow=svc.uow(), restaurant_id=restaurant_id, dish_id=dish_id)
    return Response(status_code=204)


@router.get("/{restaurant_id}/orders", responses=problem_responses(403))
def kitchen_queue(restaurant_id: uuid.UUID, svc: Svc, _: MenuEditor) -> dict:
    """Paid orders to cook, with the days already prepared."""
    return {"items": reservations.kitchen_queue(uow=svc.uow(), restaurant_id=restaurant_id), "next_cursor": None}


@router.post("/{restaurant_id}/orders/{order_id}/prepared", responses=problem_responses(400, 403, 404, 409))
def mark_prepared(restaurant_id: uuid.UUID, order_id: uuid.UUID, body: PreparedIn, svc: Svc, _: MenuEditor) -> dict:
    return reservations.mark_prepared(uow=svc.uow(), restaurant_id=restaurant_id, order_id=order_id, day=body.date)
