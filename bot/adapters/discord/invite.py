"""The invite link an admin opens to add the bot to a server, with exactly what it uses.

Each permission is listed with why the bot needs it, so an admin can judge the request (and so
`verifybot invite-url` and the README say the same). Nothing here reaches Discord: the
application id is given, or read from the bot token, whose first part is the bot's id in
base64 (for a bot, the application's id).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

import discord

AUTHORIZE: Final = "https://discord.com/oauth2/authorize"
SCOPES: Final = ("bot", "applications.commands")


@dataclass(frozen=True, slots=True)
class Needed:
    """One permission: its name in Discord's settings, discord.py's flag, and why."""

    name: str
    flag: str
    why: str


NEEDED: Final = (
    Needed("View Channels", "view_channel", "see the channels it protects"),
    Needed("Send Messages", "send_messages", "answer commands and tell the log channel"),
    Needed(
        "Send Messages in Threads", "send_messages_in_threads", "answer commands typed in threads"
    ),
    Needed(
        "Read Message History",
        "read_message_history",
        "know whom a reply answers, and catch up on what it missed while offline",
    ),
    Needed("Manage Messages", "manage_messages", "hold and remove what a filter or a policy stops"),
    Needed("Manage Roles", "manage_roles", "give and take the Verified role"),
    Needed(
        "Manage Channels",
        "manage_channels",
        "set a channel read-only or verified-only with its own permissions",
    ),
    Needed(
        "Manage Server",
        "manage_guild",
        "AutoMod rules that stop links, mass mentions and mentions of filtering members before"
        " they are posted",
    ),
)


class InviteError(ValueError):
    """What is missing to build the link, with the fix."""


def invite_permissions() -> discord.Permissions:
    """Exactly the permissions in `NEEDED`."""
    return discord.Permissions(**{needed.flag: True for needed in NEEDED})


def application_id_from_token(token: str) -> str:
    """The bot's id from its token's first part; InviteError if it is not a bot token."""
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=True)
        found = decoded.decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        found = ""
    if not (found.isdigit() and 1 <= len(found) <= 20):
        raise InviteError(
            "discord.token does not look like a bot token (its first part names no id);"
            " give the Application ID from the Developer Portal with --client-id"
        )
    return found


def invite_url(application_id: str, guild_id: str | None = None) -> str:
    """The authorize link; with `guild_id` the admin's choice of server is pre-set to it."""
    if not (application_id.isdigit() and 1 <= len(application_id) <= 20):
        raise InviteError(
            f"{application_id[:40]!r} is not an application id: it is a number, shown as"
            " Application ID under General Information in the Developer Portal"
        )
    query = {
        "client_id": application_id,
        "permissions": str(invite_permissions().value),
        "scope": " ".join(SCOPES),
    }
    if guild_id is not None:
        query |= {"guild_id": guild_id, "disable_guild_select": "true"}
    return f"{AUTHORIZE}?{urlencode(query)}"


def explained(url: str) -> list[str]:
    """What `verifybot invite-url` prints: the link, the permission integer, and each why."""
    lines = [
        url,
        "",
        f"Permissions ({invite_permissions().value}) and why the bot needs each:",
    ]
    lines += [f"  - {needed.name}: {needed.why}" for needed in NEEDED]
    lines.append("Scopes: bot, applications.commands (its slash commands).")
    return lines
