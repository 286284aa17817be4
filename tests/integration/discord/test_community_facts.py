"""What the admins' dashboard learns from the Discord adapter, with the real discord.py against
the loopback Discord: the member count, what the admins must fix (each with the fix), and each
account's standing, all following what changes on the server; and the dashboard page showing
such a problem to an admin who signed in from `/dashboard`."""

from __future__ import annotations

import re
import socket

import aiohttp
import pytest

from bot.adapters.base import CommunityFacts
from bot.adapters.discord import DiscordAdapter
from bot.model import ChannelRef, CommunityRef, MemberRef, Role, UnverifiedPolicy
from bot.storage.repo import Store
from tests.fakes.clock import StoppedClock
from tests.fakes.discord_api import Channel, Perm, User
from tests.fakes.discord_api import Role as GuildRole
from tests.fakes.discord_api.objects import Overwrite
from tests.fixtures.discord_fake import AdapterFactory, BotFactory, DiscordWorld
from tests.integration.dashboard.harness import HASH_KEY, Site
from tests.waiting import wait_until

pytestmark = pytest.mark.discord_fake


def community(w: DiscordWorld) -> CommunityRef:
    return CommunityRef("discord", str(w.guild.id))


def ref(user: User) -> MemberRef:
    return MemberRef("discord", str(user.id))


async def role_changed(w: DiscordWorld, role: GuildRole) -> None:
    """What Discord tells every client after an admin edits a role."""
    data = {"guild_id": str(w.guild.id), "role": role.payload()}
    await w.fake.dispatch("GUILD_ROLE_UPDATE", data, w.guild)


async def overwrite(w: DiscordWorld, channel: Channel, role: GuildRole, *, deny: int) -> None:
    """An admin denies `role` permissions in one channel (an empty deny removes it)."""
    if deny:
        channel.overwrites[role.id] = Overwrite(role.id, 0, deny=deny)
    else:
        channel.overwrites.pop(role.id, None)
    await w.fake.dispatch("CHANNEL_UPDATE", channel.payload(), w.guild)


async def shown(adapter: DiscordAdapter, w: DiscordWorld, words: str) -> str:
    """The one problem with `words`, once the cache has taken the change in."""

    def found() -> list[str]:
        return [text for text in adapter.problems(community(w)) if words in text]

    await wait_until(lambda: len(found()) == 1, what=f"a problem saying {words!r}")
    return found()[0]


async def gone(adapter: DiscordAdapter, w: DiscordWorld, words: str) -> None:
    def absent() -> bool:
        return not [text for text in adapter.problems(community(w)) if words in text]

    await wait_until(absent, what=f"no problem saying {words!r}")


async def test_the_member_count_is_discords_without_the_bot(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    assert isinstance(adapter, CommunityFacts)
    humans = len(w.guild.members) - 1
    assert humans == 6  # the owner, alice, bob, mallory, the moderator and the admin
    assert await adapter.member_count(community(w)) == humans

    await w.fake.push_member_join(w.guild, w.world.add_user("newcomer"))

    async def counted(expected: int) -> bool:
        return await adapter.member_count(community(w)) == expected

    await wait_until(lambda: counted(humans + 1), what="the newcomer counted")
    await w.fake.push_member_leave(w.guild, w.bob)
    await wait_until(lambda: counted(humans), what="bob no longer counted")
    assert await adapter.member_count(CommunityRef("discord", "1")) is None


async def test_a_bot_role_below_the_badge_is_named_with_the_fix(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    assert adapter.problems(community(w)) == []
    badge = w.role_named("Verified")
    assert badge is not None

    badge.position, w.bot_role.position = w.bot_role.position, badge.position
    await role_changed(w, badge)
    await role_changed(w, w.bot_role)

    problem = await shown(adapter, w, "Verified")
    assert problem == (
        "I cannot give or take the Verified role: my highest role, verifybot, is not above it."
        " Fix: Server Settings → Roles, drag verifybot above Verified (or Verified below"
        " verifybot), then run /badge again."
    )
    badge.position, w.bot_role.position = w.bot_role.position, badge.position
    await role_changed(w, w.bot_role)
    await role_changed(w, badge)
    await gone(adapter, w, "Verified")


async def test_a_missing_channel_permission_is_named_with_the_fix(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    general = "#general"  # by name: the dashboard is read outside Discord

    await overwrite(w, w.general, w.bot_role, deny=Perm.MANAGE_MESSAGES)
    problem = await shown(adapter, w, "Manage Messages")
    assert problem == (
        f"I cannot remove messages in {general}: I lack Manage Messages there."
        " Fix: give verifybot Manage Messages in that channel."
    )
    await overwrite(w, w.general, w.bot_role, deny=Perm.VIEW_CHANNEL)
    problem = await shown(adapter, w, "cannot see")
    assert problem.startswith(f"I cannot see {general}, so I cannot protect it")
    assert problem.endswith("add verifybot and turn on View Channel.")
    assert not [p for p in adapter.problems(community(w)) if "Manage Messages" in p]
    await overwrite(w, w.general, w.bot_role, deny=0)
    await gone(adapter, w, general)

    # a read_only channel's overwrites the bot may no longer edit
    await adapter.apply_policy(
        ChannelRef(community(w), str(w.general.id)), UnverifiedPolicy.READ_ONLY
    )
    assert adapter.problems(community(w)) == []
    await overwrite(w, w.general, w.bot_role, deny=Perm.MANAGE_ROLES)
    problem = await shown(adapter, w, "Manage Permissions")
    assert problem == (
        f"I cannot keep the read_only policy in {general}: I need the Manage Permissions"
        " permission there. Fix: edit each channel → Permissions → add verifybot with Manage"
        " Permissions."
    )


async def test_missing_server_permissions_are_named_with_the_fix(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    w.bot_role.permissions &= ~(Perm.MANAGE_ROLES | Perm.MANAGE_GUILD)
    await role_changed(w, w.bot_role)

    roles = await shown(adapter, w, "Manage Roles")
    assert roles == (
        "I cannot give or take the Verified role: I lack the Manage Roles permission."
        " Fix: Server Settings → Roles → verifybot → turn on Manage Roles."
    )
    automod = await shown(adapter, w, "Manage Server")
    assert automod.startswith("To stop mentions of members who filter unverified accounts")
    assert automod.endswith("Fix: Server Settings → Roles → verifybot → turn on Manage Server.")


async def test_role_of_follows_permissions_and_membership(
    discord_world: DiscordWorld, discord_adapter: AdapterFactory
) -> None:
    w = discord_world
    adapter = await discord_adapter()
    here = community(w)
    assert adapter.role_of(here, ref(w.admin)) is Role.ADMIN
    assert adapter.role_of(here, ref(w.moderator)) is Role.MODERATOR
    assert adapter.role_of(here, ref(w.alice)) is Role.MEMBER
    assert adapter.role_of(here, ref(w.owner)) is Role.ADMIN

    # an admin takes the Admins role away from the admin
    member = w.guild.members[w.admin.id]
    member.roles.remove(w.admin_role.id)
    data = {"guild_id": str(w.guild.id), **member.payload()}
    await w.fake.dispatch("GUILD_MEMBER_UPDATE", data, w.guild)
    await wait_until(lambda: adapter.role_of(here, ref(w.admin)) is Role.MEMBER, what="demoted")

    await w.fake.push_member_leave(w.guild, w.moderator)
    await wait_until(lambda: adapter.role_of(here, ref(w.moderator)) is Role.MEMBER, what="left")
    assert adapter.role_of(CommunityRef("discord", "1"), ref(w.alice)) is None


async def test_the_dashboard_shows_the_adapters_warning(
    discord_world: DiscordWorld, discord_bot_with: BotFactory, store: Store
) -> None:
    from bot.web.app import WebServer, create_app
    from cogs.admin import Admin
    from cogs.dashboard import Dashboard

    w = discord_world
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    bot = await discord_bot_with(
        [Admin, Dashboard],
        web={"base_url": base_url, "enabled": True},
        identity={"hash_key": {"value": HASH_KEY}},
    )
    await overwrite(w, w.general, w.bot_role, deny=Perm.MANAGE_MESSAGES)
    await shown(bot.adapter, w, "Manage Messages")
    server = WebServer(create_app(bot.core, None), sock=sock)
    await server.start()
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        record = await bot.run(w.admin, "dashboard")
        found = re.search(r"(http://\S+/dashboard/signin/\S+)", record.given[0]["content"])
        assert found, record.replies
        site = Site(bot.core, bot.adapter, base_url, StoppedClock(bot.clock()), browser)
        page = await site.sign_in(found.group(1))
    finally:
        await browser.close()
        await server.stop()
    assert (
        "I cannot remove messages in #general: I lack Manage Messages there."
        " Fix: give verifybot Manage Messages in that channel."
    ) in page
    assert "0 of 6 members (0%) are verified here." in page
