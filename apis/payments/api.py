"""payments' routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from apis.payments import service
from apis.payments.schemas import DepositIn, PaymentIn, PaymentOut, WalletOut
from chassis.problems import problem_responses
from chassis.security import CurrentPrincipal
from chassis.web import ServiceDep as Svc

# Every route needs a signed-in account (401, 503) and may answer 422 (control characters, anywhere).
router = APIRouter(tags=["payments"], responses=problem_responses(401, 422, 503))


@router.post("/wallet/deposit", response_model=WalletOut, responses=problem_responses(400))
def deposit(body: DepositIn, principal: CurrentPrincipal, svc: Svc) -> WalletOut:
    balance = service.deposit(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), amount=body.amount)
    return WalletOut(balance=balance)


@router.get("/wallet", response_model=WalletOut)
def wallet(principal: CurrentPrincipal, svc: Svc) -> WalletOut:
    return WalletOut(balance=service.balance(uow=svc.uow(), user_id=uuid.UUID(principal.user_id)))


@router.post("", response_model=PaymentOut, responses=problem_responses(400, described={
    404: "no such order of yours", 409: "the order is not awaiting payment (yet, or any more), or is being paid",
    422: "invalid, or not the order's exact total"}))
def pay(body: PaymentIn, principal: CurrentPrincipal, svc: Svc) -> PaymentOut:
    row = service.pay(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), order_id=body.order_id,
                      amount=body.amount)
    return PaymentOut(order_id=row.order_id, amount=row.amount, status=row.status, reason=row.reason)
