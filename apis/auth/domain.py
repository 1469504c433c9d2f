"""auth's rules, free of I/O: roles, passwords, token claims, login throttling."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with OWASP's first recommended configuration: m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the account does not exist, so a login costs the same either way
# (an attacker cannot tell registered emails by response time).
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    return email.strip().lower()


def access_claims(*, account_id: uuid.UUID, roles: list[str], restaurant_id: str | None, issuer: str,
                  audience: str, now: datetime, ttl: timedelta) -> dict:
    claims = {"iss": issuer, "aud": audience, "sub": str(account_id), "roles": sorted(roles), "typ": "access",
              "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()), "jti": str(uuid.uuid4())}
    if restaurant_id:
        claims["restaurant_id"] = restaurant_id
    return claims


@dataclass(frozen=True)
class RefreshSecret:
    """Handed to the client once as `<id>.<secret>`; only a hash of the secret is stored."""

    token_id: uuid.UUID
    secret: str

    @classmethod
    def new(cls) -> RefreshSecret:
        return cls(uuid.uuid4(), secrets.token_urlsafe(32))

    @classmethod
    def parse(cls, token: str) -> RefreshSecret | None:
        token_id, _, secret = token.partition(".")
        try:
            return cls(uuid.UUID(token_id), secret) if secret else None
        except ValueError:
            return None

    @property
    def token(self) -> str:
        return f"{self.token_id}.{self.secret}"

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.secret.encode()).hexdigest()


@dataclass(frozen=True)
class ThrottlePolicy:
    """At most `limit` attempts in a sliding `window` (registrations per client address)."""

    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 50

    def retry_after(self, failures: Sequence[datetime], limit: int, now: datetime) -> int | None:
        """Seconds until another attempt is allowed, or None if not throttled."""
        recent = sorted(f for f in failures if f > now - self.window)
        if len(recent) < limit:
            return None
        return max(1, int((recent[-limit] + self.window - now).total_seconds()) + 1)


@dataclass(frozen=True)
class LoginDelay:
    """A growing delay per client address after failed logins — never a lock-out of the account, which
    an attacker elsewhere could impose on its owner. After `free` failures in the `window`, each further
    attempt from that address waits `base` seconds after the last failure, doubled per failure, up to `cap`."""

    window: timedelta = timedelta(minutes=15)
    free: int = 3
    base: float = 1.0
    cap: float = 900.0

    def retry_after(self, failures: Sequence[datetime], now: datetime) -> int | None:
        """Seconds until this address may try again, or None if it may now."""
        recent = sorted(f for f in failures if f > now - self.window)
        if len(recent) < self.free:
            return None
        delay = min(self.cap, self.base * 2 ** (len(recent) - self.free))
        left = (recent[-1] + timedelta(seconds=delay) - now).total_seconds()
        return math.ceil(left) if left > 0 else None


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: frozenset[str]) -> str:
    """The rightmost address in X-Forwarded-For that is not one of our proxies (a client can
    prepend anything to the header, but cannot forge what our own gateway appended)."""
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    address = peer or "unknown"
    if address not in trusted_proxies:
        return address
    for hop in reversed(hops):
        address = hop
        if hop not in trusted_proxies:
            break
    return address
