"""Who counts as staff on Discord, read from permissions.

This is a rule of verifybot written in Discord's terms, not a mechanic of Discord: moderators
and admins are exempt from admin policy (`policy.is_exempt`), and natively their roles are
exempt from the overwrites and AutoMod rules the bot writes. The two readings differ on one
point, kept as it was: a role whose only staff permission is Manage Server makes its members
admins (`role_of`) but is not among `staff_roles`, so a `read_only` channel's overwrite still
stops them (AutoMod already lets Manage Server through by itself).
"""

from __future__ import annotations

import discord

from bot.model import Role


def role_of(member: discord.Member | discord.User) -> Role:
    """Admin: administrator or manage_guild; moderator: manage_messages or moderate_members."""
    if not isinstance(member, discord.Member):
        return Role.MEMBER
    perms = member.guild_permissions
    if perms.administrator or perms.manage_guild:
        return Role.ADMIN
    if perms.manage_messages or perms.moderate_members:
        return Role.MODERATOR
    return Role.MEMBER


def staff_roles(guild: discord.Guild) -> list[discord.Role]:
    """Roles that make a member a moderator (admins bypass overwrites and AutoMod anyway)."""
    return [
        r
        for r in guild.roles
        if not r.is_default()
        and not r.managed
        and not r.permissions.administrator
        and (r.permissions.manage_messages or r.permissions.moderate_members)
    ]
