"""The verification commands on a recording adapter: moderator review, unverify, revoke, badge,
whois, expiry with a reminder, the identity limit on joins, and erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import parse_config
from bot.core import BotCore
from bot.model import MemberJoined, MemberRef, Role
from bot.storage.repo import Store
from bot.verification.providers import Proof
from cogs.badges import Badges
from cogs.verification import Verification
from tests.integration.verification.harness import (
    ALICE,
    BOB,
    LOUNGE,
    MOD,
    SPACE,
    STRICT,
    Harness,
)
from tests.recording import RecordingAdapter

pytestmark = pytest.mark.oidc


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def ask_for_review(h: Harness, member: MemberRef = ALICE) -> None:
    status, page, _ = await h.choose(await h.link(member), "moderator")
    assert status == 200 and "with the moderators" in page


async def approve(h: Harness, member: MemberRef = ALICE) -> str:
    return await h.command("approve", member.id, member=MOD, role=Role.MODERATOR)


async def test_moderator_review_end_to_end(h: Harness) -> None:
    await ask_for_review(h)
    posts = [args for name, args in h.adapter.calls if name == "post"]
    assert len(posts) == 1
    channel, text = posts[0]
    assert channel.id == "!mods:hs" and "!approve @alice:hs" in text and "!deny" in text
    # asking twice does not flood the moderators
    await ask_for_review(h)
    assert len([c for c in h.adapter.calls if c[0] == "post"]) == 1

    assert "approved @alice:hs's request: they are verified now" in await approve(h)
    record = await h.verification(ALICE)
    assert (record.method, record.level) == ("moderator", "reviewed")
    assert (ALICE, SPACE) in h.adapter.badges and (ALICE, STRICT) not in h.adapter.badges
    assert "You are verified (checked by a moderator)" in h.directs_to(ALICE)[-1]
    # typed outside the moderators' room, the decision is announced there too
    channel, text = [args for name, args in h.adapter.calls if name == "post"][-1]
    assert channel.id == "!mods:hs" and "@mod:hs approved @alice:hs's request" in text
    # the request is used up
    assert "no open review request" in await approve(h)


async def test_only_moderators_decide(h: Harness) -> None:
    await ask_for_review(h)
    answer = await h.command("approve", ALICE.id, member=BOB)
    assert answer == "Only a moderator can run !approve."
    assert await h.verification(ALICE) is None


async def test_deny_tells_the_member_and_stores_nothing(h: Harness) -> None:
    await ask_for_review(h)
    answer = await h.command(
        "deny", ALICE.id, "account", "too", "new", member=MOD, role=Role.MODERATOR
    )
    assert "declined @alice:hs's request: account too new" in answer
    assert "declined your verification request: account too new" in h.directs_to(ALICE)[-1]
    channel, text = [args for name, args in h.adapter.calls if name == "post"][-1]
    assert channel.id == "!mods:hs" and "account too new" in text
    assert await h.verification(ALICE) is None
    assert "no open review request" in await approve(h)
    await h.core.audit.flush()
    audit = await h.core.store.list_audit(community_id=SPACE.id)
    assert any(e.action == "review_denied" and e.actor == MOD.id for e in audit)


async def test_approve_without_a_request(h: Harness) -> None:
    assert "no open review request" in await approve(h)
    assert await h.verification(ALICE) is None


async def test_unverify_removes_record_and_badges(h: Harness) -> None:
    await ask_for_review(h)
    await approve(h)
    assert (ALICE, SPACE) in h.adapter.badges
    answer = await h.command("unverify", member=ALICE)
    assert "removed" in answer
    assert await h.verification(ALICE) is None
    assert not [b for b in h.adapter.badges if b[0] == ALICE]
    assert "not verified" in await h.command("unverify", member=ALICE)


async def test_revoke_by_a_moderator(h: Harness) -> None:
    await ask_for_review(h)
    await approve(h)
    answer = await h.command(
        "revoke", ALICE.id, "sold", "the", "account", member=MOD, role=Role.MODERATOR
    )
    assert "revoked @alice:hs's verification: sold the account" in answer
    record = await h.verification(ALICE)
    assert record.revoked_at is not None and record.revoked_by == MOD.id
    assert not [b for b in h.adapter.badges if b[0] == ALICE]
    assert "revoked your verification: sold the account" in h.directs_to(ALICE)[-1]
    whois = await h.command("whois", ALICE.id, member=MOD, role=Role.MODERATOR)
    assert "Revoked" in whois and "sold the account" in whois
    assert "The badge shows here: no." in whois
    # a moderator cannot reach members outside their community
    outsider = await h.command("revoke", "@stranger:hs", "spam", member=MOD, role=Role.MODERATOR)
    assert "not a member of this community" in outsider


async def test_badge_and_whois(h: Harness) -> None:
    assert "not verified here. Run !verify" in await h.command("badge", member=ALICE)
    await ask_for_review(h)
    await approve(h)
    assert "You are verified here (checked by a moderator" in await h.command("badge", member=ALICE)
    # another member sees the badge, never how it was earned
    assert await h.command("badge", ALICE.id, member=BOB) == "@alice:hs is verified here."
    assert await h.command("badge", BOB.id, member=ALICE) == "@bob:hs is not verified here."
    whois = await h.command("whois", ALICE.id, member=MOD, role=Role.MODERATOR)
    assert "@alice:hs: checked by a moderator, just now" in whois
    assert "The badge shows here: yes." in whois
    assert await h.command("whois", ALICE.id, member=BOB) == "Only a moderator can run !whois."


async def test_verify_answers_privately_and_only_in_a_community(h: Harness) -> None:
    answer = await h.command("verify", member=ALICE)
    assert h.adapter.replies[-1][2] is True  # private
    assert "It works once and expires in 15 minutes" in answer and "/verify/" in answer
    # in a direct message, a member of several communities says which one
    asked = await h.command("verify", member=ALICE, community=None)
    assert "Say which community you mean" in asked and "The Lounge" in asked
    named = await h.command("verify", "the", "lounge", member=ALICE, community=None)
    assert "verify for The Lounge" in named and "/verify/" in named
    # a member of one community need not say it
    assert "verify for The Garden" in await h.command("verify", member=BOB, community=None)


async def test_expiry_with_a_reminder_first(h: Harness) -> None:
    await ask_for_review(h)
    await approve(h)
    service = h.service
    assert await service.sweep() == (0, 0)
    h.clock.offset += timedelta(days=365 - 13)  # 13 days left, reminder window is 14
    assert await service.sweep() == (1, 0)
    assert "Your verification ends in 13 days, on " in h.directs_to(ALICE)[-1]
    assert await service.sweep() == (0, 0)  # reminded once
    assert (ALICE, SPACE) in h.adapter.badges
    h.clock.offset += timedelta(days=14)
    assert await service.sweep() == (0, 1)
    assert not [b for b in h.adapter.badges if b[0] == ALICE]
    assert "has ended" in h.directs_to(ALICE)[-1]
    assert await service.sweep() == (0, 0)


async def test_joining_with_an_identity_already_used_there(h: Harness) -> None:
    identity = "i" * 64
    proof = Proof(method="oidc", level="account", identity_hash=identity)
    h.adapter.members[ALICE] = {SPACE}
    h.adapter.members[BOB] = {LOUNGE}
    assert (await h.service.complete(ALICE, SPACE, proof)).ok
    assert (await h.service.complete(BOB, LOUNGE, proof)).ok  # another community: allowed
    h.adapter.members[BOB].add(SPACE)
    await h.core.handle_event(h.adapter, MemberJoined(SPACE, BOB))
    assert (BOB, SPACE) not in h.adapter.badges and (BOB, LOUNGE) in h.adapter.badges
    assert any(c == SPACE and BOB.id in text for c, text in h.admin_notes())
    assert await h.core.store.accounts_for_identity("matrix", SPACE.id, identity) == [ALICE.id]
    # the refused account counts as unverified there (filters, policies), and stays badgeless
    badges = h.core.cog(Badges)
    assert not await badges.verified_in(BOB, SPACE) and await badges.verified_in(BOB, LOUNGE)
    await badges.reconcile(SPACE)
    assert (BOB, SPACE) not in h.adapter.badges and (ALICE, SPACE) in h.adapter.badges
    # a level Strict does not accept takes no place in its limit there
    h.adapter.members[ALICE].add(STRICT)
    await h.core.handle_event(h.adapter, MemberJoined(STRICT, ALICE))
    assert await h.core.store.accounts_for_identity("matrix", STRICT.id, identity) == []
    # with a level it accepts, joining binds the identity, so the limit holds for later checks
    carol, dave = MemberRef("matrix", "@carol:hs"), MemberRef("matrix", "@dave:hs")
    strong = Proof(method="oidc", level="identity", identity_hash="s" * 64)
    h.adapter.members[carol] = {LOUNGE}
    assert (await h.service.complete(carol, LOUNGE, strong)).ok
    h.adapter.members[carol].add(STRICT)
    await h.core.handle_event(h.adapter, MemberJoined(STRICT, carol))
    assert await h.core.store.accounts_for_identity("matrix", STRICT.id, "s" * 64) == [carol.id]
    h.adapter.members[dave] = {STRICT}
    assert not (await h.service.complete(dave, STRICT, strong)).ok


async def test_erasure_forgets_the_verification(h: Harness) -> None:
    await ask_for_review(h)
    await approve(h)
    exported = await h.core.export_member(ALICE)
    assert exported["verifications"][0]["level"] == "reviewed"
    assert await h.core.erase_member(ALICE) > 0
    assert await h.verification(ALICE) is None
    assert await h.core.store.pending_of_member(ALICE) == []
    assert await h.core.export_member(ALICE) == {t: [] for t in exported}


async def test_without_methods_the_commands_say_so(store: Store) -> None:
    config = parse_config(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:9",
                "user_id": "@bot:hs",
                "access_token": {"value": "unused"},
            }
        }
    ).config
    adapter = RecordingAdapter(served=[SPACE])
    core = BotCore(config, store, adapters=[adapter], cogs=[Badges, Verification])
    await core.start()
    try:
        await core.handle_command(adapter, adapter.invoke("verify", member=ALICE, community=SPACE))
        assert "not set up on this bot" in adapter.last_reply()
    finally:
        await core.stop()


async def test_a_revocation_sticks_until_a_moderator_lifts_it(h: Harness) -> None:
    identity = "r" * 64
    proof = Proof(method="oidc", level="account", identity_hash=identity)
    assert (await h.service.complete(ALICE, SPACE, proof)).ok
    await h.command("revoke", ALICE.id, "sold", "the", "account", member=MOD, role=Role.MODERATOR)
    # running verify again is refused at once, and a check finished anyway stores nothing
    assert "cannot verify again until a moderator lifts" in await h.command("verify", member=ALICE)
    again = await h.service.complete(ALICE, SPACE, proof)
    assert not again.ok and again.title == "Verification revoked"
    assert not [b for b in h.adapter.badges if b[0] == ALICE]
    # unverify does not wash it away, and the identity cannot move to another account
    await h.command("unverify", member=ALICE)
    assert not (await h.service.complete(ALICE, SPACE, proof)).ok
    h.adapter.members[BOB] = {SPACE}
    other = await h.service.complete(BOB, SPACE, proof)
    assert not other.ok and "cannot verify another account" in other.message
    assert ALICE.id not in h.directs_to(BOB)[-1]  # the other account is never named
    assert (BOB, SPACE) not in h.adapter.badges
    whois = await h.command("whois", ALICE.id, member=MOD, role=Role.MODERATOR)
    assert "A revocation is in force (sold the account)" in whois
    # a moderator lifts it; the member may verify again
    lifted = await h.command("lift", ALICE.id, member=MOD, role=Role.MODERATOR)
    assert "lifted the revocation of @alice:hs" in lifted
    assert "You may verify again" in h.directs_to(ALICE)[-1]
    assert (await h.service.complete(ALICE, SPACE, proof)).ok
    assert (ALICE, SPACE) in h.adapter.badges
    assert "no revocation to lift" in await h.command(
        "lift", ALICE.id, member=MOD, role=Role.MODERATOR
    )
