"""Identity checks on a real Matrix homeserver, end to end.

A member types `!verify` in a room of the community, opens the link the bot sends privately, and
completes a method: OpenID Connect on the node provider, an e-mail code through SMTP, or a
moderator's `!approve`. Another member then sees the badge: the member's power level in the room.
Everything is observed through members' own Matrix clients.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
import pytest

from bot.adapters.matrix import MatrixAdapter
from bot.config import parse_config
from bot.core import BotCore
from bot.model import MemberRef
from bot.storage.repo import Store
from bot.web.app import WebServer, create_app
from cogs.badges import Badges
from cogs.help import Help
from cogs.verification import Verification
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.matrix.conftest import MatrixCommunity, matrix_community  # noqa: F401
from tests.integration.verification.harness import csrf_of, form_action
from tests.matrix_helpers import MatrixMember, SyncedEvent, wait_until

pytestmark = [pytest.mark.synapse, pytest.mark.oidc]


@dataclass
class Running:
    community: MatrixCommunity
    core: BotCore
    base_url: str
    browser: aiohttp.ClientSession
    mods: str  # the moderators' room
    dms: dict[str, str] = field(default_factory=dict)  # member -> their DM room with the bot

    @property
    def adapter(self) -> MatrixAdapter:
        adapter = self.core.adapter("matrix")
        assert isinstance(adapter, MatrixAdapter)
        return adapter

    async def ask_for_link(self, member: MatrixMember) -> str:
        """`!verify` in the community's room; the link arrives in the member's DM with the bot."""
        await member.send_text(self.community.room, "!verify")
        answer = await self.told(member, "/verify/")
        found = re.search(r"(http://\S+/verify/\S+)", answer.content["body"])
        assert found, answer.content
        return found.group(1)

    async def told(self, member: MatrixMember, contains: str) -> SyncedEvent:
        """A private message from the bot, read in the member's DM room with it."""
        room = self.dms.get(member.user_id)
        if room is None:
            room = self.dms[member.user_id] = await member.accept_dm(self.adapter.user_id)
        return await member.wait_for_message(room, sender=self.adapter.user_id, contains=contains)

    async def choose(self, link: str, method: str, **fields: str) -> tuple[int, str, str]:
        """Pick a method on the link's page: (status, redirect location, page)."""
        async with self.browser.get(link) as page:
            assert page.status == 200
            html = await page.text()
        data = {"csrf": csrf_of(html), "method": method, **fields}
        async with self.browser.post(link, data=data, allow_redirects=False) as response:
            return response.status, response.headers.get("Location", ""), await response.text()

    async def page(self, url: str, data: dict[str, str] | None = None) -> str:
        url = urljoin(self.base_url, url)
        request = self.browser.post(url, data=data) if data else self.browser.get(url)
        async with request as response:
            body = await response.text()
            assert response.status == 200, body
            return body


@pytest.fixture
async def running_bot(
    matrix_community: MatrixCommunity,  # noqa: F811
    store: Store,
    oidc_provider: OidcTestProvider,
    smtp_server: SmtpCapture,
) -> AsyncIterator[Running]:
    c = matrix_community
    mods = await c.admin.create_room(name="moderators", power_users={c.bot.user_id: 100})
    await c.bot.join(mods)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = parse_config(
        {
            "web": {"base_url": base_url, "enabled": False},
            "identity": {"hash_key": {"value": "synapse-end-to-end-identity-key-0123456789"}},
            "methods": {
                "oidc": {
                    "issuer": oidc_provider.issuer,
                    "client_id": oidc_provider.client_id,
                    "client_secret": {"value": oidc_provider.client_secret},
                    "display_name": "Test ID",
                },
                "email_code": {
                    "allowed_domains": ["example.org"],
                    "smtp_host": smtp_server.host,
                    "smtp_port": smtp_server.port,
                    "smtp_starttls": False,
                },
                "moderator": {"level": "reviewed"},
            },
            "matrix": {
                "homeserver": c.synapse.base_url,
                "user_id": c.bot.user_id,
                "access_token": {"env": "TEST_MATRIX_TOKEN"},
                "allowed_inviters": [c.admin.user_id],
            },
            "communities": [
                {
                    "network": "matrix",
                    "id": c.space,
                    "name": "Test community",
                    "moderator_channel": mods,
                }
            ],
        }
    ).config
    core = BotCore(config, store, cogs=[Help, Verification, Badges])
    assert config.matrix is not None
    core.add_adapter(
        MatrixAdapter(
            config.matrix,
            config,
            core.state_for("matrix"),
            environ={"TEST_MATRIX_TOKEN": c.bot.access_token},
            long_poll_ms=5_000,
        )
    )
    await core.start()
    service = core.cog(Verification).service
    assert service is not None
    server = WebServer(create_app(core, service), sock=sock)
    await server.start()
    browser = oidc_provider.browser()
    try:
        yield Running(c, core, base_url, browser, mods)
    finally:
        await browser.close()
        await server.stop()
        await service.close()
        await core.stop()


async def joined(bot: Running, name: str) -> MatrixMember:
    member = await bot.community.member_in_room(name)
    await member.start_watching()

    async def known() -> bool:
        return bool(await bot.adapter.member_communities(MemberRef("matrix", member.user_id)))

    await wait_until(known, what=f"the bot sees {member.user_id}")
    return member


async def sees_badge(observer: MatrixMember, room: str, member: MatrixMember) -> bool:
    levels = await observer.power_levels(room)
    return bool(levels.get("users", {}).get(member.user_id) == 1)


async def test_oidc_on_synapse(running_bot: Running, oidc_provider: OidcTestProvider) -> None:
    bot = running_bot
    carol, dave = await joined(bot, "carol"), await joined(bot, "dave")
    assert not await sees_badge(dave, bot.community.room, carol)
    link = await bot.ask_for_link(carol)
    status, location, _ = await bot.choose(link, "oidc")
    assert status == 303
    callback = await oidc_provider.sign_in(bot.browser, location, login="carol")
    assert "You are verified" in await bot.page(callback)
    assert await sees_badge(dave, bot.community.room, carol)
    await bot.told(carol, "Verified badge now shows in Test community")


async def test_email_code_on_synapse(running_bot: Running, smtp_server: SmtpCapture) -> None:
    bot = running_bot
    carol, dave = await joined(bot, "carol"), await joined(bot, "dave")
    link = await bot.ask_for_link(carol)
    status, _, page = await bot.choose(link, "email_code", address="carol@example.org")
    assert status == 200 and "on its way" in page
    done = await bot.page(
        form_action(page), {"csrf": csrf_of(page), "code": smtp_server.last_code()}
    )
    assert "You are verified" in done
    assert await sees_badge(dave, bot.community.room, carol)


async def test_moderator_review_on_synapse(running_bot: Running) -> None:
    bot = running_bot
    c = bot.community
    carol, dave = await joined(bot, "carol"), await joined(bot, "dave")
    await c.admin.start_watching()
    link = await bot.ask_for_link(carol)
    status, _, page = await bot.choose(link, "moderator")
    assert status == 200 and "with the moderators" in page
    request = await c.admin.wait_for_message(
        bot.mods, sender=bot.adapter.user_id, contains="asks to be verified"
    )
    assert carol.user_id in request.content["body"]
    assert not await sees_badge(dave, c.room, carol)
    await c.admin.send_text(c.room, f"!approve {carol.user_id}")

    async def badge_seen() -> bool:
        return await sees_badge(dave, c.room, carol)

    await wait_until(badge_seen, what="dave sees carol's badge")
    await bot.told(carol, "You are verified (checked by a moderator)")
