"""notifications' routes: the signed-in user's own feed only; the user id comes from the token."""

from __future__ import annotations

import uuid
from typing import Annotated

import jwt
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from apis.notifications import live, service
from apis.notifications.schemas import NotificationOut, NotificationPage
from chassis.problems import problem_responses
from chassis.security import CurrentPrincipal
from chassis.web import ServiceDep as Svc

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["notifications"], responses=problem_responses(401, 422, 503))


@router.get("", response_model=NotificationPage, responses=problem_responses(400))
def list_mine(principal: CurrentPrincipal, svc: Svc,
              unread: Annotated[bool, Query(description="only those not marked read")] = False,
              cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> NotificationPage:
    """Newest first (by when the event happened); pass `next_cursor` back as `cursor` for the next page."""
    rows, next_cursor = service.list_mine(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), unread=unread,
                                          cursor=cursor, limit=limit)
    return NotificationPage(items=[NotificationOut.model_validate(r._mapping) for r in rows], next_cursor=next_cursor)


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "Server-Sent Events: `event: notification`, `id:` the notification "
                                            "id, `data:` the notification as JSON; `: keep-alive` every 15 s; "
                                            "`: token expired` and the end when the access token expires."},
                        **problem_responses(described={429: "too many live streams for this user (or this server)"})})
async def stream(principal: CurrentPrincipal, svc: Svc, request: Request,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> StreamingResponse:
    """New notifications as they arrive (nothing old, unless `Last-Event-ID` names the last one received).
    A few streams per user at most (429 beyond); each ends when its access token expires."""
    # The token was verified by CurrentPrincipal; only its expiry is read here.
    token = request.headers["Authorization"].partition(" ")[2]
    expires_at = float(jwt.decode(token, options={"verify_signature": False})["exp"])
    the_hub = live.hub(svc)
    sub = the_hub.subscribe(principal.user_id, expires_at)
    return live.StreamResponse(live.stream(svc, the_hub, sub, last_event_id), lambda: the_hub.unsubscribe(sub),
                               media_type="text/event-stream",
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/{notification_id}/read", response_model=NotificationOut, responses=problem_responses(404))
def mark_read(notification_id: uuid.UUID, principal: CurrentPrincipal, svc: Svc) -> NotificationOut:
    row = service.mark_read(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), notification_id=notification_id)
    return NotificationOut.model_validate(row._mapping)
