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

    def at_hand(self, token: str) -> bool:
        """True when `key_for(token)` will not wait on the network (the key, or its absence, is known)."""
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

    def at_hand(self, token: str) -> bool:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            return True  # refused without a fetch
        age = time.monotonic() - self._fetched_at
        return age < self.lifespan and (kid in self._keys or age < self.min_refresh)

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

    def verify(self, token: str) -> Principal:
        unauthorized = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise jwt.InvalidAlgorithmError(f"algorithm {header.get('alg')!r} is not accepted")
            claims = jwt.decode(token, self.keys.key_for(token), algorithms=[ALGORITHM], issuer=self.issuer,
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
    if verifier.keys.at_hand(token):
        # A signature check (tens of microseconds) on the event loop: a sync dependency would cost a
        # hop to the thread pool and back, which took more of the diary's write path than the check.
        return verifier.verify(token)
    # The key set must be fetched from auth: in the thread pool, so the fetch never blocks the loop.
    return await run_in_threadpool(verifier.verify, token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):
    """A dependency that lets in principals holding any of `roles`; 403 for everyone else."""

    async def check(principal: CurrentPrincipal) -> Principal:  # async: no hop to the thread pool
        if not principal.has(*roles):
            raise Problem(403, f"This needs the role {' or '.join(roles)}.")
        return principal

    return Depends(check)
