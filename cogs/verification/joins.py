"""What happens when someone joins a community: a newcomer who cannot write is told how to
verify, and a verified member's identity takes its place under the one-identity limit."""

from __future__ import annotations

from bot import policy
from bot.actions import NotifyAdmins, SendDirect, SetBadge
from bot.cog import listener
from bot.messages import newcomer_notice
from bot.model import MemberJoined, UnverifiedPolicy
from cogs.verification.base import VerificationBase


class Joins(VerificationBase):
    # --- joins ------------------------------------------------------------------------------

    @listener(MemberJoined)
    async def welcome_newcomer(self, event: MemberJoined) -> None:
        """Someone joining a room where unverified members cannot write cannot type the verify
        command there, so they are told privately how to verify."""
        if self.service is None:
            return
        community, member = event.community, event.member
        sources = await self.core.policy_sources(community)
        here = sources.channel_policy([event.channel.id] if event.channel else [])
        now = self.core.clock()
        if not policy.should_welcome(
            here,
            verified=await self.core.verified_in(member, community),
            role=event.role,
            last_notice=await self.core.cache.last_notice(community, member),
            now=now,
            cooldown=self.core.policy_settings(community).notice_cooldown,
        ):
            return
        await self.core.cache.note_notice(community, member, now)
        adapter = self.core.adapter(member.network)
        text = newcomer_notice(
            adapter.name_of(event.channel or community),
            read_only=here is UnverifiedPolicy.READ_ONLY,
            prefix=adapter.capabilities.command_prefix,
            in_direct_chat=adapter.capabilities.direct_commands,
        )
        await self.core.execute(SendDirect(member, text))

    # --- joins: one identity, N accounts per community -------------------------------------

    @listener(MemberJoined)
    async def hold_identity_limit(self, event: MemberJoined) -> None:
        """A verified member joining a community binds their identity there; if the identity
        already holds its limit of other accounts there, the badge stays off and moderators
        are told."""
        record = await self.core.cache.verification(event.member)
        if record is None or record.method == "moderator" or record.revoked_at is not None:
            return
        member, community = event.member, event.community
        if not self._live(record, community):
            return  # a level this community does not accept takes no place in its limit
        limit = self.core.config.identity.max_accounts_per_identity
        if await self.core.cache.take_identity_place(
            community, member, record.identity_hash, limit=limit, at=self.core.clock()
        ):
            return
        await self.core.execute(SetBadge(member, community, False))
        await self.core.execute(
            NotifyAdmins(
                community,
                f"{self._display(member)} joined verified, but their identity already verifies"
                f" {'another account' if limit == 1 else f'{limit} other accounts'} here, so no"
                " badge is shown.",
            )
        )
        await self.core.execute(
            SendDirect(
                member,
                "Your identity already verifies another account in this community, so your"
                " badge is not shown here.",
            )
        )
