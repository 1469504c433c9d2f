"""Token verification every service does itself, from the auth service's cached JWKS.

Pinned algorithm (RS256: a token saying `alg: none` or HS256 is refused before any key is
used), issuer, audience, expiry and a subject are all required. Roles come from the token only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, Request

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


class JwksKeySource:
    """Keys from a JWKS URL; PyJWT caches them and refetches when a token names an unknown kid."""

    def __init__(self, url: str) -> None:
        self.client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)

    def key_for(self, token: str) -> Any:
        try:
            return self.client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise Problem(503, "The token could not be checked: the key set is unreachable.") from exc


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


def current_principal(request: Request) -> Principal:
    # A sync dependency: FastAPI runs it in its thread pool, so a JWKS fetch never blocks the loop.
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(_bearer(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):
    """A dependency that lets in principals holding any of `roles`; 403 for everyone else."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(*roles):
            raise Problem(403, f"This needs the role {' or '.join(roles)}.")
        return principal

    return Depends(check)
