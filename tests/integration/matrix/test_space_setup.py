"""The README's natural Matrix set-up, end to end: a community configured as a space alone.

The configuration is the TOML a README reader writes (no `rooms`, no `allowed_inviters`, secrets
from the environment) and the bot is the real application (`bot.app.Application`: migrations,
every cog, the web service). The admin invites the bot to the space and to a private room of it;
the bot joins a public room of the space by itself; a moderator approves a member from the
moderators' room. Everything is observed through people's own Matrix clients.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.app import Application
from bot.config import load_config
from tests.fakes.matrix_member import MatrixMember, SyncedEvent
from tests.fixtures.synapse import MemberFactory, SynapseServer, free_port, register_user
from tests.integration.verification.harness import csrf_of
from tests.waiting import wait_until

pytestmark = pytest.mark.synapse

CONFIG = """
[database]
url = "sqlite+aiosqlite:///{folder}/verifybot.db"

[web]
base_url = "http://127.0.0.1:{port}"
listen_port = {port}

[identity]
hash_key = {{ env = "VERIFYBOT_IDENTITY_KEY" }}

[methods.moderator]

[[communities]]
network = "matrix"
id = "{space}"
name = "The Garden"
moderator_channel = "{mods}"

[matrix]
homeserver = "{homeserver}"
user_id = "{bot}"
access_token = {{ env = "VERIFYBOT_MATRIX_TOKEN" }}
announce_verification = true
"""


@dataclass
class Garden:
    """A space with a public room, a private room and a moderators' room, and the bot's
    account (not yet in any of them)."""

    synapse: SynapseServer
    admin: MatrixMember
    moderator: MatrixMember
    bot: MatrixMember
    space: str
    lobby: str  # public: anyone may join
    private: str  # invite only
    mods: str
    make_member: MemberFactory
    app: Application | None = None
    dms: dict[str, str] = field(default_factory=dict)

    async def joined(self, room: str, *, seen_by: MatrixMember | None = None) -> None:
        observer = seen_by or self.admin

        async def bot_in() -> bool:
            return await observer.membership(room, self.bot.user_id) == "join"

        await wait_until(bot_in, within=20, what=f"the bot joins {room}")

    async def told(self, member: MatrixMember, contains: str) -> SyncedEvent:
        """A private message from the bot, read in the member's DM room with it."""
        room = self.dms.get(member.user_id)
        if room is None:
            room = self.dms[member.user_id] = await member.accept_dm(self.bot.user_id, within=20)
        return await member.wait_for_message(room, sender=self.bot.user_id, contains=contains)

    async def newcomer(self, name: str, room: str) -> MatrixMember:
        member = await self.make_member(name)
        await member.join(self.space)
        await member.join(room)
        await member.start_watching()
        return member


@pytest.fixture
async def garden(
    synapse: SynapseServer,
    matrix_member: MemberFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Garden]:
    admin, moderator = await matrix_member("admin"), await matrix_member("mod")
    account = await register_user(synapse, f"verifybot-{secrets.token_hex(4)}")
    bot = MatrixMember(synapse, account.user_id, account.access_token)
    powers = {moderator.user_id: 50, bot.user_id: 100}  # the admin created them: above all
    space = await admin.create_room(space=True, name="The Garden", power_users=powers)
    lobby = await admin.create_room(name="lobby", power_users={bot.user_id: 100})
    private = await admin.create_room(
        name="private talk", preset="private_chat", power_users={bot.user_id: 100}
    )
    for room in (lobby, private):
        await admin.add_child(space, room)
    mods = await admin.create_room(
        name="moderators", preset="private_chat", power_users=powers, invite=[moderator.user_id]
    )
    await moderator.join(mods)
    await moderator.join(space)
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text(
        CONFIG.format(
            folder=tmp_path,
            port=port,
            space=space,
            mods=mods,
            homeserver=synapse.base_url,
            bot=bot.user_id,
        )
    )
    monkeypatch.setenv("VERIFYBOT_IDENTITY_KEY", secrets.token_urlsafe(32))
    monkeypatch.setenv("VERIFYBOT_MATRIX_TOKEN", bot.access_token)
    app = Application(load_config(path).config)
    await app.start()
    garden = Garden(synapse, admin, moderator, bot, space, lobby, private, mods, matrix_member, app)
    try:
        yield garden
    finally:
        await app.stop()
        await bot.close()


async def open_link_and_ask_a_moderator(link: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(link) as page:
            html = await page.text()
            assert page.status == 200, html
        form = {"csrf": csrf_of(html), "method": "moderator"}
        origin = re.match(r"https?://[^/]+", link)
        assert origin is not None
        async with browser.post(link, data=form, headers={"Origin": origin.group(0)}) as done:
            return await done.text()


async def test_a_space_only_community_is_joined_protected_and_moderated(garden: Garden) -> None:
    g = garden
    await g.admin.start_watching()
    await g.moderator.start_watching()
    # invited to the space, the bot joins it, and by itself the public room of the space
    await g.admin.invite(g.space, g.bot.user_id)
    await g.joined(g.space)
    await g.joined(g.lobby)
    # the private room needs an invitation: the admin is told so, and the invitation works
    advice = await g.told(g.admin, "I could not join")
    assert g.private in advice.content["body"]  # the bot cannot see its name from outside
    assert f"invite {g.bot.user_id} to it" in advice.content["body"]
    await g.admin.invite(g.private, g.bot.user_id)
    await g.joined(g.private)
    await g.admin.invite(g.mods, g.bot.user_id)
    await g.joined(g.mods)

    # the room is protected: an unverified reply to a member who filters replies is removed
    alice = await g.newcomer("alice", g.lobby)
    mallory = await g.newcomer("mallory", g.lobby)
    await alice.send_text(g.lobby, "!filter replies")
    await g.told(alice, "Your filter is now replies")
    pointer = await alice.wait_for_message(g.lobby, sender=g.bot.user_id, contains="direct")
    assert "I answer commands in a direct message" in pointer.content["body"]
    post = await alice.send_text(g.lobby, "my news")
    unwanted = await mallory.reply(g.lobby, post, "click here")
    await alice.wait_for_redaction(g.lobby, unwanted, within=20)

    # a member asks for moderator review; the moderator approves in the moderators' room
    bob = await g.newcomer("bob", g.lobby)
    await bob.send_text(g.lobby, "!verify")
    link = await g.told(bob, "/verify/")
    found = re.search(r"(http://\S+/verify/\S+)", link.content["body"])
    assert found is not None
    assert "with the moderators" in await open_link_and_ask_a_moderator(found.group(1))
    request = await g.moderator.wait_for_message(g.mods, contains="asks to be verified")
    assert bob.user_id in request.content["body"]
    await g.moderator.send_text(g.mods, f"!approve {bob.user_id}")
    announced = await g.moderator.wait_for_message(
        g.mods, sender=g.bot.user_id, contains="approved"
    )
    assert f"approved {bob.user_id}'s request: they are verified now" in (announced.content["body"])
    await g.told(bob, "You are verified (checked by a moderator)")

    async def badge_shown() -> bool:
        levels = await g.admin.power_levels(g.lobby)
        return bool(levels.get("users", {}).get(bob.user_id) == 1)

    await wait_until(badge_shown, what="bob's badge in the lobby")

    # a member may open a direct chat with the bot (it is one of the community's members)
    dm = await alice.create_room(
        preset="trusted_private_chat", invite=[g.bot.user_id], extra={"is_direct": True}
    )
    await g.joined(dm, seen_by=alice)


async def test_admins_name_rooms_and_newcomers_to_a_read_only_room_learn_how_to_verify(
    garden: Garden,
) -> None:
    g = garden
    await g.admin.invite(g.space, g.bot.user_id)
    await g.joined(g.lobby)
    await g.admin.invite(g.mods, g.bot.user_id)
    await g.joined(g.mods)
    await g.admin.start_watching()
    # the admin names the room as people know it, in the moderators' room
    await g.admin.send_text(g.mods, "!policy lobby read_only")
    answer = await g.admin.wait_for_message(g.mods, sender=g.bot.user_id, contains="policy")
    assert "The policy for the room lobby is now read only" in answer.content["body"]
    assert g.lobby not in answer.content["body"]

    async def pinned() -> bool:
        try:
            return bool((await g.admin.state(g.lobby, "m.room.pinned_events")).get("pinned"))
        except Exception:
            return False

    await wait_until(pinned, what="the verification notice is pinned")
    notice_id = (await g.admin.state(g.lobby, "m.room.pinned_events"))["pinned"][0]
    notice = await g.admin.get_event(g.lobby, notice_id)
    assert "!verify" in notice["content"]["body"] and g.bot.user_id in notice["content"]["body"]

    # a newcomer cannot write there, so the bot tells them privately how to verify
    erin = await g.newcomer("erin", g.lobby)
    welcome = await g.told(erin, "Welcome to lobby!")
    assert "Only verified members can write there" in welcome.content["body"]
    await erin.send_text(g.dms[erin.user_id], "!verify")
    await g.told(erin, "/verify/")
