"""Forged ID tokens, each with the reason the client must give for refusing it.

Shared by the provider tests and the web-flow tests: every forgery goes through the real
provider's token endpoint (server.js swaps it in), so the whole client refuses it.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fixtures.oidc_provider import OidcTestProvider


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


Forge = Callable[[OidcTestProvider, dict[str, Any]], str]


def signed(change: dict[str, Any]) -> Forge:
    def forge(provider: OidcTestProvider, claims: dict[str, Any]) -> str:
        for name, value in change.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = provider.signing_key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])

    return forge


def by_impostor(provider: OidcTestProvider, claims: dict[str, Any]) -> str:
    impostor = RSAKey.generate_key(
        2048, parameters={"kid": str(provider.signing_key.kid)}, private=True
    )
    return jwt.encode({"alg": "RS256", "kid": impostor.kid}, claims, impostor, algorithms=["RS256"])


def unsigned(provider: OidcTestProvider, claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_with_public_key(provider: OidcTestProvider, claims: dict[str, Any]) -> str:
    head = b64(json.dumps({"alg": "HS256", "kid": provider.signing_key.kid}).encode())
    body = b64(json.dumps(claims).encode())
    secret = provider.signing_key.as_pem(private=False)
    return f"{head}.{body}.{b64(hmac.new(secret, f'{head}.{body}'.encode(), 'sha256').digest())}"


ATTACKS: dict[str, tuple[Forge, str]] = {
    "wrong audience": (signed({"aud": "someone-else"}), "audience"),
    "wrong audience, our azp": (signed({"aud": ["someone-else"], "azp": "verifybot"}), "audience"),
    "wrong issuer": (signed({"iss": "https://evil.example.org"}), "issuer"),
    "expired": (
        signed({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        "expired",
    ),
    "bad signature": (by_impostor, "signature"),
    "alg none": (unsigned, "algorithm"),
    "HS256 with public key": (hs256_with_public_key, "algorithm"),
    "missing sub": (signed({"sub": None}), "subject"),
    "wrong nonce": (signed({"nonce": "not-the-one-we-sent"}), "nonce"),
}
