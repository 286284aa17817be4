"""The bot with its dashboard on loopback, a seeded database and a browser-like HTTP client.

The adapter is the recording one with what a network tells the dashboard (`CommunityFacts`):
a member count, the admins' warnings and each account's role, which a test may change; it knows
the room News by its name too, as an admin types it into the policy form. The clock stands
still (`StoppedClock`), so days and "expires in" are the same on every run.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import aiohttp

from bot.actions import HoldForMember
from bot.adapters.base import Capabilities
from bot.config import Config, parse_config
from bot.core import BotCore
from bot.model import (
    ChannelRef,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessageRef,
    Relation,
    Role,
)
from bot.storage.records import AuditDraft, ReportRecord, VerificationRecord
from bot.storage.repo import Store
from bot.web.app import WebServer, create_app
from bot.web.dashboard.access import DashboardAccess
from cogs.admin import Admin
from cogs.dashboard import Dashboard
from tests.fakes.clock import StoppedClock
from tests.recording import RecordingAdapter

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SPACE = CommunityRef("matrix", "!garden:hs")
LOUNGE = CommunityRef("matrix", "!lounge:hs")
NEWS = ChannelRef(SPACE, "!news:hs")
ADMIN = MemberRef("matrix", "@admin:hs")
ALICE = MemberRef("matrix", "@alice:hs")
HASH_KEY = "verifybot-tests-dashboard-key-0123456789abcdef"
WARNING = (
    "The power levels of News (#news:hs) take 60000 bytes; Matrix refuses them above 65536"
    " bytes. Remove people who left or no longer need a level."
)


@dataclass
class FactsAdapter(RecordingAdapter):
    """A recording adapter that also answers the dashboard's questions (`CommunityFacts`)."""

    counts: dict[CommunityRef, int] = field(default_factory=dict)
    warnings: dict[CommunityRef, list[str]] = field(default_factory=dict)
    roles: dict[tuple[CommunityRef, MemberRef], Role] = field(default_factory=dict)

    async def member_count(self, community: CommunityRef) -> int | None:
        return self.counts.get(community)

    def problems(self, community: CommunityRef) -> list[str]:
        return list(self.warnings.get(community, []))

    def role_of(self, community: CommunityRef, member: MemberRef) -> Role | None:
        return self.roles.get((community, member))

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        """A room id, or a room's name as an admin types it (any case), as the Matrix adapter
        reads it; a name two rooms share, or none has, is not a room."""
        found = super().parse_channel(text, community)
        if found is not None:
            return found
        wanted = text.strip().casefold()
        communities = {served.id for served in self.served}
        matches = [
            place
            for place, name in self.names.items()
            if place not in communities and wanted and name.casefold() == wanted
        ]
        return ChannelRef(community, matches[0]) if len(matches) == 1 else None


def make_config(base_url: str, hash_key: str = HASH_KEY, **web: Any) -> Config:
    return parse_config(
        {
            "web": {"base_url": base_url, "enabled": True, **web},
            "identity": {"hash_key": {"value": hash_key}},
            "methods": {"moderator": {"level": "reviewed"}},
            "communities": [
                {"network": "matrix", "id": SPACE.id, "name": "The Garden"},
                {"network": "matrix", "id": LOUNGE.id, "name": "The Lounge"},
            ],
            "matrix": {
                "homeserver": "http://127.0.0.1:9",
                "user_id": "@bot:hs",
                "access_token": {"value": "unused"},
            },
        }
    ).config


@dataclass
class Site:
    core: BotCore
    adapter: Any  # FactsAdapter, or a plain RecordingAdapter (a network that cannot tell)
    base_url: str
    clock: StoppedClock
    browser: aiohttp.ClientSession

    async def command(
        self,
        name: str,
        *words: str,
        member: MemberRef = ADMIN,
        role: Role = Role.ADMIN,
        community: CommunityRef = SPACE,
    ) -> str:
        before = len(self.adapter.replies)
        invocation = self.adapter.invoke(
            name, *words, member=member, community=community, role=role
        )
        await self.core.handle_command(self.adapter, invocation)
        assert len(self.adapter.replies) > before, f"no reply to {name}"
        return self.adapter.last_reply()

    async def link(self, member: MemberRef = ADMIN, community: CommunityRef = SPACE) -> str:
        reply = await self.command("dashboard", member=member, community=community)
        found = re.search(r"(http://\S+/dashboard/signin/\S+)", reply)
        assert found, reply
        return found.group(1)

    @property
    def access(self) -> DashboardAccess:
        access = self.core.cog(Dashboard).access
        assert access is not None
        return access

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

    async def sign_in(self, link: str | None = None) -> str:
        """Open the link, press "Open the dashboard", and return the dashboard page."""
        status, page, response = await self.get(link or await self.link())
        assert status == 303 and response.headers["Location"] == "/dashboard/signin", page
        status, page, _ = await self.get("/dashboard/signin")
        assert status == 200, page
        status, page, response = await self.post("/dashboard/signin", {"csrf": csrf_of(page)})
        assert status == 303 and response.headers["Location"] == "/dashboard", page
        status, page, _ = await self.get("/dashboard")
        assert status == 200, page
        return page


def csrf_of(page: str, index: int = 0) -> str:
    found = re.findall(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page
    return str(found[index])


def policy_form(page: str, place: str, level: str) -> dict[str, str]:
    """The policy form's fields as the page filled them, with `place` and `level` chosen."""
    community = re.search(r'name="community" value="([^"]+)"', page)
    assert community, page
    csrf = re.search(
        r'action="/dashboard/policy"[^>]*>\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"',
        page,
    )
    assert csrf, page
    return {"csrf": csrf.group(1), "community": community.group(1), "place": place, "level": level}


# --- a seeded database ------------------------------------------------------------------------


def verified(
    name: str, days_ago: float, level: str = "reviewed", **more: Any
) -> VerificationRecord:
    return VerificationRecord(
        "matrix", name, "moderator", level, "", NOW - timedelta(days=days_ago), **more
    )


# (account, days since its check) of the 12 members verified in the Garden; 4 before the chart
VERIFIED_DAYS: Sequence[float] = (60, 50, 45, 40, 20, 15, 10, 10, 5, 3, 1, 0)
FILTERS = {FilterLevel.OFF: 3, FilterLevel.REPLIES: 5, FilterLevel.ALL: 2}
HELD_DAYS = {0: 4, 1: 2, 10: 7, 40: 9}  # days ago -> items held then (40 is before the chart)
MEMBERS = 40


async def seed(store: Store, adapter: RecordingAdapter) -> None:
    """12 of the Garden's 40 members verified here, and badge holders who do not count."""
    if isinstance(adapter, FactsAdapter):
        adapter.counts[SPACE] = MEMBERS
        adapter.warnings[SPACE] = [WARNING]
        adapter.roles[(SPACE, ADMIN)] = Role.ADMIN
    for i, days in enumerate(VERIFIED_DAYS):
        member = MemberRef("matrix", f"@v{i}:hs")
        await store.save_verification(verified(member.id, days))
        adapter.badges.add((member, SPACE))
    not_counted = [
        verified("@expired:hs", 400, expires_at=NOW - timedelta(days=1)),
        verified("@revoked:hs", 3),
        verified("@weaker:hs", 2, level="email"),
        verified("@refused:hs", 2),
    ]
    for record in not_counted:
        await store.save_verification(record)
        adapter.badges.add((record.member, SPACE))
    revoked = MemberRef("matrix", "@revoked:hs")
    await store.revoke_verification(revoked, by="@mod:hs", reason="spam", at=NOW)
    await store.take_identity_place(
        SPACE, MemberRef("matrix", "@refused:hs"), "h" * 64, limit=0, at=NOW
    )
    adapter.badges.add((MemberRef("matrix", "@badge-by-hand:hs"), SPACE))
    await store.save_verification(verified("@elsewhere:hs", 1))  # verified, not in the Garden
    adapter.badges.add((MemberRef("matrix", "@elsewhere:hs"), LOUNGE))
    n = 0
    for level, count in FILTERS.items():
        for _ in range(count):
            n += 1
            await store.set_filter(SPACE, MemberRef("matrix", f"@f{n}:hs"), level, NOW)
    await store.set_filter(LOUNGE, MemberRef("matrix", "@f1:hs"), FilterLevel.ALL, NOW)
    for days, count in HELD_DAYS.items():
        for i in range(count):
            await hold(store, SPACE, f"${days}-{i}", NOW - timedelta(days=days, hours=1))
    await hold(store, LOUNGE, "$lounge", NOW)
    await seed_reports(store)
    await store.audit_many(
        [
            AuditDraft("matrix", SPACE.id, "@mod:hs", "review_approved", "@v11:hs", "", NOW),
            AuditDraft("matrix", LOUNGE.id, "@mod:hs", "revoked", "@x:hs", "spam", NOW),
        ]
    )


async def hold(store: Store, community: CommunityRef, message: str, at: datetime) -> None:
    hold = HoldForMember(
        MemberRef("matrix", "@f1:hs"),
        Relation.REPLY,
        MessageRef(ChannelRef(community, "!room:hs"), message),
        MemberRef("matrix", "@stranger:hs"),
        "hello",
        "unverified",
    )
    await store.add_held([hold], at=at, expires_at=at + timedelta(days=30))


async def seed_reports(store: Store) -> None:
    """Open: 3 (2 overdue, 1 of them urgent); one resolved; one in another community."""

    def report(community: CommunityRef, due_in: float, urgent: bool = False) -> ReportRecord:
        return ReportRecord(
            0,
            "matrix",
            community.id,
            None,
            None,
            "@f1:hs",
            "@stranger:hs",
            "spam",
            None,
            "",
            None,
            "open",
            NOW - timedelta(days=3),
            NOW + timedelta(hours=due_in),
            urgent=urgent,
        )

    for community, due_in, urgent in [
        (SPACE, 5, False),
        (SPACE, -5, False),
        (SPACE, -1, True),
        (SPACE, 2, False),
        (LOUNGE, -3, True),
    ]:
        await store.add_report(report(community, due_in, urgent))
    closed = await store.list_reports(SPACE)
    await store.resolve_report(
        closed[-1].id, SPACE, outcome="dismissed", note=None, by="@mod:hs", at=NOW
    )


@asynccontextmanager
async def running(
    store: Store, *, seeded: bool = True, facts: bool = True, hash_key: str = HASH_KEY, **web: Any
) -> AsyncIterator[Site]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    clock = StoppedClock(NOW)
    kind = FactsAdapter if facts else RecordingAdapter
    adapter = kind(
        served=[SPACE, LOUNGE],
        names={NEWS.id: "News"},
        capabilities=Capabilities(command_prefix="!", channel_word="room"),
    )
    core = BotCore(
        make_config(base_url, hash_key, **web),
        store,
        adapters=[adapter],
        cogs=[Admin, Dashboard],
        clock=clock,
    )
    await core.start()
    if seeded:
        await seed(store, adapter)
    server = WebServer(create_app(core, None), sock=sock)
    await server.start()
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        yield Site(core, adapter, base_url, clock, browser)
    finally:
        await browser.close()
        await server.stop()
        await core.stop()
