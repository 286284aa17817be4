"""Keeps every badge in line with the database: on start, on join, and after any change.

The database is the truth; the badge (a role, a power level plus a space) is its visible sign.
`refresh` is what other cogs call after a verification changes, so a member's badge appears or
goes in every community the bot shares with them, at once.
"""

from __future__ import annotations

import logging

from bot.actions import SetBadge
from bot.cog import Cog, listener
from bot.model import CommunityAdded, CommunityRef, MemberJoined, MemberRef

log = logging.getLogger(__name__)


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
        """Grant missing badges and remove unearned ones in one community; (granted, removed)."""
        adapter = self.core.adapter(community.network)
        holders = {member async for member in adapter.badge_holders(community)}
        removed = 0
        for member in holders:
            if not await self.verified_in(member, community):
                removed += await self.core.execute(SetBadge(member, community, False))
        granted = 0
        for record in await self.core.store.list_verifications(community.network):
            member = record.member
            if member in holders or not await self.verified_in(member, community):
                continue
            if community in await adapter.member_communities(member):
                granted += await self.core.execute(SetBadge(member, community, True))
        if granted or removed:
            log.info(
                "reconciled badges in %s: %d granted, %d removed", community.id, granted, removed
            )
        return granted, removed

    async def on_ready(self) -> None:
        for adapter in self.core.adapters.values():
            for community in adapter.communities():
                try:
                    await self.reconcile(community)
                except Exception:
                    log.exception("could not reconcile badges in %s", community.id)

    @listener(MemberJoined)
    async def restore_badge(self, event: MemberJoined) -> None:
        """A returning verified member gets the badge back without asking."""
        if await self.verified_in(event.member, event.community):
            await self.core.execute(SetBadge(event.member, event.community, True))

    @listener(CommunityAdded)
    async def reconcile_new_community(self, event: CommunityAdded) -> None:
        await self.reconcile(event.community)
