"""AutoMod rules: `limited` blocked before delivery, and mentions of filtered members.

Native enforcement holds even while the bot is down or slow; what AutoMod cannot express
(attachments, the message rate, replies, members beyond its limits) is left to the bot's own
removals. Functions here raise discord.py's errors; `enforcement` turns them into admin notices.
Only rules this bot created (by name prefix and creator) are ever changed or deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

RULE_PREFIX = "verifybot: "
LINKS_RULE = RULE_PREFIX + "links from unverified members"
MENTIONS_RULE = RULE_PREFIX + "mass mentions from unverified members"
PROTECT_RULE = RULE_PREFIX + "protected members"
KEYWORD_RULES_PER_GUILD = 6
KEYWORDS_PER_RULE = 1000
EXEMPT_ROLES_PER_RULE = 20
LINK_PATTERNS = [
    r"https?://\S",
    r"discord(?:\.gg|(?:app)?\.com/invite)/\S",
    r"\bwww\.\S+\.[a-z]{2,}",
]


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
