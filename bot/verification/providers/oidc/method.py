"""Sign-in at the provider: authorization code flow with PKCE (S256), `state` and `nonce`.

`begin` makes the values to keep and the URL to send the browser to; `finish` checks the
callback, redeems the code at the token endpoint and validates the ID token (id_token.py), with
one retry against fresh keys when the provider has rotated them. Nothing from the token is kept
except the keyed hash of (issuer, subject) and the level its claims prove. `state` single use is
the service's job (bot/verification/oidc_check.py).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

import aiohttp

from bot.config import OidcSettings
from bot.verification.identity import ServerKey
from bot.verification.providers import Proof, VerificationFailed
from bot.verification.providers.oidc.discovery import (
    HTTP_TIMEOUT,
    MAX_RESPONSE_BYTES,
    Provider,
    ProviderMetadata,
    read_capped,
    require_secure_url,
)
from bot.verification.providers.oidc.id_token import level_for, untrusted, validate_id_token

log = logging.getLogger(__name__)

METHOD: Final = "oidc"
CALLBACK_PATH: Final = "/verify/oidc/callback"


@dataclass(frozen=True, slots=True)
class OidcStart:
    """Where to send the member's browser, and what must be kept until the callback."""

    authorization_url: str
    state: str
    nonce: str
    code_verifier: str


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcMethod:
    """One configured OpenID provider. Holds only cached public metadata and keys."""

    name: Final = METHOD

    def __init__(
        self,
        settings: OidcSettings,
        *,
        client_secret: str | None,
        redirect_uri: str,
        key: ServerKey,
        http: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_secure_url(settings.issuer, "methods.oidc.issuer")
        require_secure_url(redirect_uri, "web.base_url (the OpenID callback)")
        self.settings = settings
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._key = key
        self._clock = clock
        self.provider = Provider(settings, http=http, clock=clock)

    @property
    def cached_metadata(self) -> ProviderMetadata | None:
        """The discovery document if already fetched (no I/O), e.g. for CSP headers."""
        return self.provider.cached_metadata

    @property
    def display_name(self) -> str:
        return self.settings.display_name

    async def close(self) -> None:
        """Release the HTTP session."""
        await self.provider.close()

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched on first use and refreshed hourly."""
        return await self.provider.metadata()

    async def begin(self) -> OidcStart:
        """A fresh state, nonce and PKCE verifier, and the URL that starts sign-in."""
        metadata = await self.metadata()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        scopes = list(dict.fromkeys(["openid", *self.settings.scopes]))
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return OidcStart(
            f"{metadata.authorization_endpoint}{separator}{query}", state, nonce, verifier
        )

    async def finish(self, params: Mapping[str, str], *, nonce: str, code_verifier: str) -> Proof:
        """Check the callback, redeem the code, validate the ID token; return what it proves.

        `params` are the callback's query parameters; the caller has already matched and used up
        `state`, and passes what it kept for that state.
        """
        metadata = await self.metadata()
        if "error" in params:
            if params["error"] == "access_denied":
                raise VerificationFailed(
                    f"Sign-in at {self.display_name} was cancelled, so nothing was stored."
                    " Run the verify command again when you are ready.",
                    reason="denied",
                )
            raise VerificationFailed(
                f"{self.display_name} could not sign you in ({params['error'][:64]}), so nothing"
                " was stored. Run the verify command again to retry.",
                reason="provider_error",
                detail=f"provider error {params.get('error')!r}:"
                f" {params.get('error_description')!r}",
            )
        # RFC 9207: a response naming another issuer is a mix-up attack; a provider that
        # announces the parameter must send it.
        callback_issuer = params.get("iss")
        if callback_issuer is not None and callback_issuer != metadata.issuer:
            raise untrusted("callback_issuer", f"callback iss {callback_issuer!r}")
        if callback_issuer is None and metadata.iss_parameter_supported:
            raise untrusted("callback_issuer", "callback lacks the iss the provider announces")
        code = params.get("code")
        if not code:
            raise untrusted("no_code", "callback without an authorization code")

        tokens = await self._redeem_code(metadata, code, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise untrusted("no_id_token", "token response without an id_token")
        claims = await self._validate(id_token, nonce)
        level = level_for(claims, self.settings)
        return Proof(
            method=METHOD,
            level=level,
            identity_hash=self._key.identity_hash(metadata.issuer, claims["sub"]),
        )

    async def _validate(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The verified claims; once more against fresh keys if the token names a new key."""
        keys = await self.provider.signing_keys()
        options: dict[str, Any] = {
            "issuer": self.settings.issuer,
            "client_id": self.settings.client_id,
            "nonce": nonce,
            "algorithms": self.settings.allowed_algorithms,
            "leeway": self.settings.leeway_seconds,
            "now": int(self._clock()),
        }
        try:
            return validate_id_token(id_token, keys=keys, **options)
        except VerificationFailed as exc:
            if exc.reason != "unknown_key":
                raise
        # The provider may have rotated its keys since we fetched them.
        keys = await self.provider.signing_keys(refresh=True)
        return validate_id_token(id_token, keys=keys, **options)

    async def _redeem_code(
        self, metadata: ProviderMetadata, code: str, code_verifier: str
    ) -> dict[str, Any]:
        """Trade the code (with the PKCE verifier) for tokens at the token endpoint."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        client_id = self.settings.client_id
        if self._client_secret is None:
            form["client_id"] = client_id
        elif "client_secret_basic" in metadata.token_auth_methods:
            # RFC 6749 2.3.1: both parts are form-encoded before Basic encoding.
            pair = f"{quote(client_id, safe='')}:{quote(self._client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": client_id, "client_secret": self._client_secret}
        url = metadata.token_endpoint
        provider = self.provider
        try:
            async with provider.session().post(
                url,
                data=form,
                headers=headers,
                timeout=HTTP_TIMEOUT,
            ) as resp:
                body = await read_capped(resp, MAX_RESPONSE_BYTES)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise provider.unreachable(f"POST {url} failed: {type(exc).__name__}") from exc
        data = provider.parse_json(url, body)
        if status != 200:
            error = str(data.get("error", status))
            log.info("token endpoint refused the code: %s", error)
            raise VerificationFailed(
                f"{self.display_name} did not accept this sign-in (it may have been used"
                " already or taken too long), so nothing was stored. Run the verify command"
                " again for a fresh start.",
                reason="code_rejected",
                detail=f"token endpoint answered {status}: {error}",
            )
        return data
