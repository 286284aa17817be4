"""verifybot on Matrix, end to end: the real core, cogs, storage and adapter against Synapse.

Every assertion is about what a member's own client sees (power levels, invitations, redactions,
refused sends and joins, the bot's answers), never about the bot's insides. Verification itself is
granted through the storage layer until the identity checks are wired to Matrix.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.adapters.matrix import MatrixAdapter
from bot.config import Config, parse_config
from bot.core import BotCore
from bot.model import MemberRef
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.admin import Admin
from cogs.badges import Badges
from cogs.filters import Filters
from cogs.help import Help
from tests.integration.matrix.conftest import MatrixCommunity
from tests.matrix_helpers import MatrixError, MatrixMember, SyncedEvent, wait_until

pytestmark = pytest.mark.synapse


def ref(member: MatrixMember) -> MemberRef:
    return MemberRef("matrix", member.user_id)


@dataclass
class Verifybot:
    """The whole bot for one test; `restart` keeps the database, as a real restart does."""

    community: MatrixCommunity
    store: Store
    config: Config
    core: BotCore | None = None
    dms: dict[str, str] = field(default_factory=dict)  # member -> DM room they joined

    @property
    def adapter(self) -> MatrixAdapter:
        assert self.core is not None
        adapter = self.core.adapter("matrix")
        assert isinstance(adapter, MatrixAdapter)
        return adapter

    async def start(self) -> None:
        core = BotCore(self.config, self.store, cogs=[Help, Badges, Filters, Admin])
        assert self.config.matrix is not None
        core.add_adapter(
            MatrixAdapter(
                self.config.matrix,
                self.config,
                core.state_for("matrix"),
                environ={"TEST_MATRIX_TOKEN": self.community.bot.access_token},
                long_poll_ms=5_000,
            )
        )
        await core.start()
        self.core = core

    async def stop(self) -> None:
        if self.core is not None:
            await self.core.stop()
            self.core = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def known(self, member: MatrixMember) -> None:
        """Until the bot has seen the member join (so it knows their community)."""

        async def seen() -> bool:
            return bool(await self.adapter.member_communities(ref(member)))

        await wait_until(seen, what=f"the bot sees {member.user_id}")

    async def verify(self, member: MatrixMember) -> None:
        """Grant a verification as the identity checks will, then show the badge."""
        assert self.core is not None
        await self.known(member)
        await self.core.cache.save_verification(
            VerificationRecord(
                "matrix", member.user_id, "moderator", "reviewed", "h" * 64, datetime.now(UTC)
            )
        )
        await self.core.cog(Badges).refresh(ref(member))

    async def unverify(self, member: MatrixMember) -> None:
        assert self.core is not None
        await self.core.cache.revoke_verification(
            ref(member), by="@admin:localhost", reason="test", at=datetime.now(UTC)
        )
        await self.core.cog(Badges).refresh(ref(member))

    async def answer(self, member: MatrixMember, contains: str) -> SyncedEvent:
        """The bot's private answer as the member reads it in their DM room with the bot."""
        room = self.dms.get(member.user_id)
        if room is None:
            room = self.dms[member.user_id] = await member.accept_dm(self.adapter.user_id)
        return await member.wait_for_message(room, sender=self.adapter.user_id, contains=contains)


@pytest.fixture
async def verifybot(matrix_community: MatrixCommunity, store: Store) -> AsyncIterator[Verifybot]:
    c = matrix_community
    config = parse_config(
        {
            "identity": {"hash_key": {"value": "k" * 32}},
            "methods": {"moderator": {"level": "reviewed"}},
            "matrix": {
                "homeserver": c.synapse.base_url,
                "user_id": c.bot.user_id,
                "access_token": {"env": "TEST_MATRIX_TOKEN"},
                "allowed_inviters": [c.admin.user_id],
            },
            "communities": [{"network": "matrix", "id": c.space, "name": "Test community"}],
        }
    ).config
    bot = Verifybot(c, store, config)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def test_badge_appears_and_disappears(verifybot: Verifybot) -> None:
    c = verifybot.community
    carol = await c.member_in_room("carol")
    await carol.start_watching()

    await verifybot.verify(carol)
    assert (await c.admin.power_levels(c.room))["users"][carol.user_id] == 1
    space = await carol.wait_for_invite(inviter=verifybot.adapter.user_id)
    assert space != verifybot.dms.get(carol.user_id)
    await carol.join(space)

    await verifybot.unverify(carol)
    assert carol.user_id not in (await c.admin.power_levels(c.room))["users"]
    await carol.wait_for_membership(space, "leave")


async def test_filtered_member_never_keeps_an_unverified_reply(verifybot: Verifybot) -> None:
    c = verifybot.community
    alice = await c.member_in_room("alice")
    mallory = await c.member_in_room("mallory")
    await alice.send_text(c.room, "!filter replies")
    await verifybot.answer(alice, "Your filter is now replies")

    post = await alice.send_text(c.room, "my news")
    unwanted = await mallory.reply(c.room, post, "you are wrong, click here")
    redaction = await alice.wait_for_redaction(c.room, unwanted)
    assert redaction.event["sender"] == verifybot.adapter.user_id
    assert "unverified" in redaction.content.get("reason", "")
    assert await alice.is_redacted(c.room, unwanted)

    await alice.send_text(c.room, "!held")
    listing = await verifybot.answer(alice, "Held for you (1)")
    body = listing.content["body"]
    assert f"reply from {mallory.user_id}" in body and "you are wrong, click here" in body

    notice = await verifybot.answer(mallory, "was removed for everyone in that conversation")
    told = notice.content["body"]
    assert "Your reply in general (“you are wrong, click here”)" in told
    assert "send !verify here, in this chat with me" in told  # where the sender can type it


async def test_a_verified_senders_reply_stays(verifybot: Verifybot) -> None:
    c = verifybot.community
    alice = await c.member_in_room("alice")
    vera = await c.member_in_room("vera")
    mallory = await c.member_in_room("mallory")
    await verifybot.verify(vera)
    await alice.send_text(c.room, "!filter replies")
    await verifybot.answer(alice, "Your filter is now replies")

    post = await alice.send_text(c.room, "my news")
    welcome = await vera.reply(c.room, post, "congratulations")
    unwanted = await mallory.reply(c.room, post, "spam")
    # the room's events are handled in order: once the later reply is gone, the earlier was judged
    await alice.wait_for_redaction(c.room, unwanted)
    assert not await alice.is_redacted(c.room, welcome)
    assert (await alice.get_event(c.room, welcome))["content"]["body"] == "congratulations"


async def test_read_only_refuses_unverified_sends(verifybot: Verifybot) -> None:
    c = verifybot.community
    carol = await c.member_in_room("carol")
    vera = await c.member_in_room("vera")
    await verifybot.verify(vera)

    await c.admin.send_text(c.room, "!policy read_only")
    await verifybot.answer(c.admin, "is now read only")
    with pytest.raises(MatrixError) as refused:
        await carol.send_text(c.room, "may I?")
    assert refused.value.errcode == "M_FORBIDDEN"
    await vera.send_text(c.room, "verified members still talk")


async def test_verified_only_refuses_a_non_member_join(verifybot: Verifybot) -> None:
    c = verifybot.community
    inner = await c.admin.create_room(name="inner", power_users={verifybot.adapter.user_id: 100})
    await c.admin.add_child(c.space, inner)
    bot_id = verifybot.adapter.user_id

    async def bot_joined() -> bool:
        return await c.admin.membership(inner, bot_id) == "join"

    await wait_until(bot_joined, what="the bot joins the room added to the space")

    await c.admin.send_text(c.room, f"!policy {inner} verified_only")
    await verifybot.answer(c.admin, "is now verified only")
    outsider = await c.make_member("outsider")
    with pytest.raises(MatrixError) as refused:
        await outsider.join(inner)
    assert refused.value.errcode == "M_FORBIDDEN"

    vera = await c.member_in_room("vera")
    await vera.start_watching()
    await verifybot.verify(vera)
    space = await vera.wait_for_invite(inviter=verifybot.adapter.user_id)
    await vera.join(space)
    await vera.join(inner)


async def test_limited_removes_a_link(verifybot: Verifybot) -> None:
    c = verifybot.community
    carol = await c.member_in_room("carol")
    await c.admin.send_text(c.room, "!policy limited")
    await verifybot.answer(c.admin, "is now limited")
    await c.admin.start_watching()

    plain = await carol.send_text(c.room, "hello everyone")
    link = await carol.send_text(c.room, "great deal at https://example.org/deal")
    redaction = await c.admin.wait_for_redaction(c.room, link)
    assert "links" in redaction.content.get("reason", "")
    assert not await c.admin.is_redacted(c.room, plain)


async def test_a_restart_between_two_messages_handles_each_once(verifybot: Verifybot) -> None:
    c = verifybot.community
    alice = await c.member_in_room("alice")
    mallory = await c.member_in_room("mallory")
    await alice.send_text(c.room, "!filter replies")
    await verifybot.answer(alice, "Your filter is now replies")
    post = await alice.send_text(c.room, "my news")

    first = await mallory.reply(c.room, post, "first reply")
    await alice.wait_for_redaction(c.room, first)
    await verifybot.stop()
    second = await mallory.reply(c.room, post, "second reply, while the bot is away")
    await verifybot.start()
    await alice.wait_for_redaction(c.room, second)

    await alice.send_text(c.room, "!held")
    listing = (await verifybot.answer(alice, "Held for you (2)")).content["body"]
    assert listing.count("first reply") == 1 and listing.count("second reply") == 1


async def test_a_malformed_command_gets_a_usage_answer(verifybot: Verifybot) -> None:
    c = verifybot.community
    carol = await c.member_in_room("carol")
    await carol.send_text(c.room, "!filter sometimes")
    answer = (await verifybot.answer(carol, "Usage")).content["body"]
    assert "'sometimes' is not one of the choices: off, replies or all" in answer
    assert "Usage: !filter [off|replies|all]" in answer

    await carol.send_text(c.room, "!help")
    helped = (await verifybot.answer(carol, "optional verification")).content["body"]
    assert "!held" in helped and "!policy" not in helped  # only what carol may run
