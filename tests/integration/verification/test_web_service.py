"""The application serves the web pages when `web.enabled`, and they stop with it."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
from joserfc.jwk import RSAKey

from bot.app import Application
from bot.config import ConfigError, parse_config
from bot.core import BotCore
from bot.storage.repo import Store
from cogs.badges import Badges
from cogs.verification import Verification
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.integration.verification.harness import ALICE, csrf_of, running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_web_service_runs_with_the_bot(tmp_path: Path) -> None:
    port = free_port()
    config = parse_config(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/bot.db"},
            "web": {"base_url": f"http://127.0.0.1:{port}", "listen_port": port},
            "identity": {"hash_key": {"value": "x" * 40}},
            "methods": {"moderator": {}},
        }
    ).config
    app = Application(config)
    await app.start()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert (response.status, await response.text()) == (200, "ok")
        async with http.get(f"http://127.0.0.1:{port}/verify/forged.token") as response:
            assert response.status == 400 and "link" in (await response.text()).lower()
        await app.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"http://127.0.0.1:{port}/healthz"):
                pass


async def test_unreachable_provider_keeps_the_link(store: Store) -> None:
    """When the provider is down the member is told so, and the same link still works."""
    dead = OidcTestProvider(
        issuer="http://127.0.0.1:9",
        client_id="verifybot",
        client_secret="unused",
        signing_key=RSAKey.generate_key(2048, private=True),
    )
    async with running(store, dead) as h:
        link = await h.link()
        status, page, _ = await h.choose(link, "oidc")
        assert status == 400 and "could not reach Test ID" in page
        status, page, _ = await h.post(link, {"csrf": csrf_of(page), "method": "moderator"})
        assert status == 200 and "with the moderators" in page
        assert await h.verification(ALICE) is None


def test_a_weak_identity_key_stops_the_start(store: Store) -> None:
    config = parse_config(
        {
            "identity": {"hash_key": {"value": "too-short"}},
            "methods": {"moderator": {}},
            "matrix": {
                "homeserver": "http://127.0.0.1:9",
                "user_id": "@bot:hs",
                "access_token": {"value": "unused"},
            },
        }
    ).config
    with pytest.raises(ConfigError, match="at least 32"):
        BotCore(config, store, cogs=[Badges, Verification])
