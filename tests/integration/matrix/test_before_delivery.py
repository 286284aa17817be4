"""Deciding before the homeserver stores an event: Synapse with synapse-http-antispam asks the
bot (README, "Deciding before delivery"), configured exactly as README shows.

Every assertion is what a member's own client sees: a send refused with the bot's words, a
reply that never reaches the member's sync (not even redacted), what `!held` lists, a join
refused, and what happens while the bot is away.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.config import Config, parse_config
from bot.demo.homeserver import SynapseServer, free_port, stop_synapse
from bot.storage.repo import Store
from bot.web.app import WebServer, create_app
from tests.fakes.matrix_member import MatrixError, MatrixMember
from tests.fixtures.antispam_homeserver import AntispamHomeserver, antispam_modules
from tests.fixtures.matrix_bot import MatrixCommunity, Verifybot

pytestmark = pytest.mark.synapse


@pytest.fixture
def synapse(antispam_homeserver: AntispamHomeserver) -> SynapseServer:
    """Every member and room of these tests lives on the homeserver that asks the bot."""
    return antispam_homeserver.server


def readme_config(
    c: MatrixCommunity,
    home: AntispamHomeserver,
    defaults: dict[str, Any] | None = None,
    **community: Any,
) -> Config:
    """What a README reader writes: the usual Matrix section plus [matrix.antispam]."""
    return parse_config(
        {
            "identity": {"hash_key": {"value": "k" * 32}},
            "defaults": defaults or {},
            "methods": {"moderator": {"level": "reviewed"}},
            "web": {"listen_port": home.bot_port, "base_url": f"http://127.0.0.1:{home.bot_port}"},
            "matrix": {
                "homeserver": c.synapse.base_url,
                "user_id": c.bot.user_id,
                "access_token": {"env": "TEST_MATRIX_TOKEN"},
                "allowed_inviters": [c.admin.user_id],
                "antispam": {"secret": {"value": home.secret}},
            },
            "communities": [
                {"network": "matrix", "id": c.space, "name": "Test community", **community}
            ],
        }
    ).config


class AskedBot(Verifybot):
    """The bot with its web service, where the homeserver's module asks."""

    web: WebServer | None = None

    async def start(self) -> None:
        await super().start()
        assert self.core is not None
        self.web = WebServer(create_app(self.core, None), port=self.config.web.listen_port)
        await self.web.start()

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
            self.web = None
        await super().stop()


@pytest.fixture
async def asked_bot(
    matrix_community: MatrixCommunity, antispam_homeserver: AntispamHomeserver, store: Store
) -> AsyncIterator[AskedBot]:
    bot = AskedBot(matrix_community, store, readme_config(matrix_community, antispam_homeserver))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def alice_filters_replies(bot: AskedBot) -> tuple[MatrixMember, MatrixMember, str]:
    """Alice filters replies and posts; mallory (unverified) is in the room. (alice, mallory,
    alice's post)."""
    c = bot.community
    alice = await c.member_in_room("alice")
    mallory = await c.member_in_room("mallory")
    await alice.send_text(c.room, "!filter replies")
    await bot.answer(alice, "Your filter is now replies")
    return alice, mallory, await alice.send_text(c.room, "my news")


async def test_an_unverified_reply_to_a_filtering_member_is_never_delivered(
    asked_bot: AskedBot,
) -> None:
    c = asked_bot.community
    alice, mallory, post = await alice_filters_replies(asked_bot)

    with pytest.raises(MatrixError) as refused:
        await mallory.reply(c.room, post, "you are wrong, click here")
    assert refused.value.status == 403 and refused.value.errcode == "M_FORBIDDEN"
    told = refused.value.error
    assert told.startswith("Not delivered: someone it is addressed to limits replies")
    assert "kept for them to read privately" in told and "send !verify" in told

    later = await alice.send_text(c.room, "and later")
    await alice.wait_for(lambda e: e.event.get("event_id") == later)
    bodies = [str(e.content.get("body", "")) for e in alice.seen]
    assert not any("you are wrong" in body for body in bodies)
    assert not [e for e in alice.seen if e.type == "m.room.redaction"], "nothing to redact"

    await alice.send_text(c.room, "!held")
    listing = await asked_bot.answer(alice, "Held for you (1)")
    assert "you are wrong, click here" in listing.content["body"]
    assert asked_bot.adapter.before_delivery.refused == 1

    notice = await asked_bot.answer(mallory, "was not delivered")  # nothing was removed
    told = notice.content["body"]
    assert told.startswith(
        "Your reply in general (“you are wrong, click here”) was not delivered, because the"
        " member you replied to limits replies, mentions and reactions from unverified accounts."
        " It is kept for them to read privately if they choose."
    )


async def test_a_verified_reply_is_delivered(asked_bot: AskedBot) -> None:
    c = asked_bot.community
    alice = await c.member_in_room("alice")
    vera = await c.member_in_room("vera")
    await asked_bot.verify(vera)
    await alice.send_text(c.room, "!filter replies")
    await asked_bot.answer(alice, "Your filter is now replies")
    post = await alice.send_text(c.room, "my news")

    welcome = await vera.reply(c.room, post, "congratulations")
    seen = await alice.wait_for(lambda e: e.event.get("event_id") == welcome)
    assert seen.content["body"] == "congratulations"
    assert asked_bot.adapter.before_delivery.asked >= 2  # asked about both, refused neither
    assert asked_bot.adapter.before_delivery.refused == 0
    assert not asked_bot.adapter.before_delivery.silent(after=0)  # the set-up check's view


async def test_read_only_refuses_an_unverified_post_with_the_reason(asked_bot: AskedBot) -> None:
    c = asked_bot.community
    carol = await c.member_in_room("carol")
    await c.admin.send_text(c.room, "!policy read_only")
    await asked_bot.answer(c.admin, "is now read only")

    with pytest.raises(MatrixError) as refused:
        await carol.send_text(c.room, "hello?")
    assert refused.value.status == 403
    assert refused.value.error.startswith("Not delivered: only verified members can write there.")
    assert "send !verify in any room of the community or in a direct chat" in refused.value.error


async def test_verified_only_refuses_an_unverified_join_and_lets_a_verified_one_in(
    asked_bot: AskedBot,
) -> None:
    c = asked_bot.community
    nina = await c.make_member("nina")
    vera = await c.member_in_room("vera")
    await vera.start_watching()
    await asked_bot.verify(vera)
    verified_space = await vera.wait_for_invite(inviter=asked_bot.adapter.user_id)
    await vera.join(verified_space)  # what the restricted join rule will ask of her
    await vera.leave(c.room)
    await c.admin.send_text(c.room, "!policy verified_only")
    await asked_bot.answer(c.admin, "is now verified only")

    with pytest.raises(MatrixError) as refused:
        await nina.join(c.room)
    assert refused.value.status == 403
    assert refused.value.error.startswith(
        "You cannot join this room yet: only verified members can join there."
    )
    assert "!verify" in refused.value.error
    assert await c.admin.membership(c.room, nina.user_id) is None

    assert await vera.join(c.room) == c.room


async def test_the_limited_allowance_counts_each_message_once(
    matrix_community: MatrixCommunity, antispam_homeserver: AntispamHomeserver, store: Store
) -> None:
    """Judged before delivery and then seen in sync: one message, counted once."""
    c = matrix_community
    config = readme_config(
        c, antispam_homeserver, {"limited_messages_per_minute": 3}, policy="limited"
    )
    bot = AskedBot(c, store, config)
    await bot.start()
    try:
        carol = await c.member_in_room("carol")
        sent = [await carol.send_text(c.room, f"message {n}") for n in range(2)]
        # the room's events are handled in order: once the admin is answered, the bot's sync
        # has seen both messages (and must not have counted them a second time)
        await c.admin.send_text(c.room, "!held")
        await bot.answer(c.admin, "Nothing is held for you.")
        sent.append(await carol.send_text(c.room, "the third of three"))
        with pytest.raises(MatrixError) as refused:
            await carol.send_text(c.room, "one too many")
        assert "unverified accounts may send 3 messages a minute there" in refused.value.error
        for event_id in sent:
            assert not await c.admin.is_redacted(c.room, event_id)
    finally:
        await bot.stop()


async def test_while_the_bot_is_away_the_module_fails_open_and_the_bot_catches_up(
    asked_bot: AskedBot,
) -> None:
    c = asked_bot.community
    alice, mallory, post = await alice_filters_replies(asked_bot)
    await asked_bot.stop()

    unwanted = await mallory.reply(c.room, post, "sent while the bot was away")  # delivered
    await asked_bot.start()
    redaction = await alice.wait_for_redaction(c.room, unwanted, within=20)
    assert redaction.event["sender"] == asked_bot.adapter.user_id


async def test_the_module_failing_closed_refuses_while_the_bot_is_away(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.fixtures.synapse import register_user, start_synapse

    port = free_port()  # nothing listens there: the bot is away
    server = start_synapse(
        tmp_path_factory.mktemp("synapse-closed"),
        modules=antispam_modules(port, "s" * 16, fail_open=False),
    )
    try:
        owner = await register_user(server, f"owner-{secrets.token_hex(3)}")
        member = MatrixMember(server, owner.user_id, owner.access_token, owner.password)
        try:
            room = await member.create_room(name="anywhere")
            with pytest.raises(MatrixError) as refused:
                await member.send_text(room, "hello")
            assert refused.value.status == 403
            assert refused.value.errcode == "M_UNKNOWN"
        finally:
            await member.close()
    finally:
        stop_synapse(server)


async def test_a_request_without_the_secret_is_refused_and_judges_nothing(
    asked_bot: AskedBot, antispam_homeserver: AntispamHomeserver
) -> None:
    c = asked_bot.community
    event = {
        "event_id": "$forged",
        "room_id": c.room,
        "sender": c.admin.user_id,
        "type": "m.room.message",
        "content": {"body": "hi", "msgtype": "m.text"},
    }
    url = f"{antispam_homeserver.base_url}/check_event_for_spam"
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            async with session.post(url, json={"event": event}, headers=headers) as answer:
                assert answer.status == 401
                assert "secret" in await answer.text()
        good = {"Authorization": f"Bearer {antispam_homeserver.secret}"}
        async with session.post(
            f"{antispam_homeserver.base_url}/ping", json={"id": "abc"}, headers=good
        ) as answer:
            assert await answer.json() == {"id": "abc", "status": "ok"}
        async with session.post(url, data=b"{not json", headers=good) as answer:
            assert answer.status == 400
    assert asked_bot.adapter.before_delivery.asked == 0
