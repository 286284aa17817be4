"""The verification panel an admin posts: Verify, a My filter select and Held for me, each
answered privately for whoever uses it, the panel itself unchanged, and still working after the
bot restarts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.discord_api import buttons_of, select_of
from tests.fixtures.discord_fake import BotFactory, DiscordWorld

pytestmark = pytest.mark.discord_fake


async def answer_to(w: DiscordWorld, record: Any) -> dict[str, Any]:
    await w.fake.wait_until(lambda: record.answers, what="the bot's answer")
    return record.answers[0]  # type: ignore[no-any-return]


async def test_the_panel_verifies_sets_the_filter_and_lists_what_is_held(
    discord_world: DiscordWorld, discord_bot_with: BotFactory
) -> None:
    w = discord_world
    welcome = w.world.add_channel(w.guild, "welcome")
    bot = await discord_bot_with(web={"base_url": "https://verify.example.org"})

    refused = await w.fake.push_command(w.guild, w.general, w.alice, "panel", channel=welcome)
    assert (await answer_to(w, refused))["content"] == "Only an admin can run /panel."
    posted = await w.fake.push_command(w.guild, w.general, w.admin, "panel", channel=welcome)
    answer = (await answer_to(w, posted))["content"]
    assert answer == f"The verification panel is posted in <#{welcome.id}>."  # shown as #welcome
    (panel,) = w.fake.bot_messages(welcome.id)
    assert panel["content"].startswith("Verification in Loopback Guild is optional")
    assert "never your name, document or address" in panel["content"]
    assert buttons_of(panel) == [
        ("Verify", "verifybot/stay:verify"),
        ("Held for me", "verifybot/stay:held"),
    ]
    select = select_of(panel)
    assert select is not None and select["placeholder"] == "My filter"
    assert [o["value"] for o in select["options"]] == ["off", "replies", "all"]

    verify = await w.fake.push_click(w.alice, panel, "verifybot/stay:verify")
    link = await answer_to(w, verify)
    assert link["ephemeral"] and "https://verify.example.org/verify/" in link["content"]

    chose = await w.fake.push_select(w.alice, panel, "replies")
    assert (await answer_to(w, chose))["content"].startswith("Your filter is now replies:")

    held = await w.fake.push_click(w.bob, panel, "verifybot/stay:held")
    assert (await answer_to(w, held))["content"] == "Nothing is held for you."
    assert w.world.messages[int(panel["id"])]["components"] == panel["components"]

    await bot.core.stop()  # a restart: nothing about the panel was kept in memory
    await discord_bot_with(web={"base_url": "https://verify.example.org"})
    again = await w.fake.push_select(w.alice, panel, "off")
    assert (await answer_to(w, again))["content"].startswith("Your filter is now off")
    held_again = await w.fake.push_click(w.alice, panel, "verifybot/stay:held")
    assert (await answer_to(w, held_again))["content"] == "Nothing is held for you."
    link_again = await w.fake.push_click(w.bob, panel, "verifybot/stay:verify")
    assert "https://verify.example.org/verify/" in (await answer_to(w, link_again))["content"]
