"""The Discord translation made cheap says exactly what the plain one said, for every payload.

`reference_message_posted` is the translation as it was before it was tuned: standing read from
discord.py's public `guild_permissions`, every ref built afresh, the link pattern run on every
text. The tuned one (`events.message_posted`, `staff.role_of`, `events.has_link`) must give the
same neutral event for any MESSAGE_CREATE the gateway can deliver, with any roles, owners,
timeouts, webhooks, replies, mentions and text, and must follow role and member changes at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest
from discord.state import ConnectionState
from hypothesis import example, given
from hypothesis import strategies as st

from bot.adapters.discord import events as ev
from bot.adapters.discord.staff import role_of
from bot.adapters.links import SCHEME_LINK, WWW_LINK
from bot.model import Actor, MemberRef, MessagePosted, MessageRef, Role
from tests.unit.discord_payloads import (
    CHANNEL,
    GUILD,
    STAMP,
    THREAD,
    member,
    message_payload,
    user,
)
from tests.unit.fuzz_strategies import member_text

OWNER = 7
BOT_ID = 410000000000000001
P = discord.Permissions
# role id -> permissions: every bit role_of reads, alone and together, and none
ROLES = {
    310000000000000001: P(administrator=True).value,
    310000000000000002: P(manage_guild=True).value,
    310000000000000003: P(manage_messages=True).value,
    310000000000000004: P(moderate_members=True).value,
    310000000000000005: P(send_messages=True, embed_links=True).value,
    310000000000000006: P(manage_guild=True, moderate_members=True).value,
    310000000000000007: 0,
}
OLD_LINK_RE = re.compile(rf"{SCHEME_LINK}|{WWW_LINK}|\bdiscord\.gg/\S", re.IGNORECASE)


def reference_role_of(author: discord.Member | discord.User) -> Role:
    if not isinstance(author, discord.Member):
        return Role.MEMBER
    perms = author.guild_permissions
    if perms.administrator or perms.manage_guild:
        return Role.ADMIN
    if perms.manage_messages:
        return Role.MODERATOR
    return Role.MEMBER


def reference_has_link(content: str) -> bool:
    return len(content) > ev.MAX_CONTENT or OLD_LINK_RE.search(content) is not None


def reference_message_posted(message: discord.Message, self_id: int | None) -> MessagePosted | None:
    """The translation before it was tuned, written the plain way."""
    if message.guild is None or message.type not in ev.USER_MESSAGE_TYPES:
        return None

    def ref(user_id: int) -> MemberRef:
        return MemberRef("discord", str(user_id))

    reply_to = None
    reference = message.reference
    if (
        message.type is discord.MessageType.reply
        and reference is not None
        and isinstance(reference.resolved, discord.Message)
    ):
        reply_to = ref(reference.resolved.author.id)
    channel = message.channel
    starter, parent = None, None
    if isinstance(channel, discord.Thread):
        parent = str(channel.parent_id)
        starter = None if channel.owner_id is None else ref(channel.owner_id)
    author = message.author
    actor = Actor(
        ref(author.id), reference_role_of(author), author.bot, is_self=author.id == self_id
    )
    if message.webhook_id is not None:
        actor = Actor(ref(author.id), Role.MEMBER, is_bot=True)
    return MessagePosted(
        message=MessageRef(ev.channel_ref(message.guild.id, channel.id), str(message.id)),
        sender=actor,
        text=message.content,
        reply_to_author=reply_to,
        mentioned=tuple(dict.fromkeys(ref(u.id) for u in message.mentions)),
        mentions_everyone=message.mention_everyone,
        thread_starter=starter,
        has_link=reference_has_link(message.content),
        has_attachment=bool(message.attachments or message.stickers),
        at=message.created_at,
        parent_channel_id=parent,
    )


def role_payload(role_id: int, permissions: int, position: int) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": f"r{position}",
        "permissions": str(permissions),
        "position": position,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }


class Gateway:
    """discord.py's state for one guild with every kind of role; parses as the gateway does."""

    def __init__(self, everyone: int = P(view_channel=True).value) -> None:
        self.dispatched: list[Any] = []
        self.state = ConnectionState(
            dispatch=lambda name, *args: self.dispatched.append(args[0] if args else None),
            handlers={},
            hooks={},
            http=None,  # type: ignore[arg-type]  # parsing never sends a request
            intents=discord.Intents.all(),
            max_messages=None,
        )
        roles = [role_payload(GUILD, everyone, 0)]
        roles += [role_payload(rid, perms, n) for n, (rid, perms) in enumerate(ROLES.items(), 1)]
        thread = {
            "id": str(THREAD),
            "guild_id": str(GUILD),
            "type": 11,
            "name": "thread",
            "parent_id": str(CHANNEL),
            "owner_id": "9",
            "member_count": 1,
            "message_count": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": STAMP,
                "locked": False,
            },
        }
        self.state._add_guild_from_data(
            {  # type: ignore[typeddict-item]
                "id": str(GUILD),
                "name": "guild",
                "owner_id": str(OWNER),
                "roles": roles,
                "channels": [{"id": str(CHANNEL), "type": 0, "name": "general", "position": 0}],
                "threads": [thread],
                "members": [],
                "emojis": [],
                "stickers": [],
                "features": [],
                "member_count": 1,
            }
        )

    def message(self, data: dict[str, Any]) -> discord.Message:
        self.dispatched.clear()
        self.state.parse_message_create(data)  # type: ignore[arg-type]
        message: discord.Message = self.dispatched[-1]
        return message

    def update_role(self, role_id: int, permissions: int) -> None:
        data = {"guild_id": str(GUILD), "role": role_payload(role_id, permissions, 1)}
        self.state.parse_guild_role_update(data)  # type: ignore[arg-type]


def timeout_until(minutes: int | None) -> str | None:
    if minutes is None:
        return None
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def guild_member(role_ids: list[int], timed_out: int | None) -> dict[str, Any]:
    return {**member(role_ids), "communication_disabled_until": timeout_until(timed_out)}


snowflakes = st.integers(1, 2**63 - 1)
authors = st.sampled_from([OWNER, 9, BOT_ID, 12345]) | snowflakes
role_sets = st.lists(st.sampled_from([*ROLES, 999]), max_size=4, unique=True)
timeouts = st.none() | st.sampled_from([-60, 60])  # a timeout over, one still running
members = st.builds(guild_member, role_sets, timeouts)


def account(user_id: int, bot: bool) -> dict[str, Any]:
    return user(user_id, bot=bot)


def messages(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """MESSAGE_CREATE bodies: any author, standing, place, reply, mentions and text."""
    optional: dict[str, st.SearchStrategy[Any]] = {
        "guild_id": st.sampled_from([str(GUILD)]) | snowflakes.map(str),
        "member": members,
        "webhook_id": snowflakes.map(str),
        "sticker_items": st.just([{"id": "1", "name": "s", "format_type": 1}]),
    }
    if depth:
        optional["referenced_message"] = st.none() | messages(depth - 1)
        optional["message_reference"] = st.builds(
            lambda m: {"message_id": m, "channel_id": str(CHANNEL)}, snowflakes.map(str)
        )
    mentioned = st.builds(
        lambda uid, m: {**user(uid), "member": m} if m else user(uid),
        authors,
        st.none() | members,
    )
    fields = st.fixed_dictionaries(
        {
            "id": snowflakes.map(str),
            "channel_id": st.sampled_from([str(CHANNEL), str(THREAD)]) | snowflakes.map(str),
            "author": st.builds(account, authors, st.booleans()),
            "content": member_text,
            "type": st.sampled_from([0, 19]) | st.integers(0, 60),
            "mention_everyone": st.booleans(),
            "mentions": st.lists(mentioned, max_size=3),
        },
        optional=optional,
    )
    return fields.map(lambda f: message_payload(f.pop("content"), **f))


GATEWAY = Gateway()


@given(messages(depth=1), st.none() | st.just(BOT_ID) | st.just(9))
@example(message_payload("see www.example.org", type=19, member=guild_member([], None)), BOT_ID)
def test_every_message_translates_as_before(data: dict[str, Any], self_id: int | None) -> None:
    message = GATEWAY.message(data)
    assert ev.message_posted(message, self_id) == reference_message_posted(message, self_id)


@pytest.mark.parametrize("everyone", [0, P(view_channel=True).value, P(manage_guild=True).value])
@pytest.mark.parametrize("author", [OWNER, 9])
@pytest.mark.parametrize("timed_out", [None, -60, 60])
def test_standing_is_read_as_discord_reads_permissions(
    everyone: int, author: int, timed_out: int | None
) -> None:
    """Every role alone and in pairs, as owner or not, timed out or not, any @everyone."""
    gateway = Gateway(everyone)
    role_ids = [*ROLES, 999]  # 999: a role the guild does not have (left over in a payload)
    for first in role_ids:
        for second in role_ids:
            body = guild_member(sorted({first, second}), timed_out)
            message = gateway.message(message_payload("hi", author=user(author), member=body))
            assert role_of(message.author) == reference_role_of(message.author)


def test_a_member_without_guild_data_is_a_member() -> None:
    message = Gateway().message(message_payload("hi", author=user(9)))  # no `member` field
    assert role_of(message.author) is reference_role_of(message.author) is Role.MEMBER


def test_standing_follows_a_role_change_and_a_new_role_at_once() -> None:
    """The reused Actor never outlives the standing it was built for."""
    gateway = Gateway()
    plain, mods = 310000000000000005, 310000000000000003

    def sender(role_ids: list[int]) -> Actor:
        body = message_payload("hi", author=user(9), member=guild_member(role_ids, None))
        posted = ev.message_posted(gateway.message(body), BOT_ID)
        assert posted is not None
        return posted.sender

    assert sender([plain]).role is Role.MEMBER
    gateway.update_role(plain, P(manage_messages=True).value)  # GUILD_ROLE_UPDATE
    assert sender([plain]).role is Role.MODERATOR
    gateway.update_role(plain, 0)
    assert sender([plain]).role is Role.MEMBER
    assert sender([plain, mods]).role is Role.MODERATOR  # given a role (GUILD_MEMBER_UPDATE)
    assert sender([]).role is Role.MEMBER  # and it taken away


def test_the_shared_refs_start_afresh_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "REFS_KEPT", 3)
    for memo in ("_members", "_communities", "_channels", "_actors"):
        monkeypatch.setattr(ev, memo, {})
    gateway = Gateway()
    for n in range(10):
        body = message_payload("hi", id=str(600 + n), author=user(1000 + n), mentions=[user(5)])
        message = gateway.message(body)
        assert ev.message_posted(message, None) == reference_message_posted(message, None)
    assert max(len(ev._members), len(ev._actors), len(ev._channels)) <= 3


# letters the pattern folds, with the look-alikes case-insensitive matching also folds (long s,
# dotless i, dotted capital I, Kelvin sign) and some that it does not
FOLDING = ["\u017f", "\u0131", "\u0130", "\u212a", "\u1e98", "\u0121"]
LINKISH = st.text(alphabet=st.sampled_from([*"wWgGdDiIsScCoOrRkK.:/ x", *FOLDING]), max_size=40)


@given(LINKISH | member_text)
@example("d\u0131scord.gg/x")  # dotless i, which the pattern matches case-insensitively
@example("di\u017fcord.gg/x")  # long s, likewise
@example("WWW.Example.ORG")
@example("x DISCORD.GG/abc")
@example("\u017ftp://x")
def test_a_link_is_found_as_before(text: str) -> None:
    assert ev.has_link(text) is reference_has_link(text)
