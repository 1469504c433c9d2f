"""Token verification every service does itself, from the auth service's cached JWKS.

Pinned algorithm (RS256: a token saying `alg: none` or HS256 is refused before any key is
used), issuer, audience, expiry and a subject are all required. Roles come from the token only.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, Request
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool

from chassis.problems import Problem

ALGORITHM = "RS256"


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[str]
    restaurant_id: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class KeySource(Protocol):
    def key_for(self, token: str) -> Any: ...

    def cached_key(self, token: str) -> Any | None:
        """The token's key if it is known now, without waiting for a lock or the network; None
        when only `key_for` can tell (it may fetch, so it runs in the thread pool)."""
        ...


class JwksSettings(BaseSettings):
    """How long a fetched key set is trusted (CALORIES_JWKS_LIFESPAN_SECONDS): a key auth removes from
    its JWKS stops being accepted at most this long after; and how often, at most, a token naming an
    unknown key may trigger a fetch (CALORIES_JWKS_MIN_REFRESH_SECONDS), so made-up kids cannot flood auth."""

    model_config = SettingsConfigDict(env_prefix="CALORIES_", extra="ignore")

    jwks_lifespan_seconds: float = 300.0
    jwks_min_refresh_seconds: float = 10.0


class JwksKeySource:
    """Keys from a JWKS URL, as one set with a bounded lifetime: after `lifespan` seconds the whole set is
    fetched again (and keys no longer in it are no longer trusted); a token naming a key not in the set
    triggers an early fetch at most every `min_refresh` seconds (a rotated-in key is picked up at once)."""

    def __init__(self, url: str, *, lifespan: float | None = None, min_refresh: float | None = None,
                 timeout: float = 5) -> None:
        settings = JwksSettings()
        self.lifespan = settings.jwks_lifespan_seconds if lifespan is None else lifespan
        self.min_refresh = settings.jwks_min_refresh_seconds if min_refresh is None else min_refresh
        self.client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)
        self._keys: dict[str, Any] = {}
        self._fetched_at = -math.inf  # time.monotonic() of the last fetch
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        try:
            keys = self.client.get_signing_keys()
        except jwt.PyJWKClientConnectionError as exc:
            raise Problem(503, "The token could not be checked: the key set is unreachable.") from exc
        except jwt.PyJWKClientError:  # a set without signing keys: nothing is trusted
            keys = []
        self._keys = {k.key_id: k.key for k in keys if k.key_id}
        self._fetched_at = time.monotonic()

    def cached_key(self, token: str) -> Any | None:
        # No lock: a fetch in progress holds it for up to its timeout, and this runs on the event
        # loop. `_keys` is replaced whole by a fetch, never changed in place, so reading it is safe.
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            return None  # key_for refuses it, in the pool
        if time.monotonic() - self._fetched_at >= self.lifespan or not isinstance(kid, str):
            return None
        return self._keys.get(kid)

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:  # one fetch at a time; the others then use its result
            age = time.monotonic() - self._fetched_at
            if age >= self.lifespan or (kid not in self._keys and age >= self.min_refresh):
                self._fetch()
            key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise jwt.InvalidTokenError("unknown signing key")
        return key


class TokenVerifier:
    def __init__(self, keys: KeySource, issuer: str, audience: str) -> None:
        self.keys, self.issuer, self.audience = keys, issuer, audience

    def verify(self, token: str, key: Any | None = None) -> Principal:
        """The token's principal, checked with `key` when given (see `KeySource.cached_key`), else
        with the key its source finds (which may fetch the key set)."""
        unauthorized = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise jwt.InvalidAlgorithmError(f"algorithm {header.get('alg')!r} is not accepted")
            if key is None:
                key = self.keys.key_for(token)
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=self.issuer,
                                audience=self.audience, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError as exc:
            raise Problem(401, "The access token has expired.", headers=unauthorized) from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Problem(401, f"The access token is not valid: {exc}", headers=unauthorized) from exc
        if claims.get("typ") != "access":
            raise Problem(401, "Not an access token.", headers=unauthorized)
        return Principal(user_id=claims["sub"], roles=frozenset(claims.get("roles", [])),
                         restaurant_id=claims.get("restaurant_id"))


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Sign in first: send `Authorization: Bearer <access token>`.",
                      headers={"WWW-Authenticate": "Bearer"})
    return token


async def current_principal(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    token = _bearer(request)
    if (key := verifier.keys.cached_key(token)) is not None:
        # A signature check (tens of microseconds) on the event loop: a sync dependency would cost a
        # hop to the thread pool and back, which took more of the diary's write path than the check.
        return verifier.verify(token, key)
    # The key set may have to be fetched from auth: in the thread pool, so the loop never waits.
    return await run_in_threadpool(verifier.verify, token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):
    """A dependency that lets in principals holding any of `roles`; 403 for everyone else."""

    async def check(principal: CurrentPrincipal) -> Principal:  # async: no hop to the thread pool
        if not principal.has(*roles):
            raise Problem(403, f"This needs the role {' or '.join(roles)}.")
        return principal

    return Depends(check)
