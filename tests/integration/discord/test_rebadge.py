"""Re-badging many returning verified members with Discord's rate limits on.

The loopback Discord limits as Discord does (`enforce_rate_limits`: the global limit and a small
member-role bucket), so pacing is judged by what Discord would notice: every member ends with the
badge, no request was answered 429, one request per member, none redone after a restart, and the
bot answers commands while the re-badge goes on. Nothing here measures time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from bot.model import CommunityRef, MemberRef
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.badges import Badges
from cogs.help import Help
from tests.fakes.discord_api import User
from tests.fixtures.discord_fake import BotFactory, DiscordBot, DiscordWorld

pytestmark = pytest.mark.discord_fake

MEMBER_ROLE = r"/guilds/\d+/members/\d+/roles/\d+"
RETURNING = 60


async def returning_members(w: DiscordWorld, store: Store, count: int = RETURNING) -> list[User]:
    """`count` members verified before, back in the server without the badge."""
    users = [w.world.add_user(f"returning-{n}") for n in range(count)]
    for user in users:
        w.world.add_member(w.guild, user)
        await store.save_verification(
            VerificationRecord(
                "discord", str(user.id), "moderator", "reviewed", "h" * 64, datetime.now(UTC)
            )
        )
    return users


def badged(w: DiscordWorld, users: list[User]) -> list[User]:
    role = w.role_named("Verified")
    return [] if role is None else [u for u in users if role.id in w.member_role_ids(u)]


def role_changes(w: DiscordWorld) -> list[int]:
    return [r.status or 0 for r in w.fake.find_requests("PUT", MEMBER_ROLE)]


async def test_the_member_role_bucket_is_the_guilds_and_advertised(
    discord_world: DiscordWorld,
) -> None:
    w = discord_world
    w.fake.enforce_rate_limits(member_roles=(1, 5.0))
    role = w.moderator_role.id
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {w.world.token}"}) as http:
        answers = []
        for user in (w.alice, w.bob):  # two members, one guild: one bucket
            url = f"{w.fake.api_base}/guilds/{w.guild.id}/members/{user.id}/roles/{role}"
            async with http.put(url) as response:
                answers.append((response.status, response.headers))
    (ok, first), (refused, second) = answers
    assert (ok, refused) == (204, 429)
    assert first["X-RateLimit-Limit"] == "1" and first["X-RateLimit-Remaining"] == "0"
    assert float(first["X-RateLimit-Reset-After"]) > 0 and float(first["X-RateLimit-Reset"]) > 0
    assert first["X-RateLimit-Bucket"] == second["X-RateLimit-Bucket"]
    assert "X-RateLimit-Global" not in second and w.fake.too_many == 1


async def test_the_global_limit_answers_429_with_discords_headers(
    discord_world: DiscordWorld,
) -> None:
    w = discord_world
    w.fake.enforce_rate_limits(global_per_second=2)
    headers = {"Authorization": f"Bot {w.world.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for _ in range(3):
            async with session.get(f"{w.fake.api_base}/users/@me") as response:
                statuses.append(response.status)
                body = await response.json()
                seen = response.headers
    assert statuses == [200, 200, 429]
    assert seen["X-RateLimit-Global"] == "true" and seen["X-RateLimit-Scope"] == "global"
    assert body["global"] is True and body["retry_after"] > 0 and "Retry-After" in seen
    assert w.fake.too_many == 1


async def test_returning_members_are_rebadged_once_each_without_429_while_commands_answer(
    discord_world: DiscordWorld, discord_bot_with: BotFactory, store: Store
) -> None:
    w = discord_world
    users = await returning_members(w, store)
    w.fake.enforce_rate_limits(member_roles=(6, 0.5))

    bot = await discord_bot_with([Help, Badges])
    record = await bot.run(w.alice, "help")

    assert record.replies and len(badged(w, users)) < RETURNING  # answered while re-badging
    await w.fake.wait_until(lambda: len(badged(w, users)) == RETURNING, within=30)
    assert role_changes(w) == [204] * RETURNING  # one request per member, none refused
    assert w.fake.too_many == 0
    assert not w.fake.find_requests("GET", r"/guilds/\d+/members/\d+")  # no fetch per member


async def test_a_restart_midway_finishes_the_rest_without_redoing_any(
    discord_world: DiscordWorld, discord_bot_with: BotFactory, store: Store
) -> None:
    w = discord_world
    users = await returning_members(w, store)
    w.fake.enforce_rate_limits(member_roles=(6, 0.5))

    first = await discord_bot_with([Help, Badges])
    await w.fake.wait_until(lambda: len(badged(w, users)) >= 20, within=30)
    await first.core.stop()  # cancels the re-badge cleanly
    done_before = len(badged(w, users))
    assert done_before < RETURNING

    await discord_bot_with([Help, Badges])
    await w.fake.wait_until(lambda: len(badged(w, users)) == RETURNING, within=30)
    assert role_changes(w).count(204) == RETURNING  # what was done was not asked again
    # a new process cannot know the window the old one spent a moment ago: at most its first
    # request, which learns the bucket, may hear 429 (a real restart outlasts the window)
    assert w.fake.too_many <= 1


async def test_an_uncached_member_costs_one_request_not_a_fetch_first(
    discord_bot: DiscordBot,
) -> None:
    """Was two (GET the member, then PUT the role) when the server's members were not loaded."""
    w = discord_bot.w
    guild = discord_bot.adapter._clients.require().get_guild(w.guild.id)
    assert guild is not None
    cached = guild.get_member(w.alice.id)
    assert cached is not None
    guild._remove_member(cached)  # as if the server had not been loaded in full
    assert not guild.chunked

    before = len(w.fake.requests)
    await discord_bot.adapter.set_badge(
        MemberRef("discord", str(w.alice.id)), CommunityRef("discord", str(w.guild.id)), True
    )

    made = [(r.method, r.path) for r in w.fake.requests[before:]]
    assert made == [("PUT", f"/guilds/{w.guild.id}/members/{w.alice.id}/roles/{badge_id(w)}")]


async def test_a_member_whose_badge_is_already_right_costs_nothing(
    discord_bot: DiscordBot,
) -> None:
    w = discord_bot.w
    await discord_bot.verify(w.alice)
    await w.fake.wait_until(
        lambda: (
            (g := discord_bot.adapter._clients.require().get_guild(w.guild.id)) is not None
            and (m := g.get_member(w.alice.id)) is not None
            and m.get_role(badge_id(w)) is not None
        ),
        what="the cache to show the badge",
    )
    before = len(w.fake.requests)
    await discord_bot.adapter.set_badge(
        MemberRef("discord", str(w.alice.id)), CommunityRef("discord", str(w.guild.id)), True
    )
    assert len(w.fake.requests) == before


def badge_id(w: DiscordWorld) -> int:
    role = w.role_named("Verified")
    assert role is not None
    return role.id


async def test_a_generous_bucket_still_keeps_under_the_global_limit(
    discord_world: DiscordWorld, discord_bot_with: BotFactory, store: Store
) -> None:
    """Was dozens of global 429s: nothing kept the bot under 50 requests a second."""
    w = discord_world
    users = await returning_members(w, store, 120)
    w.fake.enforce_rate_limits(member_roles=(500, 1.0))  # the global limit binds: 50/s

    await discord_bot_with([Help, Badges])
    await w.fake.wait_until(lambda: len(badged(w, users)) == 120, within=30)
    assert role_changes(w) == [204] * 120
    assert w.fake.too_many == 0
