"""The provider over HTTP: its discovery document and signing keys, fetched, checked, cached.

Everything fetched is public (no person's data passes here). Answers are capped in size and
time, so a broken or hostile provider costs a clear message, never a hung or flooded bot; an
unusable document or key set is an admin's problem, logged loudly and told plainly.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
from joserfc.jwk import KeySet

from bot.config import OidcSettings
from bot.verification.providers import VerificationFailed

log = logging.getLogger(__name__)

HTTP_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
MAX_RESPONSE_BYTES: Final = 512 * 1024
_METADATA_TTL = 3600.0
_JWKS_REFRESH_MIN_INTERVAL = 60.0  # a token with an unknown key may refresh keys this often
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class OidcConfigError(ValueError):
    """The provider's metadata or our settings make the method unusable; fix the config."""


def require_secure_url(url: str, what: str) -> None:
    """Refuse plain http except on loopback, where tests and local set-ups run."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS):
        return
    raise OidcConfigError(f"{what} must be an https URL (got {url!r})")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of the discovery document this client relies on."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]
    iss_parameter_supported: bool
    signing_algorithms: tuple[str, ...]

    @classmethod
    def parse(cls, doc: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
        # OpenID Connect Discovery 4.3: the issuer in the document must be exactly ours, or an
        # attacker-controlled document could redirect the whole flow.
        if doc.get("issuer") != expected_issuer:
            raise OidcConfigError(
                f"methods.oidc.issuer: the provider says its issuer is {doc.get('issuer')!r},"
                f" not {expected_issuer!r}; copy the issuer exactly from"
                f" {expected_issuer}/.well-known/openid-configuration"
            )
        endpoints: dict[str, str] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str):
                raise OidcConfigError(f"the provider's discovery document has no {name}")
            require_secure_url(value, f"the provider's {name}")
            endpoints[name] = value
        challenge_methods = doc.get("code_challenge_methods_supported")
        if isinstance(challenge_methods, list) and "S256" not in challenge_methods:
            raise OidcConfigError(
                "the provider does not support PKCE with S256, which this bot requires"
            )
        auth_methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        algorithms = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        return cls(
            issuer=expected_issuer,
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            jwks_uri=endpoints["jwks_uri"],
            token_auth_methods=tuple(str(m) for m in auth_methods),
            iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
            is True,
            signing_algorithms=tuple(str(a) for a in algorithms),
        )


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body, read to its end (chunked or not), or None once it passes `limit` bytes.

    `StreamReader.read(n)` returns what is buffered so far, not n bytes: a large or slowly
    chunked JWKS would arrive cut short and look like a broken provider."""
    if resp.content_length is not None and resp.content_length > limit:
        return None
    body = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def keyset_from_jwks(jwks: Mapping[str, Any]) -> KeySet:
    """The provider's signing keys. Symmetric and encryption keys are dropped: an ID token
    signed with anything the public could know (a published secret) proves nothing."""
    raw_keys = jwks.get("keys")
    if not isinstance(raw_keys, list):
        raise OidcConfigError("the provider's jwks_uri did not return a JWK set")
    usable = [
        k
        for k in raw_keys
        if isinstance(k, dict) and k.get("kty") in ("RSA", "EC", "OKP") and k.get("use") != "enc"
    ]
    if not usable:
        raise OidcConfigError("the provider publishes no signing keys this bot can use")
    return KeySet.import_key_set({"keys": usable})


class Provider:
    """One provider's HTTP side: a session, capped JSON answers, and its published metadata
    and keys, cached (metadata hourly; keys hourly, or sooner once a token names a new key)."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        http: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    @property
    def cached_metadata(self) -> ProviderMetadata | None:
        """The discovery document if already fetched (no I/O), e.g. for CSP headers."""
        return self._metadata

    def session(self) -> aiohttp.ClientSession:
        """One session for every request to the provider, made on first use (inside the loop)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        return self._http

    async def close(self) -> None:
        """Close the session, unless the caller handed it in (and so owns it)."""
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    def unreachable(self, detail: str) -> VerificationFailed:
        """The provider did not answer usefully: the member can only try again later."""
        return VerificationFailed(
            f"We could not reach {self.settings.display_name} just now, so nothing was stored."
            " Please try again in a few minutes.",
            reason="provider_unreachable",
            detail=detail,
        )

    def misconfigured(self, exc: OidcConfigError) -> VerificationFailed:
        # The admin must act; the member can only wait. Logged loudly, told plainly.
        log.error("OpenID Connect is unusable: %s", exc)
        return VerificationFailed(
            f"Sign-in with {self.settings.display_name} is not working right now, so nothing"
            " was stored. Please try another method or tell a moderator.",
            reason="provider_misconfigured",
            detail=str(exc),
        )

    async def get_json(self, url: str) -> dict[str, Any]:
        """A JSON object from `url`, within the size and time caps."""
        try:
            async with self.session().get(url, timeout=HTTP_TIMEOUT) as resp:
                body = await read_capped(resp, MAX_RESPONSE_BYTES)
                if resp.status != 200:
                    raise self.unreachable(f"GET {url} answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self.unreachable(f"GET {url} failed: {type(exc).__name__}") from exc
        return self.parse_json(url, body)

    def parse_json(self, url: str, body: bytes | None) -> dict[str, Any]:
        """The JSON object in a capped body (None: it was too large)."""
        if body is None:
            raise self.unreachable(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise self.unreachable(f"{url} did not answer JSON") from exc
        if not isinstance(data, dict):
            raise self.unreachable(f"{url} did not answer a JSON object")
        return data

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched on first use and refreshed hourly."""
        if self._metadata is None or self._clock() - self._metadata_at > _METADATA_TTL:
            doc = await self.get_json(f"{self.settings.issuer}/.well-known/openid-configuration")
            try:
                metadata = ProviderMetadata.parse(doc, self.settings.issuer)
                if not set(metadata.signing_algorithms) & set(self.settings.allowed_algorithms):
                    raise OidcConfigError(
                        "methods.oidc.allowed_algorithms: the provider signs ID tokens with"
                        f" {', '.join(metadata.signing_algorithms)}; allow one of those"
                    )
            except OidcConfigError as exc:
                raise self.misconfigured(exc) from exc
            self._metadata, self._metadata_at = metadata, self._clock()
        return self._metadata

    async def signing_keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's keys; `refresh` asks again (at most once a minute), for a token
        signed with a key newer than ours."""
        stale = self._clock() - self._keys_at > _METADATA_TTL
        may_refresh = self._clock() - self._keys_at > _JWKS_REFRESH_MIN_INTERVAL
        if self._keys is None or stale or (refresh and may_refresh):
            metadata = await self.metadata()
            try:
                self._keys = keyset_from_jwks(await self.get_json(metadata.jwks_uri))
            except OidcConfigError as exc:
                raise self.misconfigured(exc) from exc
            self._keys_at = self._clock()
        return self._keys
