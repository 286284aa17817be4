"""Keeps every badge in line with the database: on start, on join, and after any change.

The database is the truth; the badge (a role, a power level plus a space) is its visible sign.
`refresh` is what other cogs call after a verification changes, so a member's badge appears or
goes in every community the bot shares with them, at once.

Checking a whole community (at start, every `badge_check_minutes`, on joining one) runs in the
background, so the bot answers while it goes on; the adapter paces the changes within the
network's limits, a few are asked at once only to hide round trips, and a stop cancels it
cleanly. It skips what the network already shows right, so after a restart it only finishes
the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from bot.actions import NotifyModerators, SetBadge
from bot.cog import Cog, listener
from bot.model import CommunityAdded, CommunityRef, MemberJoined, MemberRef

log = logging.getLogger(__name__)
AT_ONCE = 8  # changes asked at the same time; the adapter decides how fast they go


class Badges(Cog):
    """The visible sign of verification, reconciled with stored verifications."""

    async def verified_in(self, member: MemberRef, community: CommunityRef) -> bool:
        return await self.core.verified_in(member, community)

    async def refresh(self, member: MemberRef) -> list[CommunityRef]:
        """Show or take down the member's badge everywhere; returns where it is now shown."""
        adapter = self.core.adapter(member.network)
        shown: list[CommunityRef] = []
        for community in await adapter.member_communities(member):
            on = await self.verified_in(member, community)
            if await self.core.execute(SetBadge(member, community, on)) and on:
                shown.append(community)
        return shown

    async def reconcile(self, community: CommunityRef) -> tuple[int, int]:
        """Grant missing badges and remove unearned ones in one community; (granted, removed).

        Each change is an audited action; the community's moderators get one summary."""
        adapter = self.core.adapter(community.network)
        holders = {member async for member in adapter.badge_holders(community)}

        async def take_down(member: MemberRef) -> bool:
            return not await self.verified_in(member, community) and await self.core.execute(
                SetBadge(member, community, False)
            )

        async def restore(member: MemberRef) -> bool:
            return (
                member not in holders
                and await self.verified_in(member, community)
                and community in await adapter.member_communities(member)
                and await self.core.execute(SetBadge(member, community, True))
            )

        removed = await _a_few_at_once(sorted(holders, key=lambda m: m.id), take_down)
        records = await self.core.store.list_verifications(community.network)
        verified = sorted({record.member for record in records}, key=lambda m: m.id)
        granted = await _a_few_at_once(verified, restore)
        if granted or removed:
            log.info(
                "badge check in %s: %d restored, %d removed",
                community.id,
                len(granted),
                len(removed),
            )
            await self.core.execute(
                NotifyModerators(community, _summary(adapter.display, granted, removed))
            )
        return len(granted), len(removed)

    async def on_ready(self) -> None:
        """Check every badge now and then regularly, in the background: readiness (commands,
        the filters) never waits for a large community's check."""
        self.core.spawn(self._check_forever(), "badge check")
        self.core.cache.changed_elsewhere.append(self._changed_elsewhere)

    def _changed_elsewhere(self, member: MemberRef) -> None:
        """Another process verified, revoked or erased this member: the badge in the
        communities this process serves follows at once, not at the next check."""
        if member.network in self.core.adapters:
            self.core.spawn(self.refresh(member), "badge refresh")

    async def _check_forever(self) -> None:
        minutes = self.core.config.defaults.badge_check_minutes
        while True:
            for adapter in list(self.core.adapters.values()):
                for community in adapter.communities():
                    try:
                        await self.reconcile(community)
                    except Exception:
                        log.exception("could not check the badges in %s", community.id)
            if not minutes:
                return
            await asyncio.sleep(minutes * 60)

    @listener(MemberJoined)
    async def restore_badge(self, event: MemberJoined) -> None:
        """A returning verified member gets the badge back without asking (the adapter paces
        it; each join is its own event, so a crowd returning holds nothing else up)."""
        if await self.verified_in(event.member, event.community):
            await self.core.execute(SetBadge(event.member, event.community, True))

    @listener(CommunityAdded)
    async def reconcile_new_community(self, event: CommunityAdded) -> None:
        """A new community is checked in the background, like at start."""
        self.core.spawn(self.reconcile(event.community), "badge check")


async def _a_few_at_once(
    members: Iterable[MemberRef], change: Callable[[MemberRef], Awaitable[bool]]
) -> list[MemberRef]:
    """`change` for each member, `AT_ONCE` at a time; the members it changed, in order."""
    pending = iter(members)
    changed: list[MemberRef] = []

    async def work() -> None:
        for member in pending:
            if await change(member):
                changed.append(member)

    async with asyncio.TaskGroup() as group:
        for _ in range(AT_ONCE):
            group.create_task(work())
    return sorted(changed, key=lambda m: m.id)


def _summary(
    display: Callable[[MemberRef], str], granted: Sequence[MemberRef], removed: Sequence[MemberRef]
) -> str:
    """What the badge check changed, for the moderators (names, at most ten of each)."""

    def names(members: Sequence[MemberRef]) -> str:
        shown = ", ".join(display(m) for m in members[:10])
        more = len(members) - 10
        return shown + (f" and {more} more" if more > 0 else "")

    def count(members: Sequence[MemberRef], what: str) -> str:
        return f"1 {what}" if len(members) == 1 else f"{len(members)} {what}s"

    parts = []
    if granted:
        parts.append(
            f"restored the badge of {count(granted, 'verified member')} ({names(granted)})"
        )
    if removed:
        parts.append(
            f"removed it from {count(removed, 'member')} without a live verification, for"
            f" example a badge given by hand ({names(removed)})"
        )
    return f"Badge check: {'; '.join(parts)}."
