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


REFS_KEPT = 16_384  # ids whose refs are shared (a few MB at most); then the memo starts afresh
_members: dict[int, MemberRef] = {}
_communities: dict[int, CommunityRef] = {}
_channels: dict[tuple[int, int], ChannelRef] = {}
_actors: dict[int, Actor] = {}


def member_ref(user_id: int) -> MemberRef:
    """One shared ref per account: refs are immutable, and finding one is cheaper than building
    it (every message names its author, its reply target and its mentions)."""
    ref = _members.get(user_id)
    if ref is None:
        if len(_members) >= REFS_KEPT:
            _members.clear()
        ref = _members[user_id] = MemberRef("discord", str(user_id))
    return ref


def community_ref(guild_id: int) -> CommunityRef:
    ref = _communities.get(guild_id)
    if ref is None:
        if len(_communities) >= REFS_KEPT:
            _communities.clear()
        ref = _communities[guild_id] = CommunityRef("discord", str(guild_id))
    return ref


def channel_ref(guild_id: int, channel_id: int) -> ChannelRef:
    key = (guild_id, channel_id)
    ref = _channels.get(key)
    if ref is None:
        if len(_channels) >= REFS_KEPT:
            _channels.clear()
        ref = _channels[key] = ChannelRef(community_ref(guild_id), str(channel_id))
    return ref


def actor_of(user: discord.Member | discord.User, self_id: int | None) -> Actor:
    """The account and its standing now; the last Actor built for it is reused while its
    standing is the same (it is read afresh from the member's roles every time)."""
    user_id = user.id
    role = role_of(user)
    is_bot = user.bot
    is_self = user_id == self_id
    actor = _actors.get(user_id)
    if (
        actor is None
        or actor.role is not role
        or actor.is_bot is not is_bot
        or actor.is_self is not is_self
    ):
        if len(_actors) >= REFS_KEPT:
            _actors.clear()
        actor = _actors[user_id] = Actor(member_ref(user_id), role, is_bot, is_self)
    return actor


def message_posted(message: discord.Message, self_id: int | None) -> MessagePosted | None:
    """A member's post in a guild channel or thread; None for what is not one."""
    guild = message.guild
    kind = message.type
    if guild is None or kind not in USER_MESSAGE_TYPES:
        return None
    reply_to: MemberRef | None = None
    if kind is discord.MessageType.reply:
        reference = message.reference
        if reference is not None:
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
    if message.webhook_id is not None:  # no account behind it to verify
        actor = Actor(member_ref(author.id), Role.MEMBER, True)
    else:
        actor = actor_of(author, self_id)
    mentions = message.mentions
    content = message.content
    return MessagePosted(
        MessageRef(channel_ref(guild.id, channel.id), str(message.id)),
        actor,
        content,
        reply_to,
        tuple(dict.fromkeys([member_ref(u.id) for u in mentions])) if mentions else (),
        message.mention_everyone,
        starter,
        has_link(content),
        bool(message.attachments or message.stickers),
        message.created_at,
        parent,
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
    if "://" not in content:
        # each pattern needs one of these (no other character folds to w or g), so most
        # messages skip the search, which costs 5 µs even on a short text
        lowered = content.lower()
        if "www." not in lowered and ".gg/" not in lowered:
            return False
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
