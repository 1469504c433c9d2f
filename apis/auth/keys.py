"""The token signing key: loaded from a PEM file, created on first start in development."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass
class SigningKey:
    private_key: rsa.RSAPrivateKey

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool) -> SigningKey:
        if not path.exists():
            if not create:
                raise RuntimeError(f"token signing key {path} is missing (set CALORIES_AUTH_SIGNING_KEY_FILE)")
            path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        return cls(serialization.load_pem_private_key(path.read_bytes(), password=None))  # type: ignore[arg-type]

    @cached_property
    def public_jwk(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk

    @cached_property
    def kid(self) -> str:
        der = self.private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()[:16]

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


class LocalKeys:
    """A KeySource for auth itself: it verifies its own tokens without a round trip to its JWKS."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def cached_key(self, token: str):
        try:
            return self.key_for(token)  # its own key: never fetched, never waited for
        except jwt.InvalidTokenError:
            return None  # key_for refuses it again, in the pool

    def key_for(self, token: str):
        if jwt.get_unverified_header(token).get("kid") != self.key.kid:
            raise jwt.InvalidTokenError("unknown signing key")
        return self.key.private_key.public_key()
