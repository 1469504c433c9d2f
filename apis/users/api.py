"""users' routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from apis.users import domain, service
from apis.users.schemas import ProfileOut, ProfilePatch
from chassis.problems import Problem, problem_responses
from chassis.security import CurrentPrincipal, Principal, require_roles
from chassis.web import ServiceDep as Svc

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["users"], responses=problem_responses(401, 422, 503))


def _answer(row, response: Response) -> ProfileOut:
    response.headers["ETag"] = domain.etag(row.version)
    return ProfileOut.model_validate(row, from_attributes=True)


@router.get("/me", response_model=ProfileOut,
            responses=problem_responses(described={404: "no profile yet: a new account's appears within seconds"}))
def get_me(principal: CurrentPrincipal, svc: Svc, response: Response) -> ProfileOut:
    return _answer(service.get_profile(uow=svc.uow(), user_id=uuid.UUID(principal.user_id)), response)


@router.patch("/me", response_model=ProfileOut, responses=problem_responses(400, 404, 412, 428))
def patch_me(body: ProfilePatch, principal: CurrentPrincipal, svc: Svc, response: Response,
             if_match: Annotated[str | None, Header()] = None) -> ProfileOut:
    expected = domain.version_from_if_match(if_match)
    if expected is None:
        raise Problem(428, 'Send If-Match with the ETag from GET /users/me (e.g. If-Match: "3"), '
                           "so a change made meanwhile is not overwritten.")
    row = service.patch_profile(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), expected_version=expected,
                                changes=body.model_dump(exclude_unset=True))
    return _answer(row, response)


@router.get("/{user_id}", response_model=ProfileOut, responses=problem_responses(403, 404))
def get_user(user_id: uuid.UUID, svc: Svc, response: Response,
             _: Principal = require_roles("manager", "admin")) -> ProfileOut:
    return _answer(service.get_profile(uow=svc.uow(), user_id=user_id), response)
