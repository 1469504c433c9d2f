"""records' routes. The user id comes from the token only; this service never calls auth or users."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from apis.records import service
from apis.records.schemas import DailyOut, EntryIn, EntryOut, EntryPage, HabitsOut
from chassis.problems import problem_responses
from chassis.security import CurrentPrincipal, Principal, require_roles
from chassis.service import Service
from chassis.web import ServiceDep as Svc

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["records"], responses=problem_responses(401, 422, 503))
Manager = Annotated[Principal, require_roles("manager", "admin")]

From = Annotated[date | None, Query(alias="from", description="first date, inclusive")]
To = Annotated[date | None, Query(alias="to", description="last date, inclusive")]


def _out(row) -> EntryOut:
    return EntryOut.model_validate({**row._mapping, "date": row.eaten_on})


def _page(svc: Service, user_id: uuid.UUID, start: date | None, end: date | None, cursor: str | None,
          limit: int) -> EntryPage:
    rows, next_cursor = service.list_entries(uow=svc.uow(), user_id=user_id, start=start, end=end, cursor=cursor,
                                             limit=limit)
    return EntryPage(items=[_out(r) for r in rows], next_cursor=next_cursor)


def _range(start: date | None, end: date | None) -> tuple[date, date]:
    end = end or date.today()
    return start or end - timedelta(days=6), end


@router.post("", status_code=201, response_model=EntryOut, responses=problem_responses(400))
def add_entry(body: EntryIn, principal: CurrentPrincipal, svc: Svc, response: Response) -> EntryOut:
    row = service.add_entry(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), data=body.model_dump())
    response.headers["Location"] = f"/records/{row.id}"
    return _out(row)


@router.get("", response_model=EntryPage, responses=problem_responses(400))
def list_mine(principal: CurrentPrincipal, svc: Svc, start: From = None, end: To = None,
              cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> EntryPage:
    return _page(svc, uuid.UUID(principal.user_id), start, end, cursor, limit)


@router.get("/daily", response_model=DailyOut, responses=problem_responses(400))
def my_daily(principal: CurrentPrincipal, svc: Svc, start: From = None, end: To = None) -> DailyOut:
    start, end = _range(start, end)
    return DailyOut.model_validate({"days": service.daily(uow=svc.uow(), user_id=uuid.UUID(principal.user_id),
                                                          start=start, end=end)})


@router.get("/users/{user_id}", response_model=EntryPage, responses=problem_responses(400, 403))
def users_entries(user_id: uuid.UUID, svc: Svc, _: Manager, start: From = None, end: To = None,
                  cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> EntryPage:
    return _page(svc, user_id, start, end, cursor, limit)


@router.get("/users/{user_id}/daily", response_model=DailyOut, responses=problem_responses(400, 403))
def users_daily(user_id: uuid.UUID, svc: Svc, _: Manager, start: From = None, end: To = None) -> DailyOut:
    start, end = _range(start, end)
    return DailyOut.model_validate({"days": service.daily(uow=svc.uow(), user_id=user_id, start=start, end=end)})


@router.get("/users/{user_id}/habits", response_model=HabitsOut, response_model_by_alias=True,
            responses=problem_responses(400, 403))
def users_habits(user_id: uuid.UUID, svc: Svc, _: Manager, start: From = None, end: To = None) -> HabitsOut:
    end = end or date.today()
    start = start or end - timedelta(days=29)
    return HabitsOut.model_validate(service.habits(uow=svc.uow(), user_id=user_id, start=start, end=end))


@router.get("/{entry_id}", response_model=EntryOut, responses=problem_responses(404))
def get_entry(entry_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> EntryOut:
    return _out(service.get_entry(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), entry_id=entry_id))


@router.put("/{entry_id}", response_model=EntryOut, responses=problem_responses(400, 404))
def replace_entry(entry_id: uuid.UUID, body: EntryIn, principal: CurrentPrincipal, svc: Svc) -> EntryOut:
    return _out(service.replace_entry(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), entry_id=entry_id,
                                      data=body.model_dump()))


@router.delete("/{entry_id}", status_code=204, responses=problem_responses(404))
def remove_entry(entry_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> Response:
    service.remove_entry(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), entry_id=entry_id)
    return Response(status_code=204)
