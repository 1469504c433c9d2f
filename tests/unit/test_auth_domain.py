"""auth's rules without I/O."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from apis.auth import domain
from apis.auth.keys import LocalKeys, SigningKey
from chassis.problems import Problem
from chassis.security import TokenVerifier


def test_passwords_hash_with_argon2id_and_verify() -> None:
    hashed = domain.hash_password("correct horse")
    assert hashed.startswith("$argon2id$") and "m=19456,t=2,p=1" in hashed
    assert domain.password_matches(hashed, "correct horse")
    assert not domain.password_matches(hashed, "wrong horse")
    assert not domain.password_matches(None, "anything")  # unknown account: still a full verify, then False


def test_throttle_counts_only_failures_inside_the_window() -> None:
    policy = domain.ThrottlePolicy(window=timedelta(minutes=15), per_account=3)
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    old = [now - timedelta(minutes=20)] * 10
    assert policy.retry_after(old, 3, now) is None
    recent = [now - timedelta(minutes=m) for m in (10, 5, 1)]
    assert policy.retry_after(recent, 3, now) == 5 * 60 + 1  # the oldest counted failure leaves the window
    assert policy.retry_after(recent[1:], 3, now) is None


def test_client_address_takes_the_rightmost_untrusted_hop() -> None:
    trusted = frozenset({"127.0.0.1"})
    assert domain.client_address("127.0.0.1", "203.0.113.9, 198.51.100.7", trusted) == "198.51.100.7"
    assert domain.client_address("127.0.0.1", "198.51.100.7, 127.0.0.1", trusted) == "198.51.100.7"
    assert domain.client_address("192.0.2.1", "198.51.100.7", trusted) == "192.0.2.1"  # untrusted peer: ignore XFF
    assert domain.client_address("127.0.0.1", None, trusted) == "127.0.0.1"


def test_refresh_secret_round_trip() -> None:
    secret = domain.RefreshSecret.new()
    parsed = domain.RefreshSecret.parse(secret.token)
    assert parsed == secret and parsed.hash == secret.hash and secret.secret not in secret.hash
    assert domain.RefreshSecret.parse("not-a-token") is None
    assert domain.RefreshSecret.parse("a.b") is None


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> SigningKey:
    return SigningKey.load_or_create(tmp_path_factory.mktemp("k") / "key.pem", create=True)


def test_issued_access_tokens_verify_and_carry_roles(key: SigningKey) -> None:
    now = datetime.now(UTC)
    account = uuid.uuid4()
    claims = domain.access_claims(account_id=account, roles=["restaurant"], restaurant_id="r1", issuer="i",
                                  audience="a", now=now, ttl=timedelta(minutes=5))
    principal = TokenVerifier(LocalKeys(key), "i", "a").verify(key.sign(claims))
    assert principal.user_id == str(account) and principal.roles == {"restaurant"} and principal.restaurant_id == "r1"


def test_verifier_pins_the_algorithm_and_the_claims(key: SigningKey) -> None:
    verifier = TokenVerifier(LocalKeys(key), "i", "a")
    base = {"iss": "i", "aud": "a", "sub": "u", "typ": "access", "iat": int(time.time()), "exp": int(time.time()) + 60}
    for bad in ({**base, "aud": "b"}, {**base, "iss": "x"}, {**base, "exp": int(time.time()) - 1},
                {k: v for k, v in base.items() if k != "sub"}):
        with pytest.raises(Problem) as err:
            verifier.verify(key.sign(bad))
        assert err.value.status == 401
    with pytest.raises(Problem):
        hs256 = jwt.encode(base, "a-shared-secret-of-32-bytes-or-more", algorithm="HS256", headers={"kid": key.kid})
        verifier.verify(hs256)


def test_the_dev_key_is_created_once_and_private(tmp_path) -> None:
    path = tmp_path / "secrets" / "k.pem"
    first = SigningKey.load_or_create(path, create=True)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert SigningKey.load_or_create(path, create=False).kid == first.kid
    with pytest.raises(RuntimeError, match="missing"):
        SigningKey.load_or_create(tmp_path / "absent.pem", create=False)
