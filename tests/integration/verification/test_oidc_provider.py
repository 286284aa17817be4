"""OpenID Connect against a real provider (node oidc-provider on loopback).

The genuine flow proves an identity; forged ID tokens are put through the provider's own token
endpoint (server.js swaps them in), so each is refused by the full client, not only the validator.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from bot.config import ClaimRule, OidcSettings
from bot.verification.identity import ServerKey
from bot.verification.providers import VerificationFailed
from bot.verification.providers.oidc import OidcMethod, OidcStart
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.integration.verification.forgeries import ATTACKS, signed

pytestmark = pytest.mark.oidc

KEY = ServerKey("k" * 48)
REDIRECT = "http://127.0.0.1:8089/verify/oidc/callback"


@pytest.fixture
async def method(oidc_provider: OidcTestProvider) -> AsyncIterator[OidcMethod]:
    settings = OidcSettings(
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        scopes=["openid", "assurance"],
        claim_rules=[ClaimRule(claim="vot", values=["P2.Cc"], level="identity")],
    )
    oidc = OidcMethod(
        settings, client_secret=oidc_provider.client_secret, redirect_uri=REDIRECT, key=KEY
    )
    yield oidc
    await oidc.close()
    await oidc_provider.clear_replacement()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def sign_in(
    provider: OidcTestProvider, method: OidcMethod, login: str = "alice"
) -> tuple[OidcStart, dict[str, str]]:
    start = await method.begin()
    async with provider.browser() as browser:
        callback = await provider.sign_in(browser, start.authorization_url, login=login)
    return start, query(callback)


async def test_full_flow_proves_the_identity(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    start, params = await sign_in(oidc_provider, method)
    assert params["state"] == start.state
    proof = await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)
    assert proof.method == "oidc"
    assert proof.level == "account"
    assert proof.identity_hash == KEY.identity_hash(oidc_provider.issuer, "alice")


async def test_authorization_request_uses_pkce_s256_state_and_nonce(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    start = await method.begin()
    sent = query(start.authorization_url)
    digest = hashlib.sha256(start.code_verifier.encode()).digest()
    assert sent["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert sent["code_challenge_method"] == "S256"
    assert sent["state"] == start.state and sent["nonce"] == start.nonce
    assert start.code_verifier not in start.authorization_url
    again = await method.begin()
    assert {again.state, again.nonce} & {start.state, start.nonce} == set()


async def test_assurance_claim_maps_to_identity_level(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    start, params = await sign_in(oidc_provider, method, login="strong-bob")
    proof = await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)
    assert proof.level == "identity"


async def test_reused_authorization_code_is_refused(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    start, params = await sign_in(oidc_provider, method)
    await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)
    with pytest.raises(VerificationFailed) as caught:
        await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)
    assert caught.value.reason == "code_rejected"
    assert "nothing was stored" in str(caught.value)


async def test_code_is_bound_to_our_pkce_verifier(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    start, params = await sign_in(oidc_provider, method)
    other = await method.begin()  # an attacker's own verifier cannot redeem the victim's code
    with pytest.raises(VerificationFailed) as caught:
        await method.finish(params, nonce=start.nonce, code_verifier=other.code_verifier)
    assert caught.value.reason == "code_rejected"


async def test_callback_from_another_issuer_is_refused(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    start, params = await sign_in(oidc_provider, method)
    for iss in ("https://evil.example.org", None):
        forged = {k: v for k, v in params.items() if k != "iss"}
        if iss is not None:
            forged["iss"] = iss
        with pytest.raises(VerificationFailed) as caught:
            await method.finish(forged, nonce=start.nonce, code_verifier=start.code_verifier)
        assert caught.value.reason == "callback_issuer"
    # the code was never redeemed, so the genuine callback still works
    await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)


async def test_cancelled_sign_in_says_so(method: OidcMethod) -> None:
    start = await method.begin()
    with pytest.raises(VerificationFailed) as caught:
        await method.finish(
            {"error": "access_denied", "state": start.state},
            nonce=start.nonce,
            code_verifier=start.code_verifier,
        )
    assert caught.value.reason == "denied"
    assert "cancelled" in str(caught.value)


# --- forged ID tokens through the provider's token endpoint --------------------------------------


@pytest.mark.parametrize("attack", ATTACKS)
async def test_forged_id_token_is_refused(
    oidc_provider: OidcTestProvider, method: OidcMethod, attack: str
) -> None:
    forge, reason = ATTACKS[attack]
    start, params = await sign_in(oidc_provider, method, login="mallory")
    now = int(time.time())
    claims = {
        "iss": oidc_provider.issuer,
        "sub": "victim",
        "aud": oidc_provider.client_id,
        "iat": now,
        "exp": now + 600,
        "nonce": start.nonce,
    }
    await oidc_provider.replace_next_id_token(forge(oidc_provider, claims))
    with pytest.raises(VerificationFailed) as caught:
        await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)
    assert caught.value.reason == reason


async def test_a_genuine_token_swapped_in_passes(
    oidc_provider: OidcTestProvider, method: OidcMethod
) -> None:
    """The swap itself is sound: unchanged claims signed by the provider's key are accepted."""
    start, params = await sign_in(oidc_provider, method)
    now = int(time.time())
    claims = {
        "iss": oidc_provider.issuer,
        "sub": "carol",
        "aud": oidc_provider.client_id,
        "iat": now,
        "exp": now + 600,
        "nonce": start.nonce,
    }
    await oidc_provider.replace_next_id_token(signed({})(oidc_provider, claims))
    proof = await method.finish(params, nonce=start.nonce, code_verifier=start.code_verifier)
    assert proof.identity_hash == KEY.identity_hash(oidc_provider.issuer, "carol")


async def test_unreachable_provider_is_reported_plainly() -> None:
    settings = OidcSettings(issuer="http://127.0.0.1:9", client_id="verifybot")
    oidc = OidcMethod(settings, client_secret=None, redirect_uri=REDIRECT, key=KEY)
    try:
        with pytest.raises(VerificationFailed) as caught:
            await oidc.begin()
    finally:
        await oidc.close()
    assert caught.value.reason == "provider_unreachable"
    assert "could not reach" in str(caught.value)


async def test_provider_claiming_another_issuer_is_not_trusted() -> None:
    """A discovery document naming another issuer is a mix-up; the admin must fix the URL."""

    async def discovery(_request: web.Request) -> web.Response:
        return web.json_response({"issuer": "https://evil.example.org"})

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = OidcSettings(issuer=f"http://127.0.0.1:{port}", client_id="verifybot")
    oidc = OidcMethod(settings, client_secret=None, redirect_uri=REDIRECT, key=KEY)
    try:
        with pytest.raises(VerificationFailed) as caught:
            await oidc.begin()
    finally:
        await oidc.close()
        await runner.cleanup()
    assert caught.value.reason == "provider_misconfigured"
    assert "copy the issuer exactly" in caught.value.detail


def test_plain_http_issuer_is_refused_outside_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        OidcSettings(issuer="http://id.example.org", client_id="verifybot")
