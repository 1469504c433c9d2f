"""auth's routes: parse, authorize, call the use case, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from apis.auth import domain, service
from apis.auth.keys import SigningKey
from apis.auth.schemas import LoginIn, RefreshIn, RegisterIn, RegisterOut, StaffIn, TokenOut
from apis.auth.settings import AuthSettings
from chassis.problems import problem_responses
from chassis.security import Principal, require_roles
from chassis.service import Service

# Every route may answer 422: the chassis refuses control characters anywhere in a request.
router = APIRouter(tags=["auth"], responses=problem_responses(422))


async def _ctx(request: Request) -> tuple[Service[AuthSettings], SigningKey, AuthSettings]:  # no thread hop
    return request.app.state.service, request.app.state.signing_key, request.app.state.service.settings


Ctx = Annotated[tuple[Service[AuthSettings], SigningKey, AuthSettings], Depends(_ctx)]


def _address(request: Request, settings: AuthSettings) -> str:
    return domain.client_address(request.client.host if request.client else None,
                                 request.headers.get("X-Forwarded-For"), frozenset(settings.trusted_proxies))


@router.post("/register", status_code=201, response_model=RegisterOut,
             responses=problem_responses(400, 409, described={
                 429: "too many registrations from this address (Retry-After)"}))
def register(body: RegisterIn, request: Request, ctx: Ctx) -> RegisterOut:
    """Throttled per client address (settings `register_*`), before the password is hashed."""
    svc, _, settings = ctx
    service.admit_registration(uow=svc.uow(), settings=settings, address=_address(request, settings))
    user_id = service.register(uow=svc.uow(), email=body.email, password=body.password, name=body.name,
                               phone=body.phone, address=body.address, roles=["user"])
    return RegisterOut(user_id=user_id)


@router.post("/login", response_model=TokenOut,
             responses=problem_responses(400, described={
                 401: "wrong email or password", 429: "failed logins from this address: wait Retry-After seconds"}))
def login(body: LoginIn, request: Request, ctx: Ctx) -> TokenOut:
    """Failed logins slow down their client address (a growing delay), never lock the account."""
    svc, key, settings = ctx
    address = _address(request, settings)
    pair = service.login(uow=svc.uow(), key=key, settings=settings, email=body.email, password=body.password,
                         address=address)
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/refresh", response_model=TokenOut,
             responses=problem_responses(400, described={401: "the refresh token is not valid (or was used)"}))
def refresh(body: RefreshIn, ctx: Ctx) -> TokenOut:
    svc, key, settings = ctx
    pair = service.refresh(uow=svc.uow(), key=key, settings=settings, token=body.refresh_token)
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.get("/.well-known/jwks.json")
def jwks(ctx: Ctx) -> dict:
    _, key, _ = ctx
    return {"keys": [key.public_jwk]}


@router.post("/staff", status_code=201, response_model=RegisterOut,
             responses=problem_responses(400, 401, 403, 409, 503))
def create_staff(body: StaffIn, ctx: Ctx, _: Principal = require_roles("admin")) -> RegisterOut:
    svc = ctx[0]
    user_id = service.register(uow=svc.uow(), email=body.email, password=body.password, name=body.name,
                               roles=[body.role], restaurant_id=body.restaurant_id)
    return RegisterOut(user_id=user_id)
