"""payments' routes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from apis.payments import service
from apis.payments.schemas import DepositIn, PaymentIn, PaymentOut, WalletOut
from chassis.security import CurrentPrincipal
from chassis.web import ServiceDep as Svc

router = APIRouter(tags=["payments"])



@router.post("/wallet/deposit", response_model=WalletOut)
def deposit(body: DepositIn, principal: CurrentPrincipal, svc: Svc) -> WalletOut:
    balance = service.deposit(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), amount=body.amount)
    return WalletOut(balance=balance)


@router.get("/wallet", response_model=WalletOut)
def wallet(principal: CurrentPrincipal, svc: Svc) -> WalletOut:
    return WalletOut(balance=service.balance(uow=svc.uow(), user_id=uuid.UUID(principal.user_id)))


@router.post("", response_model=PaymentOut)
def pay(body: PaymentIn, principal: CurrentPrincipal, svc: Svc) -> PaymentOut:
    row = service.pay(uow=svc.uow(), user_id=uuid.UUID(principal.user_id), order_id=body.order_id,
                      amount=body.amount)
    return PaymentOut(order_id=row.order_id, amount=row.amount, status=row.status, reason=row.reason)
