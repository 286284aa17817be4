"""A copy of the audit trail, line by line, in a community's audit channel (`audit_channel`).

Only what people decide and what changes a member's standing is copied: badges, policies,
verifications and revocations, reviews, reports. The bot's routine per-message work (holding,
removing, notifying) would flood a channel during a raid and stays in the database alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

from bot.adapters.base import ChatAdapter
from bot.config import Config
from bot.messages import audit_action_words
from bot.model import ChannelRef, CommunityRef, MemberRef, Network
from bot.storage.records import AuditDraft

ROUTINE = frozenset(
    {
        "Withhold",
        "RemoveMessage",
        "RemoveReaction",
        "NotifySender",
        "SendDirect",
        "PostToChannel",
        "NotifyAdmins",
        "NotifyModerators",
    }
)


class AuditMirror:
    """Posts each copied entry to its community's audit channel, if one is configured."""

    def __init__(self, config: Config, adapters: Callable[[], Mapping[Network, ChatAdapter]]):
        self._config = config
        self._adapters = adapters

    async def __call__(self, drafts: Sequence[AuditDraft]) -> None:
        for draft in drafts:
            if draft.action in ROUTINE or draft.community_id is None:
                continue
            network = cast(Network, draft.network)
            settings = self._config.community(network, draft.community_id)
            adapter = self._adapters().get(network)
            if settings is None or settings.audit_channel is None or adapter is None:
                continue
            community = CommunityRef(network, draft.community_id)
            await adapter.post(ChannelRef(community, settings.audit_channel), line(draft, adapter))


def line(draft: AuditDraft, adapter: ChatAdapter) -> str:
    """One entry as moderators read it: what, about whom, by whom, why."""

    def who(account: str | None) -> str:
        if account is None:
            return "the bot"
        return adapter.display(MemberRef(adapter.network, account))

    parts = [audit_action_words(draft.action)]
    if draft.target is not None:
        parts.append(who(draft.target))
    parts.append(f"by {who(draft.actor)}")
    if draft.detail:
        parts.append(draft.detail)
    prefix = "(dry run) " if draft.dry_run else ""
    return prefix + " · ".join(parts)
