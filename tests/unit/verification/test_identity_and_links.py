"""Keyed identity hashes and signed single-use links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.model import CommunityRef, MemberRef
from bot.verification.identity import ServerKey, WeakKeyError, identity_hash
from bot.verification.links import LinkError, LinkProblem, LinkSigner

KEY = ServerKey("a-long-random-server-key-for-tests-only-0123456789")
ALICE = MemberRef("matrix", "@alice:example.org")
SPACE = CommunityRef("matrix", "!space:example.org")


def test_identity_hash_is_keyed_and_unambiguous() -> None:
    h = identity_hash(KEY, "https://id.example.org", "248289761001")
    assert h == KEY.identity_hash("https://id.example.org", "248289761001")
    assert len(h) == 64 and "248289761001" not in h
    # moving a character across the boundary changes the hash
    assert KEY.identity_hash("ab", "c") != KEY.identity_hash("a", "bc")
    # another server key gives unrelated hashes, so hashes cannot be matched across servers
    other = ServerKey("another-long-random-server-key-for-tests-0123456789")
    assert other.identity_hash("https://id.example.org", "248289761001") != h


def test_purposes_do_not_share_keys() -> None:
    assert KEY.mac("link", "x") != KEY.mac("csrf", "x")
    assert KEY.identity_hash("i", "s") != KEY.mac("link", "i", "s").hex()


def test_short_keys_are_refused_with_advice() -> None:
    with pytest.raises(WeakKeyError, match="at least 32"):
        ServerKey("short")
    assert "hidden" in repr(KEY)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Ledger:
    def __init__(self) -> None:
        self.used: dict[str, datetime] = {}

    async def redeem_link(self, link_id: str, expires_at: datetime) -> bool:
        if link_id in self.used:
            return False
        self.used[link_id] = expires_at
        return True

    async def link_redeemed(self, link_id: str) -> bool:
        return link_id in self.used


def test_link_round_trip_binds_account_and_community() -> None:
    signer = LinkSigner(KEY, clock=Clock())
    token, issued = signer.issue(ALICE, SPACE)
    claims = signer.read(token)
    assert claims == issued
    assert claims.member == ALICE and claims.community == SPACE
    assert claims.expires_at - Clock()() == timedelta(minutes=15)


def test_expired_link() -> None:
    clock = Clock()
    signer = LinkSigner(KEY, ttl=timedelta(minutes=15), clock=clock)
    token, _ = signer.issue(ALICE, SPACE)
    clock.now += timedelta(minutes=14, seconds=59)
    signer.read(token)
    clock.now += timedelta(seconds=1)
    with pytest.raises(LinkError) as caught:
        signer.read(token)
    assert caught.value.problem is LinkProblem.EXPIRED
    assert "expired" in str(caught.value) and "verify" in str(caught.value)


def test_tampered_link() -> None:
    signer = LinkSigner(KEY, clock=Clock())
    token, _ = signer.issue(ALICE, SPACE)
    body, signature = token.split(".")
    mallory_token, _ = signer.issue(MemberRef("matrix", "@mallory:example.org"), SPACE)
    forged = [
        f"{mallory_token.split('.')[0]}.{signature}",  # another body under alice's signature
        f"{body}.{signature[:-2]}AA",
        f"{body[:-1]}A.{signature}",
        body,
        "",
        "a.b.c",
        f"{body}.{signature}" + "x" * 3000,
        f"{body}.{signature[:-1]}é",  # not ASCII: compared safely, not a crash
    ]
    for token_ in forged:
        with pytest.raises(LinkError) as caught:
            signer.read(token_)
        assert caught.value.problem is LinkProblem.TAMPERED
    # a link signed with another server's key is worthless here
    elsewhere = LinkSigner(ServerKey("z" * 40), clock=Clock())
    foreign, _ = elsewhere.issue(ALICE, SPACE)
    with pytest.raises(LinkError):
        signer.read(foreign)


async def test_link_is_single_use() -> None:
    signer = LinkSigner(KEY, clock=Clock())
    ledger = Ledger()
    token, _ = signer.issue(ALICE, SPACE)
    await signer.check_unused(token, ledger)  # opening the page does not use it up
    await signer.check_unused(token, ledger)
    await signer.redeem(token, ledger)
    for step in (signer.redeem, signer.check_unused):
        with pytest.raises(LinkError) as caught:
            await step(token, ledger)
        assert caught.value.problem is LinkProblem.USED
    # a fresh link for the same member is independent
    fresh, _ = signer.issue(ALICE, SPACE)
    await signer.redeem(fresh, ledger)


def test_link_cannot_cross_networks() -> None:
    signer = LinkSigner(KEY, clock=Clock())
    with pytest.raises(ValueError):
        signer.issue(MemberRef("discord", "1"), SPACE)
