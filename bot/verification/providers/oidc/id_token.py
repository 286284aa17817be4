"""The ID token: every check OpenID Connect Core 3.1.3.7 asks of a client, and what it proves.

The token is checked against the provider's published keys with joserfc, limited to an
algorithm allow-list, then its claims: `iss`, `aud` (and `azp`), `exp`/`iat` with a small
leeway, `nonce` and `sub`. Each check raises a `VerificationFailed` with its own `reason`, so
tests can show that each one, on its own, stops a forged token. Pure: no I/O, the keys and the
time are given.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from bot.config import OidcSettings
from bot.verification.providers import VerificationFailed

_MAX_SUBJECT_LENGTH: Final = 255  # OpenID Connect Core 2: sub is at most 255 ASCII characters


def untrusted(reason: str, detail: str = "") -> VerificationFailed:
    """The provider's answer failed a check: the person hears only that it was not trusted."""
    return VerificationFailed(
        "The identity provider's answer could not be trusted, so nothing was stored."
        " Please try again; if it keeps happening, tell a moderator.",
        reason=reason,
        detail=detail,
    )


def _token_header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError) as exc:
        raise untrusted("malformed", "ID token header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise untrusted("malformed", "ID token header is not a JSON object")
    return header


def validate_id_token(
    token: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: Sequence[str],
    leeway: int,
    now: int | None = None,
) -> dict[str, Any]:
    """Every check OpenID Connect Core 3.1.3.7 asks of a client; returns the verified claims.

    Raises VerificationFailed whose `reason` names the failing check.
    """
    header = _token_header(token)
    alg = header.get("alg")
    # Checked here as well as by joserfc, so `alg: none` and HS256-with-a-public-key are refused
    # by name before any key is touched.
    if not isinstance(alg, str) or alg not in algorithms:
        raise untrusted("algorithm", f"ID token alg {alg!r} is not in {list(algorithms)}")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(algorithms))
    except InvalidKeyIdError as exc:
        raise untrusted("unknown_key", f"no provider key with kid {header.get('kid')!r}") from exc
    except JoseError as exc:
        raise untrusted("signature", f"ID token signature invalid: {exc!r}") from exc
    except ValueError as exc:  # joserfc raises this for keys that cannot be chosen
        raise untrusted("signature", f"ID token key selection failed: {exc!r}") from exc
    claims = decoded.claims

    registry = jwt.JWTClaimsRegistry(
        now=int(time.time()) if now is None else now,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise untrusted("expired", "ID token exp is in the past") from exc
    except MissingClaimError as exc:
        reason = "subject" if "sub" in exc.claim.split(",") else "missing_claim"
        raise untrusted(reason, f"ID token lacks {exc.claim}") from exc
    except InvalidClaimError as exc:
        claim = exc.claim
        reason = {"iss": "issuer", "sub": "subject", "iat": "issued_at", "nbf": "not_before"}.get(
            claim, "invalid_claim"
        )
        raise untrusted(reason, f"ID token claim {claim!r} invalid: {exc}") from exc
    except ClaimError as exc:
        raise untrusted("invalid_claim", f"ID token claims invalid: {exc}") from exc

    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT_LENGTH:
        raise untrusted("subject", "ID token sub is not a usable identifier")

    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise untrusted("audience", f"ID token aud {audience!r} does not name {client_id!r}")
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise untrusted("authorized_party", f"ID token azp {azp!r} is not {client_id!r}")
    if len(audiences) > 1 and azp is None:
        raise untrusted("authorized_party", "ID token has several audiences but no azp")

    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode("utf-8"), nonce.encode("utf-8")
    ):
        raise untrusted("nonce", "ID token nonce does not match the one we sent")
    return dict(claims)


def level_for(claims: Mapping[str, Any], settings: OidcSettings) -> str:
    """The first claim rule whose claim holds an accepted value wins; else the method's level.

    Rules are read in config order, so an admin lists the strongest first.
    """
    for rule in settings.claim_rules:
        value = claims.get(rule.claim)
        held = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and v in rule.values for v in held):
            return rule.level
    return settings.level
