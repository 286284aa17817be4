"""Channel permission overwrites: how `read_only` and `verified_only` look on Discord.

Only the permissions a policy is about are touched, so admins' other overwrites survive; an
overwrite is written only when it changes something. The bot keeps its own access to the
channel whatever the policy, so it can go on removing and reading back there.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.adapters.discord.staff import staff_roles
from bot.model import UnverifiedPolicy

# what "posting" means for read_only; verified_only also hides the channel
SEND_PERMISSIONS = (
    "send_messages",
    "send_messages_in_threads",
    "create_public_threads",
    "create_private_threads",
    "add_reactions",
)
VIEW_PERMISSIONS = ("view_channel",)
BOT_KEEPS = ("view_channel", "send_messages", "read_message_history", "manage_messages")
POLICY_CHANNEL_TYPES = (discord.TextChannel, discord.ForumChannel, discord.CategoryChannel)


def _merge(
    current: discord.PermissionOverwrite, names: Sequence[str], value: bool | None
) -> discord.PermissionOverwrite:
    updated = discord.PermissionOverwrite(**dict(current))
    for name in names:
        setattr(updated, name, value)
    return updated


async def _set(
    channel: discord.abc.GuildChannel,
    target: discord.Role | discord.Member,
    updated: discord.PermissionOverwrite,
    reason: str,
) -> bool:
    """Write one overwrite if it changes anything (an empty one is removed); True if written."""
    current = channel.overwrites.get(target)
    if current is not None and dict(current) == dict(updated):
        return False
    if current is None and updated.is_empty():
        return False
    await channel.set_permissions(
        target, overwrite=None if updated.is_empty() else updated, reason=reason
    )
    return True


async def apply_channel_policy(
    channel: discord.abc.GuildChannel,
    policy: UnverifiedPolicy,
    badge: discord.Role,
    *,
    reason: str,
) -> int:
    """Make `channel`'s overwrites say `policy`; returns how many overwrites were written.

    Only the permissions the policy is about are touched, so admins' other overwrites survive.
    Switching back to open/limited clears those permissions (to neutral) on @everyone, the
    badge role, staff roles and the bot.
    """
    guild = channel.guild
    # Discord lets a bot allow or deny only permissions it holds itself in the server
    held = guild.me.guild_permissions
    names: tuple[str, ...] = ()
    if policy is UnverifiedPolicy.READ_ONLY:
        names = SEND_PERMISSIONS
    elif policy is UnverifiedPolicy.VERIFIED_ONLY:
        names = SEND_PERMISSIONS + VIEW_PERMISSIONS
    names = tuple(n for n in names if getattr(held, n))
    every = tuple(n for n in SEND_PERMISSIONS + VIEW_PERMISSIONS if getattr(held, n))
    restricts = bool(names)
    own = [n for n in BOT_KEEPS if getattr(held, n)]
    bot = _merge(channel.overwrites_for(guild.me), own, True if restricts else None)
    everyone = guild.default_role
    writes: list[tuple[discord.Role | discord.Member, discord.PermissionOverwrite]] = [
        (role, _merge(_merge(channel.overwrites_for(role), every, None), names, True))
        for role in [badge, *staff_roles(guild)]
    ]
    writes.append(
        (everyone, _merge(_merge(channel.overwrites_for(everyone), every, None), names, False))
    )
    # the bot keeps its own access: granted first when restricting, dropped last when opening,
    # as in between it could no longer see (and so not edit) the channel
    writes.insert(0 if restricts else len(writes), (guild.me, bot))
    written = 0
    for target, overwrite in writes:
        written += await _set(channel, target, overwrite, reason)
    return written


def policy_channels(guild: discord.Guild, skip: set[int]) -> list[discord.abc.GuildChannel]:
    """Channels a community-wide policy is written on (threads follow their parent)."""
    return [c for c in guild.channels if isinstance(c, POLICY_CHANNEL_TYPES) and c.id not in skip]
