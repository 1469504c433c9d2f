"""payments' use cases: plain functions over a unit of work.

Locks, always taken in this order so two use cases never wait on each other in a circle:
the order copy (FOR UPDATE), then the order's payment, then the wallet (FOR UPDATE, and its version
checked on write). Locking the copy serialises every payment attempt and every closing of one
order, so a charge and a cancellation cannot interleave: either the charge commits first and the
closing refunds it, or the closing commits first and the charge is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from apis.payments import domain
from apis.payments.events import OrderPaid, OrderPaymentFailed, PaymentRefunded, WalletDeposited
from apis.payments.models import ledger, order_copies, payments, wallets
from chassis.db import UnitOfWork
from chassis.problems import Problem


def _record(uow: UnitOfWork, *, user_id: uuid.UUID, kind: str, amount: int, order_id: uuid.UUID | None) -> None:
    uow.session.execute(insert(ledger).values(id=uuid.uuid4(), user_id=user_id, kind=kind, amount=amount,
                                              order_id=order_id))


def _locked_wallet(uow: UnitOfWork, user_id: uuid.UUID) -> Any:
    """The wallet reread under a row lock (made empty first if the user never deposited)."""
    uow.session.execute(pg_insert(wallets).values(user_id=user_id, balance=0, version=0)
                        .on_conflict_do_nothing(index_elements=[wallets.c.user_id]))
    return uow.session.execute(select(wallets).where(wallets.c.user_id == user_id).with_for_update()).one()


def _move(uow: UnitOfWork, wallet: Any, delta: int) -> int:
    """Change a locked wallet by `delta`, only if it is still the version that was read."""
    balance = uow.session.execute(
        update(wallets).where(wallets.c.user_id == wallet.user_id, wallets.c.version == wallet.version)
        .values(balance=wallets.c.balance + delta, version=wallets.c.version + 1, updated_at=func.now())
        .returning(wallets.c.balance)).scalar()
    if balance is None:  # cannot happen under the row lock; refuse rather than lose an update
        raise RuntimeError(f"wallet of {wallet.user_id} changed under its lock (version {wallet.version})")
    return balance


def deposit(*, uow: UnitOfWork, user_id: uuid.UUID, amount: int) -> int:
    with uow:
        # One atomic statement: concurrent deposits each add their delta to the row they lock in turn.
        row = uow.session.execute(
            pg_insert(wallets).values(user_id=user_id, balance=amount, version=1)
            .on_conflict_do_update(index_elements=[wallets.c.user_id],
                                   set_={"balance": wallets.c.balance + amount, "version": wallets.c.version + 1,
                                         "updated_at": func.now()})
            .returning(wallets.c.balance)).one()
        _record(uow, user_id=user_id, kind=domain.DEPOSIT, amount=amount, order_id=None)
        uow.publish(WalletDeposited(aggregate_id=str(user_id), user_id=str(user_id), amount=amount,
                                    balance=row.balance))
        uow.commit()
        return row.balance


def balance(*, uow: UnitOfWork, user_id: uuid.UUID) -> int:
    with uow:
        value = uow.session.execute(select(wallets.c.balance).where(wallets.c.user_id == user_id)).scalar()
    return value or 0


def pay(*, uow: UnitOfWork, user_id: uuid.UUID, order_id: uuid.UUID, amount: int) -> Any:
    """The payment row: the new one, or the first one for a repeat. Refusals raise a Problem."""
    with uow:
        copy = uow.session.execute(select(order_copies).where(order_copies.c.order_id == order_id)
                                   .with_for_update()).first()
        payment = None
        if copy is not None:
            payment = uow.session.execute(select(payments).where(payments.c.order_id == order_id)).first()
        outcome = domain.before_charging(order_id=str(order_id), user_id=str(user_id), amount=amount,
                                         copy=copy, payment=payment, now=datetime.now(UTC))
        if isinstance(outcome, domain.Refusal):
            raise Problem(outcome.status, outcome.detail)
        if isinstance(outcome, domain.Replay):
            return outcome.payment

        wallet = _locked_wallet(uow, user_id)
        settlement = domain.settle(balance=wallet.balance, amount=amount)
        ids: dict[str, Any] = {"aggregate_id": str(order_id), "order_id": str(order_id), "user_id": str(user_id),
                               "amount": amount}
        if settlement.status == domain.SUCCEEDED:
            _move(uow, wallet, -amount)
            _record(uow, user_id=user_id, kind=domain.CHARGE, amount=amount, order_id=order_id)
            uow.publish(OrderPaid(**ids))
        else:
            uow.publish(OrderPaymentFailed(**ids, reason=settlement.reason or "payment failed"))
        try:
            row = uow.session.execute(insert(payments).values(
                order_id=order_id, user_id=user_id, amount=amount, status=settlement.status,
                reason=settlement.reason).returning(*payments.c)).one()
        except IntegrityError:  # the natural key: a second payment of one order can never be stored
            raise Problem(409, f"order {order_id} is being paid by another request; retry to get its answer.") \
                from None
        uow.commit()
        return row


# --- reactions to orders' events (called by stream_processors/payments_orders.py inside its inbox transaction)


def copy_awaiting(*, uow: UnitOfWork, order_id: uuid.UUID, user_id: uuid.UUID, total: int,
                  expires_at: datetime | None = None) -> None:
    """The order became payable, until `expires_at` (its deadline; None: orders sent none). A closed
    copy stays closed: a late or replayed event never reopens it."""
    stmt = pg_insert(order_copies).values(order_id=order_id, user_id=user_id, total=total, status=domain.AWAITING,
                                          expires_at=expires_at)
    uow.session.execute(stmt.on_conflict_do_update(
        index_elements=[order_copies.c.order_id],
        set_={"total": stmt.excluded.total, "expires_at": stmt.excluded.expires_at, "updated_at": func.now()},
        where=order_copies.c.status == domain.AWAITING))


def close_order(*, uow: UnitOfWork, order_id: uuid.UUID, user_id: uuid.UUID, event_type: str,
                reason: str | None) -> None:
    """Close the copy (later payments are refused); a charge that already landed is given back, once."""
    closed = domain.closed_reason(event_type, reason)
    # An order closed before payments ever saw it payable gets a closed copy too (no total), so a
    # payment can never be taken for it later. The first closing's reason stays.
    stmt = pg_insert(order_copies).values(order_id=order_id, user_id=user_id, total=None, status=domain.CLOSED,
                                          reason=closed)
    uow.session.execute(stmt.on_conflict_do_update(
        index_elements=[order_copies.c.order_id],
        set_={"status": domain.CLOSED, "reason": closed, "updated_at": func.now()},
        where=order_copies.c.status == domain.AWAITING))
    # The copy's lock orders this after any payment in flight, whose row the next statement then sees.
    uow.session.execute(select(order_copies.c.order_id).where(order_copies.c.order_id == order_id)
                        .with_for_update())
    payment = uow.session.execute(select(payments).where(payments.c.order_id == order_id)
                                  .with_for_update()).first()
    if payment is None or not domain.needs_refund(payment):
        return
    _move(uow, _locked_wallet(uow, payment.user_id), payment.amount)
    _record(uow, user_id=payment.user_id, kind=domain.REFUND, amount=payment.amount, order_id=order_id)
    refund_reason = domain.refund_reason(event_type)
    uow.session.execute(update(payments).where(payments.c.order_id == order_id)
                        .values(status=domain.REFUNDED, reason=refund_reason, updated_at=func.now()))
    uow.publish(PaymentRefunded(aggregate_id=str(order_id), order_id=str(order_id), user_id=str(payment.user_id),
                                amount=payment.amount, reason=refund_reason))
