"""Discord's own tools for verifybot's rules: the badge role, channel overwrites and AutoMod.

Native enforcement holds even while the bot is down or slow, so it is preferred wherever Discord
can express the rule; the filters cog's deletions cover the rest (replies, reactions, members
beyond AutoMod's limits). Functions here raise discord.py's errors; the adapter turns them into
admin notices and metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

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

RULE_PREFIX = "verifybot: "
LINKS_RULE = RULE_PREFIX + "links from unverified members"
MENTIONS_RULE = RULE_PREFIX + "mass mentions from unverified members"
PROTECT_RULE = RULE_PREFIX + "protected members"
KEYWORD_RULES_PER_GUILD = 6
KEYWORDS_PER_RULE = 1000
KEYWORD_LENGTH = 60
EXEMPT_ROLES_PER_RULE = 20
LINK_PATTERNS = [
    r"https?://\S",
    r"discord(?:\.gg|(?:app)?\.com/invite)/\S",
    r"\bwww\.\S+\.[a-z]{2,}",
]


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


def find_badge_role(guild: discord.Guild, name: str, known_id: int | None) -> discord.Role | None:
    """The badge role: the one used before if it still exists, else the oldest with the name."""
    if known_id is not None and (role := guild.get_role(known_id)) is not None:
        return role
    named = [r for r in guild.roles if r.name == name]
    return min(named, key=lambda r: r.id) if named else None


def badge_role_problem(guild: discord.Guild, role: discord.Role) -> str | None:
    """Why the bot cannot give or take the badge role, with the exact fix; None when it can."""
    me = guild.me
    if not me.guild_permissions.manage_roles:
        return (
            f"I cannot give or take the {role.name} role: I lack the Manage Roles permission."
            f" Fix: Server Settings → Roles → {me.top_role.name} → turn on Manage Roles."
        )
    if role.managed:
        return (
            f"The role {role.name} belongs to an integration, so no bot can give it."
            f" Fix: rename or delete it, and I will create my own {role.name} role."
        )
    if me.top_role <= role:
        return (
            f"I cannot give or take the {role.name} role: my highest role, {me.top_role.name},"
            f" is not above it. Fix: Server Settings → Roles, drag {me.top_role.name} above"
            f" {role.name} (or {role.name} below {me.top_role.name}), then run /badge again."
        )
    return None


def verification_level_note(guild: discord.Guild, role_name: str) -> str | None:
    """Discord skips its server verification level for anyone holding a role; admins should know."""
    if guild.verification_level is discord.VerificationLevel.none:
        return None
    return (
        f"Note: this server's Discord verification level is {guild.verification_level.name}."
        f" Discord does not apply that level to members who hold any role, so members who get"
        f" the {role_name} role are exempt from it. If you rely on the level (for example a"
        " verified e-mail or phone), keep it in mind when choosing which checks earn the badge."
    )


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


# --- AutoMod ---------------------------------------------------------------------------------


def _ours(rule: discord.AutoModRule, bot_id: int, name: str) -> bool:
    return rule.creator_id == bot_id and rule.name.startswith(name)


def _block(message: str) -> list[discord.AutoModRuleAction]:
    return [discord.AutoModRuleAction(custom_message=message[:150])]


async def _upsert(
    guild: discord.Guild,
    existing: discord.AutoModRule | None,
    name: str,
    trigger: discord.AutoModTrigger,
    exempt: Sequence[discord.Role],
    message: str,
    reason: str,
) -> None:
    exempt = list(exempt)[:EXEMPT_ROLES_PER_RULE]
    if existing is None:
        await guild.create_automod_rule(
            name=name,
            event_type=discord.AutoModRuleEventType.message_send,
            trigger=trigger,
            actions=_block(message),
            enabled=True,
            exempt_roles=exempt,
            reason=reason,
        )
        return
    same_trigger = existing.trigger.to_metadata_dict() == trigger.to_metadata_dict()
    same_exempt = existing.exempt_role_ids == {r.id for r in exempt}
    if same_trigger and same_exempt and existing.enabled:
        return
    await existing.edit(trigger=trigger, exempt_roles=exempt, enabled=True, reason=reason)


async def sync_limited_rules(
    guild: discord.Guild,
    *,
    on: bool,
    exempt: Sequence[discord.Role],
    mention_limit: int,
    verify_hint: str,
    reason: str,
) -> list[str]:
    """`limited` community-wide: AutoMod blocks links and mass mentions from unverified members.

    Returns what AutoMod could not take on (the bot's own checks cover it). Attachments and the
    message-rate limit cannot be expressed in AutoMod at all and are always the bot's job.
    """
    rules = await guild.fetch_automod_rules()
    bot_id = guild.me.id
    links = next((r for r in rules if _ours(r, bot_id, LINKS_RULE)), None)
    mentions = next((r for r in rules if _ours(r, bot_id, MENTIONS_RULE)), None)
    if not on:
        for rule in (links, mentions):
            if rule is not None:
                await rule.delete(reason=reason)
        return []
    left_over: list[str] = []
    keyword_rules = [r for r in rules if r.trigger.type is discord.AutoModRuleTriggerType.keyword]
    if links is None and len(keyword_rules) >= KEYWORD_RULES_PER_GUILD:
        left_over.append("links (the server already has 6 keyword rules)")
    else:
        trigger = discord.AutoModTrigger(
            type=discord.AutoModRuleTriggerType.keyword, regex_patterns=LINK_PATTERNS
        )
        await _upsert(
            guild,
            links,
            LINKS_RULE,
            trigger,
            exempt,
            f"Links need a verified account here. {verify_hint}",
            reason,
        )
    spam = discord.AutoModRuleTriggerType.mention_spam
    foreign = [r for r in rules if r.trigger.type is spam and r is not mentions]
    if foreign:
        left_over.append(f"mass mentions (the server's own rule {foreign[0].name!r} is kept)")
    else:
        trigger = discord.AutoModTrigger(type=spam, mention_limit=mention_limit)
        await _upsert(
            guild,
            mentions,
            MENTIONS_RULE,
            trigger,
            exempt,
            f"Mass mentions need a verified account here. {verify_hint}",
            reason,
        )
    return left_over


@dataclass(frozen=True, slots=True)
class Protection:
    """Which filtered members AutoMod now shields before delivery; the rest rely on deletion."""

    protected: tuple[int, ...]
    unprotected: tuple[int, ...]


def mention_keywords(user_id: int) -> tuple[str, str]:
    """How a mention appears in raw message content (the second is the legacy nickname form)."""
    return f"<@{user_id}>", f"<@!{user_id}>"


async def sync_protection(
    guild: discord.Guild,
    member_ids: Sequence[int],
    *,
    exempt: Sequence[discord.Role],
    verify_hint: str,
    reason: str,
) -> Protection:
    """Keyword rules that block mentions of `member_ids` unless the sender is exempt (Verified).

    Within Discord's limits: 1000 keywords of at most 60 characters per rule and 6 keyword rules
    per guild, shared with the admins' own rules and the `limited` links rule. Members that do
    not fit are returned as unprotected. Replies are not covered by AutoMod at all (a reply's
    ping is not in the message content), so deletion stays in place for them either way.
    """
    ids = sorted(set(member_ids))
    rules = await guild.fetch_automod_rules()
    bot_id = guild.me.id
    ours = sorted((r for r in rules if _ours(r, bot_id, PROTECT_RULE)), key=lambda r: r.name)
    others = [
        r
        for r in rules
        if r.trigger.type is discord.AutoModRuleTriggerType.keyword and r not in ours
    ]
    per_rule = KEYWORDS_PER_RULE // 2
    slots = max(0, KEYWORD_RULES_PER_GUILD - len(others))
    protected = ids[: slots * per_rule]
    chunks = [protected[i : i + per_rule] for i in range(0, len(protected), per_rule)]
    message = f"This member accepts mentions from verified accounts only. {verify_hint}"
    for index, chunk in enumerate(chunks):
        keywords = [k for user_id in chunk for k in mention_keywords(user_id)]
        trigger = discord.AutoModTrigger(
            type=discord.AutoModRuleTriggerType.keyword, keyword_filter=keywords
        )
        existing = ours[index] if index < len(ours) else None
        name = f"{PROTECT_RULE} {index + 1}"
        await _upsert(guild, existing, name, trigger, exempt, message, reason)
    for extra in ours[len(chunks) :]:
        await extra.delete(reason=reason)
    return Protection(tuple(protected), tuple(ids[len(protected) :]))
