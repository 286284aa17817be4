"""Any gateway payload discord.py accepts is translated into a neutral event (or ignored) safely.

Payloads are built as the gateway sends them, with arbitrary content, ids, message types,
mentions, replies, webhooks, threads, unknown guilds and channels, and turned into discord.py
objects by its own ConnectionState, then into neutral events. An exception here would drop the
event unjudged, letting a message past its channel's policy and the members' filters.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bot.adapters.discord import events as ev
from bot.model import MessagePosted, ReactionAdded
from tests.unit.discord_payloads import (
    ADMIN_ROLE,
    BOT_ID,
    CHANNEL,
    GUILD,
    MOD_ROLE,
    THREAD,
    Gateway,
    member,
    message_payload,
    user,
)
from tests.unit.fuzz_strategies import member_text

GATEWAY = Gateway()

snowflakes = st.integers(1, 2**63 - 1)
ids = snowflakes.map(str)
roles = st.lists(st.sampled_from([ADMIN_ROLE, MOD_ROLE]), max_size=2, unique=True)
users = st.builds(user, snowflakes, bot=st.booleans())
with_member = st.builds(
    lambda u, r, m: {**u, "member": member(r)} if m else u, users, roles, st.booleans()
)
places = st.sampled_from([str(CHANNEL), str(THREAD)]) | ids
guilds = st.sampled_from([str(GUILD)]) | ids
message_types = st.sampled_from([0, 19]) | st.integers(0, 60)


def attachment(attachment_id: int) -> dict[str, Any]:
    return {
        "id": str(attachment_id),
        "filename": "f.png",
        "size": 1,
        "url": "https://cdn.example/f.png",
        "proxy_url": "https://cdn.example/f.png",
    }


def messages(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """MESSAGE_CREATE bodies; a reply carries the replied-to message (or null if deleted)."""
    optional: dict[str, st.SearchStrategy[Any]] = {
        "guild_id": guilds,
        "member": roles.map(member),
        "webhook_id": ids,
        "sticker_items": st.lists(
            st.builds(lambda i: {"id": i, "name": "s", "format_type": 1}, ids), max_size=1
        ),
    }
    if depth:
        optional["referenced_message"] = st.none() | messages(depth - 1)
        optional["message_reference"] = st.builds(
            lambda m, c: {"message_id": m, "channel_id": c}, ids, places
        )
    extra = st.fixed_dictionaries(
        {
            "id": ids,
            "channel_id": places,
            "author": users,
            "content": member_text,
            "type": message_types,
            "mention_everyone": st.booleans(),
            "mentions": st.lists(with_member, max_size=3),
            "attachments": st.lists(snowflakes.map(attachment), max_size=2),
        },
        optional=optional,
    )
    return extra.map(lambda fields: message_payload(fields.pop("content"), **fields))


@given(messages(depth=1), st.none() | st.just(BOT_ID) | snowflakes)
@example(message_payload("a." * 2000), BOT_ID)
def test_any_message_payload_is_translated_or_ignored(
    data: dict[str, Any], self_id: int | None
) -> None:
    message = GATEWAY.message(data)
    posted = ev.message_posted(message, self_id)
    assert posted is None or isinstance(posted, MessagePosted)
    if posted is not None:
        assert posted.text == data["content"]
        assert posted.has_link is ev.has_link(data["content"])
        assert posted.community.id == str(GUILD)


def reaction(
    reactor: dict[str, Any], fields: dict[str, Any], role_ids: list[int] | None
) -> dict[str, Any]:
    """MESSAGE_REACTION_ADD; in a guild the reacting member comes along (as the gateway does)."""
    data = {**fields, "user_id": reactor["id"]}
    if role_ids is not None and "guild_id" in data:
        data["member"] = {**member(role_ids), "user": reactor}
    return data


reactions = st.builds(
    reaction,
    users,
    st.fixed_dictionaries(
        {
            "channel_id": places,
            "message_id": ids,
            "emoji": st.fixed_dictionaries(
                {"id": st.none() | ids, "name": st.none() | member_text},
                optional={"animated": st.booleans()},
            ),
            "burst": st.booleans(),
            "type": st.sampled_from([0, 1]),
        },
        optional={"guild_id": guilds, "message_author_id": ids},
    ),
    st.none() | roles,
)


@given(reactions, st.none() | snowflakes)
def test_any_reaction_payload_is_translated_or_ignored(
    data: dict[str, Any], self_id: int | None
) -> None:
    event = ev.reaction_added(GATEWAY.reaction(data), self_id)
    assert event is None or isinstance(event, ReactionAdded)
    if event is not None:
        assert event.sender.member.id == data["user_id"]


@given(guilds, users, roles)
def test_any_member_payload_is_translated(
    guild: str, joined: dict[str, Any], role_ids: list[int]
) -> None:
    gateway = Gateway()
    added = gateway.member_added({"guild_id": guild, "user": joined, **member(role_ids)})
    if added is not None:
        assert ev.member_joined(added).member.id == joined["id"]


@given(member_text)
def test_any_text_is_an_id_or_none(text: str) -> None:
    for parse in (ev.parse_member_id, ev.parse_channel_id):
        found = parse(text)
        assert found is None or (isinstance(found, int) and found > 0)
    assert isinstance(ev.reaction_for_url(text), str)
    assert isinstance(ev.has_link(text), bool)
