"""Every message a member gets, read as a member reads it.

A scripted session plays what members do (help, verify, badge, filter, held, a review, a check
that proves too little, a removed reply, joining a read-only room, reminders and expiry,
mistakes) and collects every answer and private message the bot sends them. None may contain
jargon: stored codes ("level: account"), raw room ids, ISO dates, "accept(s)"-style plurals,
template or Python leftovers, or the old word "release".
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.actions import SendDirect
from bot.model import (
    Actor,
    ChannelRef,
    MemberJoined,
    MemberRef,
    MessagePosted,
    MessageRef,
    Role,
)
from bot.verification.providers import Proof
from cogs.admin import Admin
from cogs.filters import Filters
from cogs.help import Help
from tests.integration.verification.harness import (
    ALICE,
    BOB,
    MOD,
    SPACE,
    STRICT,
    Harness,
)

pytestmark = pytest.mark.oidc

MALLORY = MemberRef("matrix", "@mallory:hs")
ERIN = MemberRef("matrix", "@erin:hs")
GENERAL = ChannelRef(SPACE, "!general")
NEWS = ChannelRef(SPACE, "!news:hs")

BANNED = {
    "a stored level code": re.compile(r"\blevels?\b[: ]+(account|email|reviewed|identity)\b"),
    "a level in parentheses": re.compile(r"\(level\b"),
    "a method code": re.compile(r"\b(oidc|email_code)\b"),
    "a raw room id": re.compile(r"![A-Za-z0-9._~\-]+(:[A-Za-z0-9.\-]+)?"),
    "an ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "a (s) plural": re.compile(r"\w\(s\)"),
    "a template or code leftover": re.compile(r"[{}]|\bNone\b|\bTrue\b|\bFalse\b|Ref\("),
    "the old word release": re.compile(r"\breleased?\b", re.IGNORECASE),
    "a reason code": re.compile(r"\b[a-z]+_[a-z_]+\b"),
}


def jargon_in(text: str) -> list[str]:
    """What a member would not understand in `text` (commands like !held are fine)."""
    words = re.sub(r"[!/][a-z_]+(?= |$|\n|\.|,)", "", text)  # a command name is fine
    words = re.sub(r"@[a-z]+:hs", "", words)  # an account as the network shows it
    words = re.sub(r"https?://\S+", "", words)
    for choice in ("read_only", "verified_only"):
        words = words.replace(choice, "")  # policy names admins type
    return [name for name, pattern in BANNED.items() if pattern.search(words)]


async def play_a_session(h: Harness) -> None:
    """What members do in a week, through the real commands and checks."""
    core = h.core
    for cog in (Help, Filters, Admin):
        core.add_cog(cog(core))
    h.adapter.names.update({"!general": "general", NEWS.id: "news"})
    h.adapter.members.update({MALLORY: {SPACE}, ERIN: {SPACE}})

    async def say(*words: str, member: MemberRef = ALICE, **kw: object) -> None:
        await h.command(words[0], *words[1:], member=member, **kw)  # type: ignore[arg-type]

    await say("help")
    await say("help", member=MOD, role=Role.MODERATOR)
    await say("badge")
    await say("badge", BOB.id)
    await say("verify")
    await say("verify", community=None)
    await say("verify", "The", "Lounge", community=None)
    await say("filter")
    await say("filter", "replies")
    await say("filter", "everything")
    await say("held")
    await say("held", "show")
    await say("held", "show", "99999999999999999999")
    await say("held", "dismiss", "seven")
    await say("frobnicate")
    await say("approve", BOB.id)
    await say("policy", "read_only", member=BOB)

    # an unverified reply to Alice, who filters replies: removed, held, Mallory told why
    reply = MessagePosted(
        MessageRef(GENERAL, "$r1"),
        Actor(MALLORY),
        text="you are wrong, and here is a much longer explanation of why you are wrong",
        reply_to_author=ALICE,
    )
    await core.handle_event(h.adapter, reply)
    await say("held")
    item = (await core.store.list_held(ALICE))[0].id
    await say("held", "show", str(item))
    await say("held", "dismiss", "all")

    # a newcomer to a read-only room
    await say("policy", "!news:hs", "read_only", member=MOD, role=Role.ADMIN)
    await core.handle_event(h.adapter, MemberJoined(SPACE, ERIN, NEWS))

    # a review, approved; another, declined
    status, page, _ = await h.choose(await h.link(ALICE), "moderator")
    assert status == 200, page
    await say("approve", ALICE.id, member=MOD, role=Role.MODERATOR)
    status, page, _ = await h.choose(await h.link(BOB), "moderator")
    await say("deny", BOB.id, "please", "try", "e-mail", member=MOD, role=Role.MODERATOR)
    await say("badge")
    await say("verify")
    await say("whois", ALICE.id, member=MOD, role=Role.MODERATOR)

    # a check that proves less than Strict asks
    h.adapter.members[BOB] = {STRICT}
    await h.service.complete(BOB, STRICT, Proof("oidc", "account", "b" * 64))

    # reminders and expiry
    h.clock.offset += timedelta(days=365 - 13)
    await h.service.sweep()
    h.clock.offset += timedelta(days=14)
    await h.service.sweep()
    await say("unverify")
    await say("unverify")
    await core.execute(SendDirect(ALICE, "(end of the session)"))


async def test_no_member_facing_message_has_jargon(harness: Harness) -> None:
    h = harness
    await play_a_session(h)
    said = [text for _, text, _ in h.adapter.replies] + [text for _, text in h.adapter.directs]
    assert len(said) >= 35, "the session should reach most member-facing messages"
    assert said[-1] == "(end of the session)"
    problems = {text: found for text in said if (found := jargon_in(text))}
    assert problems == {}
    # and the ones the issue names, as a member reads them
    everything = "\n".join(said)
    assert "only you see this" in everything and "expires in 15 minutes" in everything
    assert "Welcome to news! Only verified members can write there" in everything
    assert "Your reply in general (“you are wrong, and here is a much longer" in everything
    assert "Strict gives the Verified badge only to members who" in everything
    assert "You are verified (checked by a moderator)" in everything
    assert "@bob:hs is not verified here." in everything  # never how, only whether


def test_the_jargon_check_catches_what_it_should() -> None:
    assert jargon_in("You are verified (level: account).") == [
        "a stored level code",
        "a level in parentheses",
    ]
    assert jargon_in("Policy for channel !abc:hs") == ["a raw room id"]
    assert jargon_in("Strict accept(s) other levels") == ["a (s) plural"]
    assert jargon_in("It lasts until 2027-11-26.") == ["an ISO date"]
    assert jargon_in("Released #3") == ["the old word release"]
    assert jargon_in("failed: stale_check") == ["a reason code"]
    assert jargon_in("Run !verify to verify; ask @alice:hs. See https://x.org/a_b") == []
