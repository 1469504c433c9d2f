"""payments' request and response bodies."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from apis.payments.domain import MAX_AMOUNT


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepositIn(Strict):
    # strict: "5000" or 50.0 is a client bug about units, not something to guess at.
    amount: int = Field(gt=0, le=MAX_AMOUNT, strict=True, description="minor units, e.g. cents")


class WalletOut(BaseModel):
    balance: int = Field(description="minor units")


class PaymentIn(Strict):
    order_id: uuid.UUID
    amount: int = Field(ge=0, le=MAX_AMOUNT, strict=True, description="the order's exact total, minor units")


class PaymentOut(BaseModel):
    order_id: uuid.UUID
    amount: int
    status: Literal["succeeded", "failed", "refunded"]
    reason: str | None
