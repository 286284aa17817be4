"""OpenID Connect: prove an identity at any provider, found by its issuer URL.

* method.py — the sign-in flow (`OidcMethod`: begin, finish);
* discovery.py — the provider over HTTP: discovery document and signing keys, cached;
* id_token.py — every check of the ID token, and the level its claims prove.
"""

from __future__ import annotations

from bot.verification.providers.oidc.discovery import (
    OidcConfigError,
    ProviderMetadata,
    keyset_from_jwks,
    read_capped,
    require_secure_url,
)
from bot.verification.providers.oidc.id_token import level_for, validate_id_token
from bot.verification.providers.oidc.method import (
    CALLBACK_PATH,
    METHOD,
    OidcMethod,
    OidcStart,
    pkce_challenge,
)

__all__ = [
    "CALLBACK_PATH",
    "METHOD",
    "OidcConfigError",
    "OidcMethod",
    "OidcStart",
    "ProviderMetadata",
    "keyset_from_jwks",
    "level_for",
    "pkce_challenge",
    "read_capped",
    "require_secure_url",
    "validate_id_token",
]
