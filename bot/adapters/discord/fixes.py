"""The words for a permission the bot lacks on Discord, each with the exact fix.

One place for them, so a notice sent when something was refused and the admins' dashboard say
the same thing. Channels are named by mention (Discord shows the name); no member is named.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

Place = discord.abc.GuildChannel | discord.Thread  # anything with a mention in a server
SHOWN = 10  # channels named in one sentence; the rest are counted

LIMITED_PURPOSE = "block links and mass mentions from unverified members"
MENTIONS_PURPOSE = "stop mentions of members who filter unverified accounts"


def channel_list(channels: Sequence[Place], *, by_name: bool = False) -> str:
    """`#a, #b and 3 more`: mentions, which Discord shows as names; `by_name` for a page
    outside Discord (the dashboard), where a mention would show as a number."""
    names = ", ".join(
        f"#{channel.name}" if by_name else channel.mention for channel in channels[:SHOWN]
    )
    hidden = len(channels) - SHOWN
    return f"{names} and {hidden} more" if hidden > 0 else names


def _each(channels: Sequence[Place]) -> str:
    return "that channel" if len(channels) == 1 else "each of them"


def cannot_create_role(name: str, top_role: str) -> str:
    return (
        f"I cannot create the {name} role: I lack the Manage Roles permission."
        f" Fix: Server Settings → Roles → {top_role} → turn on"
        f" Manage Roles (or create a role named {name} below mine)."
    )


def lacks_manage_messages(
    what: str, channels: Sequence[Place], top_role: str, *, by_name: bool = False
) -> str:
    """Removal of `what` ("messages") refused in these channels."""
    where = channel_list(channels, by_name=by_name)
    return (
        f"I cannot remove {what} in {where}: I lack Manage Messages there."
        f" Fix: give {top_role} Manage Messages in {_each(channels)}."
    )


def lacks_manage_permissions(
    doing: str, channels: Sequence[Place], top_role: str, *, by_name: bool = False
) -> str:
    """A policy's overwrites refused: `doing` is "I could not apply the read_only policy to"."""
    where = channel_list(channels, by_name=by_name)
    return (
        f"{doing} {where}: I need the Manage Permissions permission there."
        f" Fix: edit each channel → Permissions → add {top_role} with Manage Permissions"
    )


def lacks_view(channels: Sequence[Place], top_role: str, *, by_name: bool = False) -> str:
    where = channel_list(channels, by_name=by_name)
    them = "it" if len(channels) == 1 else "them"
    return (
        f"I cannot see {where}, so I cannot protect {them}: no filter, hold"
        f" or removal works there. Fix: edit each channel → Permissions → add {top_role} and"
        " turn on View Channel."
    )


def lacks_send(channels: Sequence[Place], top_role: str, *, by_name: bool = False) -> str:
    where = channel_list(channels, by_name=by_name)
    return (
        f"I cannot post in {where}: I lack Send Messages there, so an"
        " unverified sender whose direct messages are closed is not told how to verify. Fix:"
        f" edit each channel → Permissions → add {top_role} and turn on Send Messages."
    )


def lacks_manage_server(purpose: str, top_role: str) -> str:
    """AutoMod needs Manage Server; without it the bot removes after the fact."""
    return (
        f"To {purpose} before they are posted, I need the Manage Server permission (for"
        " AutoMod rules). Until then I remove such messages after they are posted."
        f" Fix: Server Settings → Roles → {top_role} → turn on Manage Server."
    )
