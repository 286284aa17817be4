"""OpenID Connect: prove an identity at any provider, found by its issuer URL.

Authorization code flow with PKCE (S256), `state` and `nonce`. The ID token is checked against the
provider's published keys with joserfc, limited to an algorithm allow-list, then its claims: `iss`,
`aud` (and `azp`), `exp`/`iat` with a small leeway, `nonce` and `sub`. Each check raises a
`VerificationFailed` with its own `reason`, so tests can show that each one, on its own, stops a
forged token. Nothing from the token is kept except the keyed hash of (issuer, subject) and the
level that its claims prove.

`state` single use is the service's job (it looks the pending check up by state and deletes it
in one step); this module checks everything the provider sends back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
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
from bot.verification.identity import ServerKey
from bot.verification.providers import Proof, VerificationFailed

log = logging.getLogger(__name__)

METHOD: Final = "oidc"
CALLBACK_PATH: Final = "/verify/oidc/callback"

_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
_MAX_RESPONSE_BYTES = 512 * 1024
_METADATA_TTL = 3600.0
_JWKS_REFRESH_MIN_INTERVAL = 60.0  # a token with an unknown key may refresh keys this often
_MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core 2: sub is at most 255 ASCII characters
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class OidcConfigError(ValueError):
    """The provider's metadata or our settings make the method unusable; fix the config."""


def _untrusted(reason: str, detail: str = "") -> VerificationFailed:
    return VerificationFailed(
        "The identity provider's answer could not be trusted, so nothing was stored."
        " Please try again; if it keeps happening, tell a moderator.",
        reason=reason,
        detail=detail,
    )


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


@dataclass(frozen=True, slots=True)
class OidcStart:
    """Where to send the member's browser, and what must be kept until the callback."""

    authorization_url: str
    state: str
    nonce: str
    code_verifier: str


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


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _token_header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, IndexError) as exc:
        raise _untrusted("malformed", "ID token header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise _untrusted("malformed", "ID token header is not a JSON object")
    return header


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
        raise _untrusted("algorithm", f"ID token alg {alg!r} is not in {list(algorithms)}")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(algorithms))
    except InvalidKeyIdError as exc:
        raise _untrusted("unknown_key", f"no provider key with kid {header.get('kid')!r}") from exc
    except JoseError as exc:
        raise _untrusted("signature", f"ID token signature invalid: {exc!r}") from exc
    except ValueError as exc:  # joserfc raises this for keys that cannot be chosen
        raise _untrusted("signature", f"ID token key selection failed: {exc!r}") from exc
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
        raise _untrusted("expired", "ID token exp is in the past") from exc
    except MissingClaimError as exc:
        reason = "subject" if "sub" in exc.claim.split(",") else "missing_claim"
        raise _untrusted(reason, f"ID token lacks {exc.claim}") from exc
    except InvalidClaimError as exc:
        claim = exc.claim
        reason = {"iss": "issuer", "sub": "subject", "iat": "issued_at", "nbf": "not_before"}.get(
            claim, "invalid_claim"
        )
        raise _untrusted(reason, f"ID token claim {claim!r} invalid: {exc}") from exc
    except ClaimError as exc:
        raise _untrusted("invalid_claim", f"ID token claims invalid: {exc}") from exc

    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT_LENGTH:
        raise _untrusted("subject", "ID token sub is not a usable identifier")

    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise _untrusted("audience", f"ID token aud {audience!r} does not name {client_id!r}")
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise _untrusted("authorized_party", f"ID token azp {azp!r} is not {client_id!r}")
    if len(audiences) > 1 and azp is None:
        raise _untrusted("authorized_party", "ID token has several audiences but no azp")

    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode("utf-8"), nonce.encode("utf-8")
    ):
        raise _untrusted("nonce", "ID token nonce does not match the one we sent")
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

    @property
    def display_name(self) -> str:
        return self.settings.display_name

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=_HTTP_TIMEOUT)
        return self._http

    async def close(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.close()
            self._http = None

    def _unreachable(self, detail: str) -> VerificationFailed:
        return VerificationFailed(
            f"We could not reach {self.display_name} just now, so nothing was stored."
            " Please try again in a few minutes.",
            reason="provider_unreachable",
            detail=detail,
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._session().get(url, timeout=_HTTP_TIMEOUT) as resp:
                body = await read_capped(resp, _MAX_RESPONSE_BYTES)
                if resp.status != 200:
                    raise self._unreachable(f"GET {url} answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._unreachable(f"GET {url} failed: {type(exc).__name__}") from exc
        return self._parse_json(url, body)

    def _parse_json(self, url: str, body: bytes | None) -> dict[str, Any]:
        if body is None:
            raise self._unreachable(f"{url} answered more than {_MAX_RESPONSE_BYTES} bytes")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise self._unreachable(f"{url} did not answer JSON") from exc
        if not isinstance(data, dict):
            raise self._unreachable(f"{url} did not answer a JSON object")
        return data

    def _misconfigured(self, exc: OidcConfigError) -> VerificationFailed:
        # The admin must act; the member can only wait. Logged loudly, told plainly.
        log.error("OpenID Connect is unusable: %s", exc)
        return VerificationFailed(
            f"Sign-in with {self.display_name} is not working right now, so nothing was stored."
            " Please try another method or tell a moderator.",
            reason="provider_misconfigured",
            detail=str(exc),
        )

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched on first use and refreshed hourly."""
        if self._metadata is None or self._clock() - self._metadata_at > _METADATA_TTL:
            doc = await self._get_json(f"{self.settings.issuer}/.well-known/openid-configuration")
            try:
                metadata = ProviderMetadata.parse(doc, self.settings.issuer)
                if not set(metadata.signing_algorithms) & set(self.settings.allowed_algorithms):
                    raise OidcConfigError(
                        "methods.oidc.allowed_algorithms: the provider signs ID tokens with"
                        f" {', '.join(metadata.signing_algorithms)}; allow one of those"
                    )
            except OidcConfigError as exc:
                raise self._misconfigured(exc) from exc
            self._metadata, self._metadata_at = metadata, self._clock()
        return self._metadata

    async def _signing_keys(self, *, refresh: bool = False) -> KeySet:
        stale = self._clock() - self._keys_at > _METADATA_TTL
        may_refresh = self._clock() - self._keys_at > _JWKS_REFRESH_MIN_INTERVAL
        if self._keys is None or stale or (refresh and may_refresh):
            metadata = await self.metadata()
            try:
                self._keys = keyset_from_jwks(await self._get_json(metadata.jwks_uri))
            except OidcConfigError as exc:
                raise self._misconfigured(exc) from exc
            self._keys_at = self._clock()
        return self._keys

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
            raise _untrusted("callback_issuer", f"callback iss {callback_issuer!r}")
        if callback_issuer is None and metadata.iss_parameter_supported:
            raise _untrusted("callback_issuer", "callback lacks the iss the provider announces")
        code = params.get("code")
        if not code:
            raise _untrusted("no_code", "callback without an authorization code")

        tokens = await self._redeem_code(metadata, code, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise _untrusted("no_id_token", "token response without an id_token")
        claims = await self._validate(id_token, nonce)
        level = level_for(claims, self.settings)
        return Proof(
            method=METHOD,
            level=level,
            identity_hash=self._key.identity_hash(metadata.issuer, claims["sub"]),
        )

    async def _validate(self, id_token: str, nonce: str) -> dict[str, Any]:
        keys = await self._signing_keys()
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
        keys = await self._signing_keys(refresh=True)
        return validate_id_token(id_token, keys=keys, **options)

    async def _redeem_code(
        self, metadata: ProviderMetadata, code: str, code_verifier: str
    ) -> dict[str, Any]:
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
        try:
            async with self._session().post(
                url,
                data=form,
                headers=headers,
                timeout=_HTTP_TIMEOUT,
            ) as resp:
                body = await read_capped(resp, _MAX_RESPONSE_BYTES)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._unreachable(f"POST {url} failed: {type(exc).__name__}") from exc
        data = self._parse_json(url, body)
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
