"""recommendations' routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from apis.recommendations import service
from apis.recommendations.schemas import DraftIn, PlanEdit, PlanIn, PlanOut, PlanPage
from chassis.problems import problem_responses
from chassis.security import CurrentPrincipal, Principal, require_roles
from chassis.web import ServiceDep as Svc

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["recommendations"], responses=problem_responses(401, 422, 503))
Manager = Annotated[Principal, require_roles("manager", "admin")]



@router.post("", status_code=201, response_model=PlanOut, responses=problem_responses(400, 403))
def create_plan(body: PlanIn, svc: Svc, manager: Manager) -> PlanOut:
    return PlanOut.model_validate(service.create_plan(uow=svc.uow(), manager_id=manager.user_id,
                                                      data=body.model_dump()))


@router.post("/draft", status_code=201, response_model=PlanOut, responses=problem_responses(400, 403))
def draft_plan(body: DraftIn, svc: Svc, manager: Manager) -> PlanOut:
    """An automatic draft for the user's goal from one restaurant's menu; edit it, then publish."""
    return PlanOut.model_validate(service.draft(uow=svc.uow(), manager_id=manager.user_id, data=body.model_dump()))


@router.put("/{plan_id}", response_model=PlanOut, responses=problem_responses(400, 403, 404, 409))
def edit_plan(plan_id: uuid.UUID, body: PlanEdit, svc: Svc, manager: Manager) -> PlanOut:
    """Only the plan's author (or an admin) edits it."""
    return PlanOut.model_validate(service.edit_plan(uow=svc.uow(), plan_id=plan_id,
                                                    data=body.model_dump(exclude_unset=True), principal=manager))


@router.post("/{plan_id}/publish", response_model=PlanOut, responses=problem_responses(403, 404))
def publish_plan(plan_id: uuid.UUID, svc: Svc, manager: Manager) -> PlanOut:
    """Only the plan's author (or an admin) publishes it."""
    return PlanOut.model_validate(service.publish(uow=svc.uow(), plan_id=plan_id, principal=manager))


@router.get("", response_model=PlanPage, responses=problem_responses(400))
def list_plans(principal: CurrentPrincipal, svc: Svc, user_id: uuid.UUID | None = None, cursor: str | None = None,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> PlanPage:
    items, next_cursor = service.list_plans(uow=svc.uow(), principal=principal, user_id=user_id, cursor=cursor,
                                            limit=limit)
    return PlanPage(items=[PlanOut.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/{plan_id}", response_model=PlanOut, responses=problem_responses(404))
def get_plan(plan_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> PlanOut:
    return PlanOut.model_validate(service.get_plan(uow=svc.uow(), plan_id=plan_id, principal=principal))
