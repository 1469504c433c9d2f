"""auth's tables."""

from __future__ import annotations

from sqlalchemy import ARRAY, Column, DateTime, Index, MetaData, Table, Text, Uuid, func

metadata = MetaData()

accounts = Table(
    "accounts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", Text, nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False),
    Column("restaurant_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per refresh token ever issued; `secret_hash` only (the secret is shown once).
refresh_tokens = Table(
    "refresh_tokens", metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False, index=True),
    Column("secret_hash", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Attempts counted for throttling: failed logins keyed "address:<ip>", registrations "register:<ip>".
login_failures = Table(
    "login_failures", metadata,
    Column("key", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("login_failures_key_at", "key", "failed_at"),
)
