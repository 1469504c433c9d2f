"""A key removed from auth's JWKS stops being trusted once the fetched set's lifetime is over (issue 10:
`cache_keys=True` kept every key it had seen trusted until the process restarted)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chassis.problems import Problem
from chassis.security import JwksKeySource, TokenVerifier
from tests.support import poll_until

LIFESPAN = 1.0  # seconds, set through the environment as a deployment would


class Jwks:
    """A JWKS endpoint on a local port whose keys the test changes."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def jwks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Jwks]:
    monkeypatch.setenv("CALORIES_JWKS_LIFESPAN_SECONDS", str(LIFESPAN))
    monkeypatch.setenv("CALORIES_JWKS_MIN_REFRESH_SECONDS", "30")
    server = Jwks()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}


def _token(key: rsa.RSAPrivateKey, kid: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "calories-auth", "aud": "calories", "sub": "u-1", "roles": ["user"], "typ": "access",
                       "iat": now, "exp": now + 300}, key, algorithm="RS256", headers={"kid": kid})


def _trusted(verifier: TokenVerifier, token: str) -> bool:
    try:
        verifier.verify(token)
        return True
    except Problem as problem:
        assert problem.status == 401
        return False


def test_a_key_removed_from_the_jwks_stops_being_trusted_after_the_lifetime(jwks: Jwks) -> None:
    old, new = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    jwks.keys = [_public_jwk(old, "old"), _public_jwk(new, "new")]
    verifier = TokenVerifier(JwksKeySource(jwks.url), issuer="calories-auth", audience="calories")
    assert _trusted(verifier, _token(old, "old")) and _trusted(verifier, _token(new, "new"))

    jwks.keys = [_public_jwk(new, "new")]  # auth retires the old key
    removed_at = time.monotonic()
    poll_until(lambda: not _trusted(verifier, _token(old, "old")), 10 * LIFESPAN,
               "the removed key to stop being trusted", interval=0.1)
    assert time.monotonic() - removed_at >= LIFESPAN * 0.5  # the set is not fetched for every token
    assert _trusted(verifier, _token(new, "new"))


def test_unknown_key_ids_do_not_make_every_request_fetch_the_jwks(jwks: Jwks) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [_public_jwk(key, "k")]
    verifier = TokenVerifier(JwksKeySource(jwks.url), issuer="calories-auth", audience="calories")
    assert _trusted(verifier, _token(key, "k"))
    before = jwks.fetches
    for i in range(20):
        assert not _trusted(verifier, _token(key, f"made-up-{i}"))
    assert jwks.fetches - before <= 1  # at most one early fetch per min-refresh interval


def test_a_cached_key_is_given_only_while_no_fetch_is_due_and_never_waits(jwks: Jwks) -> None:
    """What decides whether the request's token is checked on the event loop (a key in hand) or in
    the thread pool (the key set may have to be fetched): chassis.security.current_principal."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [_public_jwk(key, "k")]
    source = JwksKeySource(jwks.url)
    token = _token(key, "k")
    assert source.cached_key(token) is None  # nothing fetched yet
    expected = source.key_for(token)
    fetches = jwks.fetches
    assert source.cached_key(token) is expected
    assert source.cached_key(_token(key, "made-up")) is None  # only key_for can refuse it
    assert source.cached_key("not a token") is None
    with source._lock:  # a fetch in progress (a made-up kid's, say) does not hold the loop up
        assert source.cached_key(token) is expected
    poll_until(lambda: source.cached_key(token) is None, 10 * LIFESPAN, "the fetched set to expire", interval=0.1)
    assert jwks.fetches == fetches  # asking fetched nothing


def test_a_token_checked_with_a_cached_key_gives_the_same_principal(jwks: Jwks) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys = [_public_jwk(key, "k")]
    verifier = TokenVerifier(JwksKeySource(jwks.url), issuer="calories-auth", audience="calories")
    token = _token(key, "k")
    fetched = verifier.verify(token)
    assert verifier.verify(token, verifier.keys.cached_key(token)) == fetched
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Problem):  # a wrong key is a bad signature, not a pass
        verifier.verify(token, other.public_key())
