"""The identity provider as it behaves on a bad day: large answers sent in slow chunks, and
not there at all. The person gets a clear answer and nothing is stored; the bot carries on."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.config import OidcSettings
from bot.verification.identity import ServerKey
from bot.verification.providers import VerificationFailed
from bot.verification.providers.oidc import OidcMethod

KEY = ServerKey("provider-faults-identity-key-0123456789abcdef")


def _discovery(issuer: str) -> dict[str, object]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        # a provider may publish much more than this; 300 KB, over many network reads
        "op_policy_uri": f"{issuer}/policy?" + "x" * 300_000,
    }


@pytest.fixture
async def chunking_provider() -> AsyncIterator[str]:
    """A provider that sends its discovery document chunked, in pieces, with pauses."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def discovery(request: web.Request) -> web.StreamResponse:
        body = json.dumps(_discovery(issuer)).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 50_000):
            await response.write(body[start : start + 50_000])
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield issuer
    finally:
        await runner.cleanup()


def method_for(issuer: str) -> OidcMethod:
    settings = OidcSettings(issuer=issuer, client_id="verifybot", display_name="Test ID")
    return OidcMethod(
        settings,
        client_secret=None,
        redirect_uri="http://127.0.0.1:1/verify/oidc/callback",
        key=KEY,
    )


async def test_a_large_answer_in_slow_chunks_is_read_whole(chunking_provider: str) -> None:
    oidc = method_for(chunking_provider)
    try:
        metadata = await oidc.metadata()
        assert metadata.token_endpoint == f"{chunking_provider}/token"
    finally:
        await oidc.close()


async def test_a_provider_that_is_down_gets_a_clear_answer() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    oidc = method_for(issuer)
    try:
        with pytest.raises(VerificationFailed) as failed:
            await oidc.metadata()
    finally:
        await oidc.close()
    assert failed.value.reason == "provider_unreachable"
    assert "could not reach Test ID just now, so nothing was stored" in str(failed.value)
