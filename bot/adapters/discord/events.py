"""Discord objects -> neutral events. Pure functions over discord.py's parsed objects.

Everything here reads what the gateway already delivered (the replied-to message comes inside
MESSAGE_CREATE, the reacted-to message's author inside MESSAGE_REACTION_ADD), so translating an
event never costs a request: the hot path stays one gateway frame -> one decision.
"""

from __future__ import annotations

import re

import discord

from bot.adapters.discord.staff import role_of
from bot.adapters.links import SCHEME_LINK, WWW_LINK
from bot.model import (
    Actor,
    ChannelRef,
    CommunityRef,
    MemberJoined,
    MemberRef,
    MessagePosted,
    MessageRef,
    ReactionAdded,
    Role,
)

# Discord delivers at most 4,000 characters of content (with Nitro; 2,000 without), so no
# more is read; longer content (which Discord does not send) counts as holding a link.
MAX_CONTENT = 4000
# What Discord turns into a clickable link or an invite, in time linear in the text (see
# bot/adapters/links.py)
LINK_RE = re.compile(rf"{SCHEME_LINK}|{WWW_LINK}|\bdiscord\.gg/\S", re.IGNORECASE)
# anchored, with bounded repeats: linear
MEMBER_RE = re.compile(r"^(?:<@!?(\d{15,21})>|(\d{15,21}))$")
CHANNEL_RE = re.compile(r"^(?:<#(\d{15,21})>|#?(\d{15,21}))$")
# members' own posts; joins, pins, boosts, command echoes and the like are not interactions
USER_MESSAGE_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def member_ref(user_id: int) -> MemberRef:
    return MemberRef("discord", str(user_id))


def community_ref(guild_id: int) -> CommunityRef:
    return CommunityRef("discord", str(guild_id))


def channel_ref(guild_id: int, channel_id: int) -> ChannelRef:
    return ChannelRef(community_ref(guild_id), str(channel_id))


def actor_of(user: discord.Member | discord.User, self_id: int | None) -> Actor:
    return Actor(member_ref(user.id), role_of(user), is_bot=user.bot, is_self=user.id == self_id)


def message_posted(message: discord.Message, self_id: int | None) -> MessagePosted | None:
    """A member's post in a guild channel or thread; None for what is not one."""
    if message.guild is None or message.type not in USER_MESSAGE_TYPES:
        return None
    reply_to: MemberRef | None = None
    reference = message.reference
    if message.type is discord.MessageType.reply and reference is not None:
        resolved = reference.resolved
        if isinstance(resolved, discord.Message):
            reply_to = member_ref(resolved.author.id)
    channel = message.channel
    starter = None
    parent: str | None = None
    if isinstance(channel, discord.Thread):
        parent = str(channel.parent_id)
        if channel.owner_id is not None:
            starter = member_ref(channel.owner_id)
    author = message.author
    actor = actor_of(author, self_id)
    if message.webhook_id is not None:  # no account behind it to verify
        actor = Actor(member_ref(author.id), Role.MEMBER, is_bot=True)
    return MessagePosted(
        message=MessageRef(channel_ref(message.guild.id, channel.id), str(message.id)),
        sender=actor,
        text=message.content,
        reply_to_author=reply_to,
        mentioned=tuple(dict.fromkeys(member_ref(u.id) for u in message.mentions)),
        mentions_everyone=message.mention_everyone,
        thread_starter=starter,
        has_link=has_link(message.content),
        has_attachment=bool(message.attachments or message.stickers),
        at=message.created_at,
        parent_channel_id=parent,
    )


def reaction_added(
    payload: discord.RawReactionActionEvent, self_id: int | None
) -> ReactionAdded | None:
    """A reaction in a guild; its message's author comes with the event (no fetch)."""
    if payload.guild_id is None:
        return None
    user: discord.Member | discord.User | None = payload.member
    sender = (
        actor_of(user, self_id)
        if user is not None
        else Actor(member_ref(payload.user_id), is_self=payload.user_id == self_id)
    )
    author = payload.message_author_id
    return ReactionAdded(
        message=MessageRef(
            channel_ref(payload.guild_id, payload.channel_id), str(payload.message_id)
        ),
        sender=sender,
        emoji=str(payload.emoji),
        message_author=None if author is None else member_ref(author),
    )


def member_joined(member: discord.Member) -> MemberJoined:
    return MemberJoined(community_ref(member.guild.id), member_ref(member.id))


def has_link(content: str) -> bool:
    """A link or invite Discord would make clickable (`scheme://x`, `www.x.y`, `discord.gg/x`)."""
    if len(content) > MAX_CONTENT:
        return True  # Discord sends no such message; not reading it all must not let one through
    return LINK_RE.search(content) is not None


def parse_member_id(text: str) -> int | None:
    """`<@id>`, `<@!id>` or a bare id, as people paste them."""
    match = MEMBER_RE.match(text.strip())
    return None if match is None else int(match.group(1) or match.group(2))


def parse_channel_id(text: str) -> int | None:
    match = CHANNEL_RE.match(text.strip())
    return None if match is None else int(match.group(1) or match.group(2))


def reaction_for_url(emoji: str) -> str:
    """A reaction as the REST path wants it: unicode as is, `<:name:id>` as `name:id`."""
    return emoji.strip("<>") if emoji.startswith("<") else emoji
