"""A running verification set-up for tests: core + recording adapter + web service on loopback,
configured against the real OpenID provider and the in-process SMTP server."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import aiohttp

from bot.config import Config, parse_config
from bot.core import BotCore
from bot.model import CommunityRef, MemberRef, Role
from bot.storage.repo import Store
from bot.verification.service import VerificationService
from bot.web.app import WebServer, create_app
from cogs.badges import Badges
from cogs.verification import Verification
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.recording import RecordingAdapter

SPACE = CommunityRef("matrix", "!garden:hs")
LOUNGE = CommunityRef("matrix", "!lounge:hs")
STRICT = CommunityRef("matrix", "!strict:hs")  # accepts only the `identity` level
ALICE = MemberRef("matrix", "@alice:hs")
BOB = MemberRef("matrix", "@bob:hs")
MOD = MemberRef("matrix", "@mod:hs")
HASH_KEY = "verifybot-tests-identity-key-0123456789abcdef"


@dataclass
class ShiftedClock:
    """Real time plus an offset tests can move forward (links, codes, expiry)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def make_config(
    base_url: str,
    oidc: OidcTestProvider | None,
    smtp: SmtpCapture | None,
    email_code: dict[str, Any] | None = None,
    **identity: Any,
) -> Config:
    methods: dict[str, Any] = {"moderator": {"level": "reviewed"}}
    if oidc is not None:
        methods["oidc"] = {
            "issuer": oidc.issuer,
            "client_id": oidc.client_id,
            "client_secret": {"value": oidc.client_secret},
            "scopes": ["openid", "assurance"],
            "display_name": "Test ID",
            "claim_rules": [{"claim": "vot", "values": ["P2.Cc"], "level": "identity"}],
        }
    if smtp is not None:
        methods["email_code"] = {
            "allowed_domains": ["example.org"],
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_starttls": False,
            "sender": "verifybot@example.org",
            "max_attempts": 3,
            "resend_cooldown_seconds": 30,
            **(email_code or {}),
        }
    return parse_config(
        {
            "web": {"base_url": base_url, "enabled": False},
            "identity": {"hash_key": {"value": HASH_KEY}, **identity},
            "methods": methods,
            "communities": [
                {
                    "network": "matrix",
                    "id": SPACE.id,
                    "name": "The Garden",
                    "moderator_channel": "!mods:hs",
                },
                {"network": "matrix", "id": LOUNGE.id, "name": "The Lounge"},
                {
                    "network": "matrix",
                    "id": STRICT.id,
                    "name": "Strict",
                    "accepted_levels": ["identity"],
                },
            ],
            "matrix": {
                "homeserver": "http://127.0.0.1:9",
                "user_id": "@bot:hs",
                "access_token": {"value": "unused"},
            },
        }
    ).config


@dataclass
class Harness:
    core: BotCore
    adapter: RecordingAdapter
    service: VerificationService
    base_url: str
    clock: ShiftedClock
    browser: aiohttp.ClientSession

    async def command(
        self,
        name: str,
        *words: str,
        member: MemberRef,
        community: CommunityRef | None = SPACE,
        role: Role = Role.MEMBER,
    ) -> str:
        before = len(self.adapter.replies)
        await self.core.handle_command(
            self.adapter,
            self.adapter.invoke(name, *words, member=member, community=community, role=role),
        )
        assert len(self.adapter.replies) > before, f"no reply to {name}"
        return self.adapter.last_reply()

    async def link(self, member: MemberRef = ALICE, community: CommunityRef = SPACE) -> str:
        reply = await self.command("verify", member=member, community=community)
        found = re.search(r"(http://\S+/verify/\S+)", reply)
        assert found, reply
        return found.group(1)

    async def get(self, url: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.browser.get(
            urljoin(self.base_url, url), allow_redirects=False, **kwargs
        ) as r:
            return r.status, await r.text(), r

    async def post(
        self, url: str, data: dict[str, str], **kwargs: Any
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.browser.post(
            urljoin(self.base_url, url), data=data, allow_redirects=False, **kwargs
        ) as r:
            return r.status, await r.text(), r

    async def choose(
        self, link: str, method: str, **fields: str
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        """Open the link page and submit the form of one method, as a person would."""
        status, page, _ = await self.get(link)
        assert status == 200, page
        return await self.post(link, {"csrf": csrf_of(page), "method": method, **fields})

    async def verification(self, member: MemberRef) -> Any:
        return await self.core.store.get_verification(member)

    def directs_to(self, member: MemberRef) -> list[str]:
        return [text for who, text in self.adapter.directs if who == member]

    def admin_notes(self) -> list[tuple[CommunityRef, str]]:
        return [args for name, args in self.adapter.calls if name == "notify_admins"]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


def form_action(page: str, index: int = 0) -> str:
    return str(re.findall(r'<form method="post" action="([^"]+)"', page)[index])


@asynccontextmanager
async def running(
    store: Store,
    oidc: OidcTestProvider | None = None,
    smtp: SmtpCapture | None = None,
    email_code: dict[str, Any] | None = None,
    **identity: Any,
) -> AsyncIterator[Harness]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = make_config(base_url, oidc, smtp, email_code, **identity)
    clock = ShiftedClock()
    adapter = RecordingAdapter(served=[SPACE, LOUNGE, STRICT])
    adapter.members = {
        ALICE: {SPACE, LOUNGE, STRICT},
        BOB: {SPACE},
        MOD: {SPACE},
    }
    core = BotCore(config, store, adapters=[adapter], cogs=[Verification, Badges], clock=clock)
    await core.start()
    service = core.cog(Verification).service
    assert service is not None
    server = WebServer(create_app(core, service), sock=sock)
    await server.start()
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        yield Harness(core, adapter, service, base_url, clock, browser)
    finally:
        await browser.close()
        await server.stop()
        await service.close()
        await core.stop()
