"""ID-token validation: a genuine token passes; each forgery is refused by its own check.

Each attack starts from the genuine claims and changes one thing, and asserts the *reason*, so
removing that one check makes its test fail even where another layer would also catch it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bot.config import ClaimRule, OidcSettings
from bot.verification.providers import VerificationFailed
from bot.verification.providers.oidc.discovery import keyset_from_jwks
from bot.verification.providers.oidc.id_token import level_for, validate_id_token

ISSUER = "https://id.example.org"
CLIENT = "verifybot"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def provider_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}, private=True)


@pytest.fixture(scope="module")
def keys(provider_key: RSAKey) -> KeySet:
    return keyset_from_jwks({"keys": [provider_key.as_dict(private=False)]})


def genuine(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": NONCE,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(claims: dict[str, Any], key: RSAKey, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check(token: str, keys: KeySet, *, nonce: str = NONCE, leeway: int = 60) -> dict[str, Any]:
    return validate_id_token(
        token,
        keys=keys,
        issuer=ISSUER,
        client_id=CLIENT,
        nonce=nonce,
        algorithms=["RS256"],
        leeway=leeway,
        now=NOW,
    )


def refused(token: str, keys: KeySet, **kwargs: Any) -> str:
    with pytest.raises(VerificationFailed) as caught:
        check(token, keys, **kwargs)
    assert "nothing was stored" in str(caught.value)
    return caught.value.reason


def test_genuine_token_passes(provider_key: RSAKey, keys: KeySet) -> None:
    claims = check(sign(genuine(), provider_key), keys)
    assert claims["sub"] == "248289761001"


def test_wrong_audience(provider_key: RSAKey, keys: KeySet) -> None:
    assert refused(sign(genuine(aud="another-client"), provider_key), keys) == "audience"


def test_wrong_audience_even_with_our_azp(provider_key: RSAKey, keys: KeySet) -> None:
    token = sign(genuine(aud=["another-client"], azp=CLIENT), provider_key)
    assert refused(token, keys) == "audience"


def test_several_audiences_need_our_azp(provider_key: RSAKey, keys: KeySet) -> None:
    both = [CLIENT, "another-client"]
    assert refused(sign(genuine(aud=both), provider_key), keys) == "authorized_party"
    token = sign(genuine(aud=both, azp="another-client"), provider_key)
    assert refused(token, keys) == "authorized_party"
    assert check(sign(genuine(aud=both, azp=CLIENT), provider_key), keys)["aud"] == both


def test_wrong_issuer(provider_key: RSAKey, keys: KeySet) -> None:
    token = sign(genuine(iss="https://evil.example.org"), provider_key)
    assert refused(token, keys) == "issuer"


def test_expired_beyond_leeway(provider_key: RSAKey, keys: KeySet) -> None:
    assert refused(sign(genuine(exp=NOW - 61), provider_key), keys) == "expired"
    # within the leeway a slightly slow clock is forgiven
    assert check(sign(genuine(exp=NOW - 30), provider_key), keys)


def test_issued_in_the_future(provider_key: RSAKey, keys: KeySet) -> None:
    token = sign(genuine(iat=NOW + 3600, exp=NOW + 7200), provider_key)
    assert refused(token, keys) == "issued_at"


def test_missing_expiry(provider_key: RSAKey, keys: KeySet) -> None:
    assert refused(sign(genuine(exp=None), provider_key), keys) == "missing_claim"


def test_bad_signature_from_another_key(provider_key: RSAKey, keys: KeySet) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": str(provider_key.kid)}, private=True)
    assert refused(sign(genuine(), impostor), keys) == "signature"


def test_tampered_payload(provider_key: RSAKey, keys: KeySet) -> None:
    head, _, signature = sign(genuine(), provider_key).split(".")
    payload = b64(json.dumps(genuine(sub="someone-else")).encode())
    assert refused(f"{head}.{payload}.{signature}", keys) == "signature"


def test_alg_none(keys: KeySet) -> None:
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    token = f"{head}.{b64(json.dumps(genuine()).encode())}."
    assert refused(token, keys) == "algorithm"


def test_hs256_signed_with_the_providers_public_key(provider_key: RSAKey, keys: KeySet) -> None:
    secret = provider_key.as_pem(private=False)
    head = b64(json.dumps({"alg": "HS256", "kid": provider_key.kid, "typ": "JWT"}).encode())
    body = b64(json.dumps(genuine()).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert refused(f"{head}.{body}.{b64(mac)}", keys) == "algorithm"


def test_missing_or_empty_subject(provider_key: RSAKey, keys: KeySet) -> None:
    assert refused(sign(genuine(sub=None), provider_key), keys) == "subject"
    assert refused(sign(genuine(sub=""), provider_key), keys) == "subject"
    assert refused(sign(genuine(sub="x" * 256), provider_key), keys) == "subject"


def test_wrong_or_missing_nonce(provider_key: RSAKey, keys: KeySet) -> None:
    assert refused(sign(genuine(nonce="another-nonce"), provider_key), keys) == "nonce"
    assert refused(sign(genuine(nonce=None), provider_key), keys) == "nonce"


def test_unknown_key_id(provider_key: RSAKey, keys: KeySet) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
    assert refused(sign(genuine(), stranger), keys) == "unknown_key"


def test_garbage_is_refused_not_crashed(keys: KeySet) -> None:
    for token in ("", "abc", "a.b.c", "!!!.???.###"):
        assert refused(token, keys) in {"malformed", "algorithm", "signature"}


def test_symmetric_keys_in_jwks_are_ignored(provider_key: RSAKey) -> None:
    jwks = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "o"}, provider_key.as_dict()]}
    assert [k.key_type for k in keyset_from_jwks(jwks)] == ["RSA"]


def settings_with_rules() -> OidcSettings:
    return OidcSettings(
        issuer=ISSUER,
        client_id=CLIENT,
        level="account",
        claim_rules=[
            ClaimRule(claim="vot", values=["P2.Cc", "P3.Cc"], level="identity"),
            ClaimRule(claim="acr", values=["urn:example:loa:2"], level="strong"),
        ],
    )


def test_claim_rules_map_assurance_to_levels() -> None:
    settings = settings_with_rules()
    assert level_for({"vot": "P2.Cc"}, settings) == "identity"
    assert level_for({"acr": "urn:example:loa:2"}, settings) == "strong"
    assert level_for({"acr": ["x", "urn:example:loa:2"]}, settings) == "strong"
    # the first matching rule wins
    assert level_for({"vot": "P3.Cc", "acr": "urn:example:loa:2"}, settings) == "identity"
    assert level_for({"vot": "P1.Cc", "acr": "urn:example:loa:1"}, settings) == "account"
    assert level_for({}, settings) == "account"


def test_wall_clock_default_rejects_a_stale_token(provider_key: RSAKey, keys: KeySet) -> None:
    stale = sign(genuine(), provider_key)  # expired long ago by the real clock
    with pytest.raises(VerificationFailed) as caught:
        validate_id_token(
            stale,
            keys=keys,
            issuer=ISSUER,
            client_id=CLIENT,
            nonce=NONCE,
            algorithms=["RS256"],
            leeway=60,
        )
    assert caught.value.reason == "expired"
    assert time.time() > NOW
