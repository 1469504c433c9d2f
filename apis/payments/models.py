"""payments' tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Integer, MetaData, Table, Text, Uuid, func

metadata = MetaData()

wallets = Table(
    "wallets", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),  # +1 on every movement: the reread value
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("balance >= 0", name="wallets_balance_not_negative"),
)

# Every movement of money, never updated: per user, deposits - charges + refunds = the wallet's balance.
ledger = Table(
    "ledger", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("order_id", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('deposit', 'charge', 'refund')", name="ledger_kind"),
    CheckConstraint("amount >= 0", name="ledger_amount_not_negative"),
    Index("ledger_user", "user_id"),
)

# payments' copy of each order it heard of from orders' events (the semantic lock lives here).
order_copies = Table(
    "order_copies", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("total", BigInteger),  # null for an order closed before it was ever payable
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("expires_at", DateTime(timezone=True)),  # the payment deadline from OrderAwaitingPayment
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('awaiting', 'closed')", name="order_copies_status"),
)

# One payment per order: the order id is the natural key, so a second charge cannot be stored.
payments = Table(
    "payments", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('succeeded', 'failed', 'refunded')", name="payments_status"),
)
