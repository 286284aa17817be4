"""An interaction -> the `CommandInvocation` the core checks and runs, in one place for every
way a member starts a command on Discord (a slash command, a button, a message's menu), so who
asked, where, and with what standing is read the same way each time.
"""

from __future__ import annotations

import discord

from bot.adapters.discord.events import actor_of, channel_ref, community_ref
from bot.model import CommandInvocation, MemberRef, MessageRef


def invocation_of(
    interaction: discord.Interaction,
    name: str,
    *,
    args: tuple[tuple[str, str], ...] = (),
    positional: tuple[str, ...] = (),
    about: MessageRef | None = None,
    about_author: MemberRef | None = None,
    about_text: str | None = None,
) -> CommandInvocation:
    """The command `name` as the interaction's member runs it, answered through the interaction
    (its id makes a redelivery harmless: the core claims each event once)."""
    guild_id = interaction.guild_id
    channel_id = interaction.channel_id
    self_id = interaction.client.user.id if interaction.client.user else None
    return CommandInvocation(
        name=name,
        community=None if guild_id is None else community_ref(guild_id),
        channel=None
        if guild_id is None or channel_id is None
        else channel_ref(guild_id, channel_id),
        invoker=actor_of(interaction.user, self_id),
        args=args,
        positional=positional,
        reply_handle=interaction,
        event_id=str(interaction.id),
        about=about,
        about_author=about_author,
        about_text=about_text,
    )
