"""Carrying out actions: one registry from action type to the adapter call that performs it.

Every action goes through `ActionRunner.execute`, so a dry run logs and audits "would have ..."
instead, failures are counted and logged (never raised into a handler), and the audit trail
records what was done with account ids in its own columns, never inside its text.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import actions as act
from bot.adapters.base import (
    AdapterError,
    ChatAdapter,
    DeliveryRefusals,
    ProfileBadgeHolder,
    SenderNotifier,
)
from bot.audit import AuditTrail
from bot.config import Config
from bot.messages import sender_notice
from bot.metrics import Metrics
from bot.model import ChannelRef, CommunityRef, MemberRef, Network
from bot.storage.cache import ReadCache
from bot.storage.records import AuditDraft
from bot.storage.repo import Store

log = logging.getLogger(__name__)


class ActionRunner:
    """Performs neutral actions through the adapters (or, in a dry run, only records them)."""

    def __init__(
        self,
        *,
        adapter: Callable[[Network], ChatAdapter],
        config: Config,
        store: Store,
        cache: ReadCache,
        audit: AuditTrail,
        metrics: Metrics,
        clock: Callable[[], datetime],
        dry_run: bool,
    ) -> None:
        self._adapter = adapter
        self.config, self.store, self.cache, self.audit = config, store, cache, audit
        self.metrics, self.clock, self.dry_run = metrics, clock, dry_run
        self._executors: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            act.Allow: self._do_nothing,
            act.Withhold: self._withhold,
            act.RemoveMessage: self._remove_message,
            act.RemoveReaction: self._remove_reaction,
            act.NotifySender: self._notify_sender,
            act.SetBadge: self._set_badge,
            act.ApplyPolicy: self._apply_policy,
            act.SendDirect: self._send_direct,
            act.PostToChannel: self._post,
            act.NotifyAdmins: self._notify_admins,
            act.NotifyModerators: self._notify_moderators,
            act.TakeOffProfileBadge: self._take_off_profile_badge,
        }

    async def execute(self, action: act.Action, *, actor: MemberRef | None = None) -> bool:
        """Perform one action (or, in a dry run, log and audit it). True when it took effect."""
        if isinstance(action, act.Allow):
            if action.why:
                self.metrics.allowed_without_facts()
            return True
        # what happened, naming no one: account ids live in the audit's actor and target columns
        said = act.summary(action) or act.kind(action)
        if self.dry_run:
            log.info("dry run: would have %s", said)
            await self._audit(action, actor, f"would have {said}", dry_run=True)
            return True
        try:
            await self._executors[type(action)](action)
        except AdapterError as exc:
            self.metrics.action_failed(action)
            log.warning("could not carry out %s: %s", act.kind(action), exc)
            return False
        except Exception:
            self.metrics.action_failed(action)
            log.exception("could not carry out %s", act.kind(action))
            return False
        self.metrics.action(action)
        if act.summary(action) is not None:
            log.info("%s", said)
        if not isinstance(  # messages, and a profile badge that is often not there
            action,
            act.SendDirect
            | act.PostToChannel
            | act.NotifySender
            | act.NotifyModerators
            | act.TakeOffProfileBadge,
        ):
            await self._audit(action, actor, said)
        return True

    async def _audit(
        self, action: act.Action, actor: MemberRef | None, detail: str, *, dry_run: bool = False
    ) -> None:
        network, community_id = _where(action)
        draft = AuditDraft(
            network=network,
            community_id=community_id,
            actor=actor.id if actor else None,
            action=type(action).__name__,
            target=_target(action),
            detail=detail,
            at=self.clock(),
            dry_run=dry_run,
        )
        try:
            await self.audit.record(draft)
        except Exception:  # the action happened; a lost audit line must not undo that
            log.exception("could not record an audit entry")

    async def execute_all(
        self, actions: Sequence[act.Action], *, actor: MemberRef | None = None
    ) -> None:
        """Run actions in order (a `Withhold` writes its holds before its removal). A sender is
        told something was removed only if it was."""
        removed = True
        for action in actions:
            if isinstance(action, act.NotifySender) and not removed:
                continue
            done = await self.execute(action, actor=actor)
            if isinstance(action, act.Withhold | act.RemoveMessage | act.RemoveReaction):
                removed = done

    async def _do_nothing(self, _action: act.Allow) -> None:
        return None

    async def _withhold(self, action: act.Withhold) -> None:
        """Every hold in one transaction first; the removal only once that committed."""
        now = self.clock()
        retention = timedelta(days=self.config.defaults.held_retention_days)
        await self.store.add_held(action.holds, at=now, expires_at=now + retention)
        await self._executors[type(action.removal)](action.removal)

    async def _remove_message(self, action: act.RemoveMessage) -> None:
        await self._adapter(action.message.network).remove_message(action.message, action.reason)

    async def _remove_reaction(self, action: act.RemoveReaction) -> None:
        await self._adapter(action.message.network).remove_reaction(
            action.message, action.reactor, action.emoji, action.reaction_id, action.reason
        )

    async def _notify_sender(self, action: act.NotifySender) -> None:
        adapter = self._adapter(action.member.network)
        await self.cache.note_notice(action.community, action.member, self.clock())
        text = sender_notice(
            what=action.what,
            place=adapter.name_of(action.channel) if action.channel is not None else "",
            excerpt=action.excerpt,
            reason=action.reason,
            held=action.held,
            prefix=adapter.capabilities.command_prefix,
            # a notice reaches a sender by direct message, unless the adapter has to post it
            in_direct_chat=adapter.capabilities.direct_commands
            and not isinstance(adapter, SenderNotifier),
            delivered=not (
                action.message is not None
                and isinstance(adapter, DeliveryRefusals)
                and adapter.refused_before_delivery(action.message)
            ),
        )
        if isinstance(adapter, SenderNotifier):
            await adapter.notify_sender(action.member, action.channel, text)
        else:
            await adapter.send_direct(action.member, text)

    async def _take_off_profile_badge(self, action: act.TakeOffProfileBadge) -> None:
        adapter = self._adapter(action.member.network)
        if isinstance(adapter, ProfileBadgeHolder):
            await adapter.take_off_profile_badge(action.member)

    async def _set_badge(self, action: act.SetBadge) -> None:
        await self._adapter(action.member.network).set_badge(
            action.member, action.community, action.on
        )

    async def _apply_policy(self, action: act.ApplyPolicy) -> None:
        await self._adapter(action.scope.network).apply_policy(
            action.scope, action.policy, action.keep
        )

    async def _send_direct(self, action: act.SendDirect) -> None:
        await self._adapter(action.member.network).send_direct(action.member, action.text)

    async def _post(self, action: act.PostToChannel) -> None:
        await self._adapter(action.channel.network).post(
            action.channel, action.text, choices=action.choices
        )

    async def _notify_admins(self, action: act.NotifyAdmins) -> None:
        await self._adapter(action.community.network).notify_admins(action.community, action.text)

    async def _notify_moderators(self, action: act.NotifyModerators) -> None:
        adapter = self._adapter(action.community.network)
        room = self.moderator_channel(action.community)
        if room is not None:
            await adapter.post(room, action.text, choices=action.choices)
        else:
            await adapter.notify_admins(action.community, action.text, choices=action.choices)

    def moderator_channel(self, community: CommunityRef) -> ChannelRef | None:
        """Where the community's moderators work together (config `moderator_channel`)."""
        settings = self.config.community(community.network, community.id)
        if settings is None or not settings.moderator_channel:
            return None
        return ChannelRef(community, settings.moderator_channel)


def _where(action: act.Action) -> tuple[str, str | None]:
    match action:
        case act.Withhold(removal=removal):
            return _where(removal)
        case act.RemoveMessage(message=m) | act.RemoveReaction(message=m):
            return m.network, m.channel.community.id
        case (
            act.NotifySender(community=c)
            | act.SetBadge(community=c)
            | act.NotifyAdmins(community=c)
            | act.NotifyModerators(community=c)
        ):
            return c.network, c.id
        case act.ApplyPolicy(scope=scope):
            community = scope if isinstance(scope, CommunityRef) else scope.community
            return community.network, community.id
        case act.SendDirect(member=member) | act.TakeOffProfileBadge(member=member):
            return member.network, None
        case act.PostToChannel(channel=channel):
            return channel.network, channel.community.id
    return "", None


def _target(action: act.Action) -> str | None:
    match action:
        case act.Withhold(removal=removal):
            return _target(removal)
        case act.RemoveMessage(sender=s):
            return s.id
        case act.RemoveReaction(reactor=r):
            return r.id
        case (
            act.NotifySender(member=m)
            | act.SetBadge(member=m)
            | act.SendDirect(member=m)
            | act.TakeOffProfileBadge(member=m)
        ):
            return m.id
    return None  # a policy names a place, not an account: the detail says where
