"""auth's use cases: plain functions over a unit of work."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from apis.auth import domain
from apis.auth.events import UserRegistered
from apis.auth.keys import SigningKey
from apis.auth.models import accounts, login_failures, refresh_tokens
from apis.auth.settings import AuthSettings
from chassis.db import UnitOfWork
from chassis.problems import Problem


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def register(*, uow: UnitOfWork, email: str, password: str, name: str, roles: list[str],
             phone: str | None = None, address: str | None = None, restaurant_id: str | None = None) -> uuid.UUID:
    account_id = uuid.uuid4()
    email = domain.normalize_email(email)
    with uow:
        try:
            uow.session.execute(insert(accounts).values(
                id=account_id, email=email, password_hash=domain.hash_password(password), name=name,
                roles=roles, restaurant_id=restaurant_id))
            uow.session.flush()
        except IntegrityError:
            raise Problem(409, f"An account with the email {email} already exists.") from None
        uow.publish(UserRegistered(aggregate_id=str(account_id), user_id=str(account_id), email=email, name=name,
                                   phone=phone, address=address, roles=roles, restaurant_id=restaurant_id))
        uow.commit()
    return account_id


def ensure_admin(*, uow: UnitOfWork, settings: AuthSettings) -> None:
    with uow:
        exists = uow.session.execute(select(accounts.c.id).where(
            accounts.c.email == domain.normalize_email(settings.admin_email))).first()
    if not exists:
        with contextlib.suppress(Problem):  # another instance created it first
            register(uow=uow, email=settings.admin_email, password=settings.admin_password, name="Administrator",
                     roles=["admin"])


def _attempts(uow: UnitOfWork, key: str, since: datetime) -> Sequence[datetime]:
    return uow.session.execute(select(login_failures.c.failed_at).where(
        login_failures.c.key == key, login_failures.c.failed_at > since)).scalars().all()


def _too_many(what: str, retry_after: int) -> Problem:
    return Problem(429, f"Too many {what} from your address; try again in {retry_after} s.",
                   headers={"Retry-After": str(retry_after)})


def admit_registration(*, uow: UnitOfWork, settings: AuthSettings, address: str) -> None:
    """Counts a registration attempt of this client address, or refuses it (429) past the limit — before
    any password is hashed, so a flood costs a query each, not an argon2 hash each."""
    now = datetime.now(UTC)
    policy = domain.ThrottlePolicy(window=timedelta(seconds=settings.register_window_seconds))
    key = f"register:{address}"
    with uow:
        uow.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))  # one count at a time
        retry_after = policy.retry_after(_attempts(uow, key, now - policy.window), settings.register_max_per_address,
                                         now)
        if retry_after is not None:
            raise _too_many("registrations", retry_after)
        uow.session.execute(insert(login_failures).values(key=key, failed_at=now))
        uow.commit()


def login(*, uow: UnitOfWork, key: SigningKey, settings: AuthSettings, email: str, password: str,
          address: str) -> TokenPair:
    email = domain.normalize_email(email)
    now = datetime.now(UTC)
    delay = domain.LoginDelay(window=timedelta(seconds=settings.login_window_seconds),
                              free=settings.login_free_failures, base=settings.login_delay_base_seconds,
                              cap=settings.login_delay_max_seconds)
    address_key = f"address:{address}"
    with uow:
        retry_after = delay.retry_after(_attempts(uow, address_key, now - delay.window), now)
        if retry_after is not None:
            raise _too_many("failed logins", retry_after)
        row = uow.session.execute(select(accounts).where(accounts.c.email == email)).first()
        if not domain.password_matches(row.password_hash if row else None, password):
            uow.session.execute(insert(login_failures).values(key=address_key, failed_at=datetime.now(UTC)))
            uow.commit()
            raise Problem(401, "Wrong email or password.")
        pair = _issue(uow, key, settings, row, now)
        uow.commit()
        return pair


def refresh(*, uow: UnitOfWork, key: SigningKey, settings: AuthSettings, token: str) -> TokenPair:
    parsed = domain.RefreshSecret.parse(token)
    now = datetime.now(UTC)
    invalid = Problem(401, "The refresh token is not valid; sign in again.")
    if parsed is None:
        raise invalid
    with uow:
        row = uow.session.execute(select(refresh_tokens).where(refresh_tokens.c.id == parsed.token_id)
                                  .with_for_update()).first()
        if row is None or row.secret_hash != parsed.hash or row.revoked_at or row.expires_at <= now:
            raise invalid
        if row.used_at is not None:
            # A rotated token came back: someone holds a copy. Revoke the whole account's tokens.
            uow.session.execute(update(refresh_tokens).where(refresh_tokens.c.account_id == row.account_id,
                                                             refresh_tokens.c.revoked_at.is_(None))
                                .values(revoked_at=now))
            uow.commit()
            raise invalid
        uow.session.execute(update(refresh_tokens).where(refresh_tokens.c.id == row.id).values(used_at=now))
        account = uow.session.execute(select(accounts).where(accounts.c.id == row.account_id)).one()
        pair = _issue(uow, key, settings, account, now)
        uow.commit()
        return pair


def _issue(uow: UnitOfWork, key: SigningKey, settings: AuthSettings, account, now: datetime) -> TokenPair:
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    access = key.sign(domain.access_claims(account_id=account.id, roles=list(account.roles),
                                           restaurant_id=account.restaurant_id, issuer=settings.token_issuer,
                                           audience=settings.token_audience, now=now, ttl=ttl))
    secret = domain.RefreshSecret.new()
    uow.session.execute(insert(refresh_tokens).values(
        id=secret.token_id, account_id=account.id, secret_hash=secret.hash,
        expires_at=now + timedelta(days=settings.refresh_token_ttl_days)))
    return TokenPair(access, secret.token, settings.access_token_ttl_seconds)
