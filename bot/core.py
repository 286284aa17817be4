"""BotCore: owns storage, cache, adapters and cogs; routes events and commands; executes actions.

Three promises live here so no feature has to remember them:
* permissions are checked centrally, before any handler runs;
* one failing handler is logged and answered, never allowed to stop the event loop;
* every action goes through `execute`, so `--dry-run` logs and audits "would ..." instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot import actions as act
from bot.adapters.base import AdapterError, ChatAdapter, SenderNotifier
from bot.audit import AuditTrail
from bot.cog import Cog, CommandHandler, Listener
from bot.commands import bind_arguments
from bot.config import Config
from bot.messages import sender_notice
from bot.model import (
    ChannelRef,
    CommandContext,
    CommandError,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    Event,
    MemberRef,
    Network,
    Role,
)
from bot.policy import PolicySettings, PolicySources, is_verified, verified_here
from bot.storage.cache import ReadCache
from bot.storage.records import AuditDraft
from bot.storage.repo import Store

log = logging.getLogger(__name__)
CogT = TypeVar("CogT", bound=Cog)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoredAdapterState:
    """An adapter's durable key/value state, kept in the database under its network's name."""

    def __init__(self, store: Store, network: str, clock: Clock = utcnow) -> None:
        self._store, self._network, self._clock = store, network, clock

    async def get(self, key: str) -> str | None:
        return await self._store.get_state(self._network, key)

    async def set(self, key: str, value: str) -> None:
        await self._store.set_state(self._network, key, value, self._clock())


class Metrics:
    """Counters and timings exposed on /metrics; cheap enough for the hot path."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = defaultdict(int)
        self.decision_seconds: list[float] = []

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def time_decision(self, seconds: float) -> None:
        if len(self.decision_seconds) >= 10_000:
            del self.decision_seconds[:5_000]
        self.decision_seconds.append(seconds)


class BotCore:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        adapters: Iterable[ChatAdapter] = (),
        cogs: Iterable[type[Cog]] = (),
        dry_run: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.cache = ReadCache(store, config.database.cache_size)
        self.dry_run = dry_run
        self.clock = clock
        self.metrics = Metrics()
        self.audit = AuditTrail(store)
        self.adapters: dict[Network, ChatAdapter] = {}
        self.cogs: list[Cog] = []
        self._commands: dict[str, tuple[CommandSpec, CommandHandler]] = {}
        self._listeners: dict[type[Event], list[Listener]] = defaultdict(list)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._policy_settings: dict[CommunityRef, PolicySettings] = {}
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
        }
        for adapter in adapters:
            self.add_adapter(adapter)
        for cog_type in cogs:
            self.add_cog(cog_type(self))

    # --- assembly -----------------------------------------------------------------------------

    def add_adapter(self, adapter: ChatAdapter) -> None:
        if adapter.network in self.adapters:
            raise ValueError(f"a {adapter.network} adapter is already attached")
        self.adapters[adapter.network] = adapter

    def add_cog(self, cog: Cog) -> None:
        for spec, handler in cog.commands():
            if spec.name in self._commands:
                raise ValueError(f"command {spec.name!r} is defined twice")
            self._commands[spec.name] = (spec, handler)
        for event_type, handler in cog.listeners():
            self._listeners[event_type].append(handler)
        self.cogs.append(cog)

    def cog(self, cog_type: type[CogT]) -> CogT:
        for cog in self.cogs:
            if isinstance(cog, cog_type):
                return cog
        raise LookupError(f"{cog_type.__name__} is not loaded")

    def command_specs(self) -> list[CommandSpec]:
        return [spec for spec, _ in self._commands.values()]

    def adapter(self, network: Network) -> ChatAdapter:
        try:
            return self.adapters[network]
        except KeyError:
            raise AdapterError(f"no {network} adapter is configured") from None

    def state_for(self, network: str) -> StoredAdapterState:
        return StoredAdapterState(self.store, network, self.clock)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect every adapter, publish commands, then let cogs reconcile and schedule."""
        self.audit.start()
        specs = self.command_specs()
        for adapter in self.adapters.values():
            await adapter.start(self)
            await adapter.register_commands(specs)
        for cog in self.cogs:
            await self._guard(f"{cog.name}.on_ready", cog.on_ready())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for adapter in self.adapters.values():
            await self._guard(f"{adapter.network}.stop", adapter.stop())
        await self.audit.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run background work the core will cancel at stop; failures are logged, not lost."""
        task = asyncio.create_task(self._guard(name, coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # stopped before it began: close the work so it is not reported as never awaited
        task.add_done_callback(lambda _task: coro.close())
        return task

    async def _guard(self, name: str, coro: Awaitable[Any]) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            self.metrics.count("handler_failures")
            log.exception("%s failed; carrying on", name)
            return None

    # --- routing (EventSink) ------------------------------------------------------------------

    async def handle_event(self, adapter: ChatAdapter, event: Event) -> None:
        self.metrics.count(f"events.{type(event).__name__}")
        for handler in self._listeners.get(type(event), ()):
            await self._guard(
                f"listener {getattr(handler, '__qualname__', handler)}", handler(event)
            )

    async def handle_command(self, adapter: ChatAdapter, invocation: CommandInvocation) -> None:
        self.metrics.count("commands")
        prefix = adapter.capabilities.command_prefix
        entry = self._commands.get(invocation.name)
        if entry is None:
            await self._reply(
                adapter,
                invocation,
                f"There is no {prefix}{invocation.name} command. Send {prefix}help to see the"
                " commands you can use.",
            )
            return
        spec, handler = entry
        if invocation.event_id is not None and not await self.store.claim_event(
            adapter.network, invocation.event_id, self.clock()
        ):
            log.info("command %s already handled; ignoring the redelivery", invocation.event_id)
            return
        if invocation.community is None and not spec.direct_ok:
            await self._reply(
                adapter, invocation, f"Run {prefix}{spec.name} in the community it is about."
            )
            return
        if invocation.invoker.role < spec.access:
            needed = "an admin" if spec.access >= Role.ADMIN else "a moderator"
            self.metrics.count("commands.denied")
            await self._reply(adapter, invocation, f"Only {needed} can run {prefix}{spec.name}.")
            return
        try:
            values = bind_arguments(spec, invocation, adapter)
            await handler(CommandContext(invocation, spec), **values)
        except CommandError as exc:
            await self._reply(adapter, invocation, str(exc))
        except Exception:
            self.metrics.count("handler_failures")
            log.exception("command %s failed", spec.name)
            await self._reply(
                adapter,
                invocation,
                "Something went wrong on my side; nothing was changed. Please try again later.",
            )

    async def _reply(self, adapter: ChatAdapter, invocation: CommandInvocation, text: str) -> None:
        await self._guard("reply", adapter.respond(invocation, text, private=True))

    async def respond(self, ctx: CommandContext, text: str, *, private: bool = True) -> None:
        adapter = self.adapter(ctx.network)
        await self._guard("respond", adapter.respond(ctx.invocation, text, private=private))

    # --- facts for decisions ------------------------------------------------------------------

    def policy_settings(self, community: CommunityRef) -> PolicySettings:
        """The community's knobs; config is fixed while running, so each is built once."""
        found = self._policy_settings.get(community)
        if found is None:
            found = self._policy_settings[community] = self._build_policy_settings(community)
        return found

    def _build_policy_settings(self, community: CommunityRef) -> PolicySettings:
        defaults = self.config.defaults
        return PolicySettings(
            accepted_levels=self.config.accepted_levels(community.network, community.id),
            limited_messages_per_minute=defaults.limited_messages_per_minute,
            mass_mention_threshold=defaults.mass_mention_threshold,
            bots_count_as_unverified=defaults.bots_count_as_unverified,
            notice_cooldown=timedelta(seconds=defaults.sender_notice_cooldown_seconds),
        )

    async def policy_sources(self, community: CommunityRef) -> PolicySources:
        """Every policy set for the community (stored, configured, default), from the cache."""
        stored = await self.cache.policies(community)
        own = self.config.community(community.network, community.id)
        return PolicySources(
            default=self.config.defaults.policy,
            configured_community=own.policy if own is not None else None,
            stored_community=stored.community,
            configured_channels=own.channels if own is not None else {},
            stored_channels=stored.channels,
        )

    async def verified_in(self, member: MemberRef, community: CommunityRef) -> bool:
        """A live record at a level the community accepts, and not an account its identity may
        not add there. Cached facts only, so the hot path may ask."""
        record = await self.cache.verification(member)
        accepted = self.policy_settings(community).accepted_levels
        if not is_verified(record, accepted, self.clock()):
            return False  # no need to look up the identity limit
        refused = await self.cache.refused(community, member)
        return verified_here(record, accepted, refused=refused, now=self.clock())

    def monotonic(self) -> float:
        return time.monotonic()

    # --- actions ------------------------------------------------------------------------------

    async def execute(self, action: act.Action, *, actor: MemberRef | None = None) -> bool:
        """Perform one action (or, in a dry run, log and audit it). True when it took effect."""
        if isinstance(action, act.Allow):
            if action.why:
                self.metrics.count("decisions.allowed_without_facts")
            return True
        description = act.describe(action)  # with account ids: for the audit trail only
        said = act.summary(action) or act.kind(action)  # for the log: no one is named
        if self.dry_run:
            log.info("dry run: would have %s", said)
            await self._audit(action, actor, f"would {description}", dry_run=True)
            return True
        try:
            await self._executors[type(action)](action)
        except AdapterError as exc:
            self.metrics.count("actions.failed")
            log.warning("could not carry out %s: %s", act.kind(action), exc)
            return False
        except Exception:
            self.metrics.count("actions.failed")
            log.exception("could not carry out %s", act.kind(action))
            return False
        self.metrics.count(f"actions.{type(action).__name__}")
        if act.summary(action) is not None:
            log.info("%s", said)
        if not isinstance(
            action, act.SendDirect | act.PostToChannel | act.NotifySender | act.NotifyModerators
        ):
            await self._audit(action, actor, description)
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
        await self._guard("audit", self.audit.record(draft))

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
        await self.adapter(action.message.network).remove_message(action.message, action.reason)

    async def _remove_reaction(self, action: act.RemoveReaction) -> None:
        await self.adapter(action.message.network).remove_reaction(
            action.message, action.reactor, action.emoji, action.reaction_id, action.reason
        )

    async def _notify_sender(self, action: act.NotifySender) -> None:
        adapter = self.adapter(action.member.network)
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
        )
        if isinstance(adapter, SenderNotifier):
            await adapter.notify_sender(action.member, action.channel, text)
        else:
            await adapter.send_direct(action.member, text)

    async def _set_badge(self, action: act.SetBadge) -> None:
        await self.adapter(action.member.network).set_badge(
            action.member, action.community, action.on
        )

    async def _apply_policy(self, action: act.ApplyPolicy) -> None:
        await self.adapter(action.scope.network).apply_policy(
            action.scope, action.policy, action.keep
        )

    async def _send_direct(self, action: act.SendDirect) -> None:
        await self.adapter(action.member.network).send_direct(action.member, action.text)

    async def _post(self, action: act.PostToChannel) -> None:
        await self.adapter(action.channel.network).post(action.channel, action.text)

    async def _notify_admins(self, action: act.NotifyAdmins) -> None:
        await self.adapter(action.community.network).notify_admins(action.community, action.text)

    async def _notify_moderators(self, action: act.NotifyModerators) -> None:
        adapter = self.adapter(action.community.network)
        room = self.moderator_channel(action.community)
        if room is not None:
            await adapter.post(room, action.text)
        else:
            await adapter.notify_admins(action.community, action.text)

    def moderator_channel(self, community: CommunityRef) -> ChannelRef | None:
        """Where the community's moderators work together (config `moderator_channel`)."""
        settings = self.config.community(community.network, community.id)
        if settings is None or not settings.moderator_channel:
            return None
        return ChannelRef(community, settings.moderator_channel)

    # --- data rights --------------------------------------------------------------------------

    async def export_member(self, member: MemberRef) -> dict[str, Any]:
        return {cog.name: await cog.export_member_data(member) for cog in self.cogs}

    async def erase_member(self, member: MemberRef) -> int:
        removed = 0
        for cog in self.cogs:
            removed += await cog.erase_member_data(member)
        self.cache.forget_member(member)
        return removed


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
        case act.SendDirect(member=member):
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
        case act.NotifySender(member=m) | act.SetBadge(member=m) | act.SendDirect(member=m):
            return m.id
        case act.ApplyPolicy(scope=scope):
            return scope.id
    return None
