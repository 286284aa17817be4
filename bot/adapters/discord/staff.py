"""Who counts as staff on Discord, read from permissions.

This is a rule of verifybot written in Discord's terms, not a mechanic of Discord: moderators
and admins are exempt from admin policy (`policy.is_exempt`), and natively their roles are
exempt from the overwrites and AutoMod rules the bot writes. A moderator is whoever may Manage
Messages — exactly whom Discord's command picker shows the moderators' commands to
(`commands._DEFAULT_PERMISSIONS`), so no one is shown a command they may not run, or may run
one they are not shown. The two readings differ on one point, kept as it was: a role whose only
staff permission is Manage Server makes its members admins (`role_of`) but is not among
`staff_roles`, so a `read_only` channel's overwrite still stops them (AutoMod already lets
Manage Server through by itself).
"""

from __future__ import annotations

import discord

from bot.model import Role

# the bits `role_of` reads, as discord.py's Permissions spells them
ADMINISTRATOR = discord.Permissions(administrator=True).value
ADMIN_BITS = discord.Permissions(administrator=True, manage_guild=True).value
MODERATOR_BITS = discord.Permissions(manage_messages=True).value
TIMED_OUT_MASK = discord.Permissions._timeout_mask()


def role_of(member: discord.Member | discord.User) -> Role:
    """Admin: administrator or manage_guild; moderator: manage_messages.

    The same reading as `member.guild_permissions` (owner, administrator, timeout), but as one
    OR over the member's role ids: that property sorts Role objects and builds a Permissions per
    role, which cost 7 µs of every message's translation.
    """
    if not isinstance(member, discord.Member):
        return Role.MEMBER
    guild = member.guild
    if guild.owner_id == member.id:
        return Role.ADMIN
    roles = guild._roles
    default = roles.get(guild.id)
    value = 0 if default is None else default._permissions
    for role_id in member._roles:
        role = roles.get(role_id)
        if role is not None:
            value |= role._permissions
    if value & ADMINISTRATOR:
        return Role.ADMIN
    if member.timed_out_until is not None and member.is_timed_out():
        value &= TIMED_OUT_MASK
    if value & ADMIN_BITS:
        return Role.ADMIN
    return Role.MODERATOR if value & MODERATOR_BITS else Role.MEMBER


def staff_roles(guild: discord.Guild) -> list[discord.Role]:
    """Roles that make a member a moderator (admins bypass overwrites and AutoMod anyway)."""
    return [
        r
        for r in guild.roles
        if not r.is_default()
        and not r.managed
        and not r.permissions.administrator
        and r.permissions.manage_messages
    ]
