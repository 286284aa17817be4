"""Scenarios written once and run on Matrix (real Synapse) and Discord (real discord.py against
the loopback Discord API): the cogs are network-neutral, so members must see the same outcome.

Each network gets a small driver that does what a member's client would do there; the scenarios
speak only of members, commands, posts, replies, removals and badges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from tests.fixtures.discord_fake import DiscordBot
from tests.fixtures.matrix_bot import MatrixCommunity, Verifybot
from tests.waiting import wait_until


class Driver(Protocol):
    """What a member can do on a network, and what anyone there can observe."""

    async def member(self, name: str) -> Any: ...

    async def command(self, who: Any, name: str, expect: str, **options: str) -> str:
        """Run a command as `who`; the bot's private answer, once it contains `expect`."""
        ...

    async def post(self, who: Any, text: str) -> Any: ...

    async def reply(self, who: Any, to: Any, text: str) -> Any: ...

    async def removed(self, message: Any) -> None:
        """Wait until the message is gone for everyone."""
        ...

    async def present(self, message: Any) -> bool:
        """Whether the message is still there, once the bot has judged it."""
        ...

    async def verify(self, who: Any) -> None: ...

    async def has_badge(self, who: Any) -> bool: ...


@dataclass
class DiscordDriver:
    bot: DiscordBot

    async def member(self, name: str) -> Any:
        w = self.bot.w
        return {"alice": w.alice, "vera": w.bob, "mallory": w.mallory, "admin": w.admin}[name]

    async def command(self, who: Any, name: str, expect: str, **options: str) -> str:
        record = await self.bot.run(who, name, **options)
        # on a slow machine the bot says "thinking…" first (a deferral, no words): wait for words
        await self.bot.w.fake.wait_until(
            lambda: [r for r in record.replies if r.get("content") is not None],
            what=f"the words of the answer to /{name}",
        )
        answer = next(r for r in record.replies if r.get("content") is not None)
        assert answer["ephemeral"], "answers on Discord are ephemeral"
        text = str(answer["content"])
        assert expect in text, text
        return text

    async def post(self, who: Any, text: str) -> Any:
        return await self.bot.w.fake.push_message(self.bot.w.general, who, text)

    async def reply(self, who: Any, to: Any, text: str) -> Any:
        return await self.bot.w.fake.push_message(self.bot.w.general, who, text, reply_to=to.data)

    async def removed(self, message: Any) -> None:
        if message.blocked_by is not None:  # AutoMod stopped it before anyone saw it
            return
        await self.bot.deleted(message)

    async def present(self, message: Any) -> bool:
        await self.bot.adapter.drained()
        return message.id in self.bot.w.world.messages

    async def verify(self, who: Any) -> None:
        await self.bot.verify(who)

    async def has_badge(self, who: Any) -> bool:
        badge = self.bot.w.role_named("Verified")
        return badge is not None and badge.id in self.bot.w.member_role_ids(who)


@dataclass
class MatrixDriver:
    bot: Verifybot

    @property
    def c(self) -> MatrixCommunity:
        return self.bot.community

    async def member(self, name: str) -> Any:
        return self.c.admin if name == "admin" else await self.c.member_in_room(name)

    async def command(self, who: Any, name: str, expect: str, **options: str) -> str:
        await who.send_text(self.c.room, " ".join([f"!{name}", *options.values()]))
        return str((await self.bot.answer(who, expect)).content["body"])

    async def post(self, who: Any, text: str) -> Any:
        return await who.send_text(self.c.room, text)

    async def reply(self, who: Any, to: Any, text: str) -> Any:
        return await who.reply(self.c.room, to, text)

    async def removed(self, message: Any) -> None:
        async def redacted() -> bool:
            return bool(await self.c.admin.is_redacted(self.c.room, message))

        await wait_until(redacted, what=f"{message} redacted")

    async def present(self, message: Any) -> bool:
        return not await self.c.admin.is_redacted(self.c.room, message)

    async def verify(self, who: Any) -> None:
        await self.bot.verify(who)

    async def has_badge(self, who: Any) -> bool:
        users = (await self.c.admin.power_levels(self.c.room)).get("users", {})
        return bool(users.get(who.user_id) == 1)


@pytest.fixture(params=["matrix", "discord"])
def network(request: pytest.FixtureRequest) -> Driver:
    """The same bot on each network (a plain fixture: the async ones it picks set up first)."""
    if request.param == "matrix":
        return MatrixDriver(request.getfixturevalue("matrix_bot"))
    return DiscordDriver(request.getfixturevalue("discord_bot"))


async def test_unverified_reply_is_held_for_the_filtered_member_and_verified_reply_kept(
    network: Driver,
) -> None:
    alice, vera, mallory = [await network.member(n) for n in ("alice", "vera", "mallory")]
    await network.verify(vera)
    await network.command(alice, "filter", "Your filter is now replies", level="replies")
    post = await network.post(alice, "my news")

    kept = await network.reply(vera, post, "congratulations")
    unwanted = await network.reply(mallory, post, "click my link")
    await network.removed(unwanted)
    assert await network.present(kept)

    listing = await network.command(alice, "held", "Held for you (1)")
    assert "click my link" in listing and "congratulations" not in listing
    number = re.search(r"^(\d+)\. A reply from", listing, re.MULTILINE)
    assert number is not None, listing
    item = number.group(1)
    shown = await network.command(alice, "held", "only you see this", action="show", item=item)
    assert "click my link" in shown
    await network.command(alice, "held", "Deleted 1 held item", action="dismiss", item="all")
    await network.command(alice, "held", "Nothing is held for you")


async def test_the_badge_follows_verification(network: Driver) -> None:
    vera = await network.member("vera")
    assert not await network.has_badge(vera)
    await network.verify(vera)

    async def badged() -> bool:
        return await network.has_badge(vera)

    await wait_until(badged, what="the badge")
    answer = await network.command(vera, "filter", "Your filter is off")
    assert "everyone can reply" in answer


async def test_limited_removes_an_unverified_link_and_keeps_plain_talk(network: Driver) -> None:
    admin, mallory = await network.member("admin"), await network.member("mallory")
    await network.command(admin, "policy", "is now limited", level="limited")

    plain = await network.post(mallory, "hello everyone")
    link = await network.post(mallory, "great deal at https://spam.example/deal")
    await network.removed(link)
    assert await network.present(plain)


async def test_a_bad_held_item_gets_a_clear_answer_and_changes_nothing(network: Driver) -> None:
    alice = await network.member("alice")
    answer = await network.command(
        alice, "held", "is not a number from the list", action="dismiss", item="seven"
    )
    assert "'seven'" in answer
    await network.command(alice, "held", "Nothing is held for you")


async def test_only_admins_may_set_policy(network: Driver) -> None:
    mallory = await network.member("mallory")
    await network.command(mallory, "policy", "Only an admin can run", level="read_only")
    plain = await network.post(mallory, "still allowed to talk")
    assert await network.present(plain)
