"""BotCore: owns storage, cache, adapters and cogs; routes events and commands; executes actions.

Three promises live here so no feature has to remember them:
* permissions are checked centrally, before any handler runs;
* one failing handler is logged and answered, never allowed to stop the event loop;
* every action goes through `execute`, so `--dry-run` logs and audits "would ..." instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot import actions as act
from bot.adapters.base import AdapterError, ChatAdapter
from bot.audit import AuditTrail
from bot.audit_mirror import AuditMirror
from bot.cog import Cog, CommandHandler, Listener
from bot.commands import bind_arguments
from bot.config import Config
from bot.execution import ActionRunner
from bot.metrics import Metrics, timed
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
from bot.policy import PolicySettings, PolicySources, is_live, nothing_to_do
from bot.storage import ADAPTER_STATE, AUDIT, BUDGETS, ROLE_CONNECTIONS, Aggregate
from bot.storage.cache import UNKNOWN, ReadCache, Unknown
from bot.storage.records import CommunityPolicies
from bot.storage.repo import Store

log = logging.getLogger(__name__)
CogT = TypeVar("CogT", bound=Cog)
Clock = Callable[[], datetime]
# what the core itself keeps: the audit trail, allowances every feature may spend (codes mailed,
# reports filed), adapters' durable state
CORE_STORES: tuple[Aggregate, ...] = (AUDIT, BUDGETS, ADAPTER_STATE, ROLE_CONNECTIONS)


# the wall clock: `datetime.now(UTC)` without a Python frame of its own (read per message)
utcnow: Clock = functools.partial(datetime.now, UTC)


class StoredAdapterState:
    """An adapter's durable key/value state, kept in the database under its network's name."""

    def __init__(self, store: Store, network: str, clock: Clock = utcnow) -> None:
        self._store, self._network, self._clock = store, network, clock

    async def get(self, key: str) -> str | None:
        return await self._store.get_state(self._network, key)

    async def set(self, key: str, value: str) -> None:
        await self._store.set_state(self._network, key, value, self._clock())


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
        self.monotonic: Callable[[], float] = time.monotonic  # for durations, read per message
        self.metrics = Metrics(cache=self.cache.stats, adapters=lambda: self.adapters.values())
        self.audit = AuditTrail(store, mirror=AuditMirror(config, lambda: self.adapters))
        self.adapters: dict[Network, ChatAdapter] = {}
        self.cogs: list[Cog] = []
        self._commands: dict[str, tuple[CommandSpec, CommandHandler]] = {}
        self._listeners: dict[type[Event], list[Listener]] = defaultdict(list)
        self._tasks: set[asyncio.Task[Any]] = set()
        # keyed by (network, id): a tuple hashes faster than the frozen dataclass
        self._policy_settings: dict[tuple[str, str], PolicySettings] = {}
        self._policy_sources: dict[tuple[str, str], tuple[CommunityPolicies, PolicySources]] = {}
        self.actions = ActionRunner(
            adapter=self.adapter,
            config=config,
            store=store,
            cache=self.cache,
            audit=self.audit,
            metrics=self.metrics,
            clock=clock,
            dry_run=dry_run,
        )
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
        for event_type, listens in cog.listeners():
            self._listeners[event_type].append(listens)
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
            self.metrics.handler_failed()
            log.exception("%s failed; carrying on", name)
            return None

    # --- routing (EventSink) ------------------------------------------------------------------

    async def handle_event(self, adapter: ChatAdapter, event: Event) -> None:
        """Each listener in turn; one that decides at once returns None and is never awaited
        (a warm message costs this one coroutine). Timed here rather than by `timed`: a
        wrapper would be another coroutine per event."""
        started = time.perf_counter()
        metrics = self.metrics
        metrics.event(event)
        try:
            for handler in self._listeners.get(type(event), ()):
                try:  # `_guard` inlined: its name would be formatted for every event
                    pending = handler(event)
                    if pending is not None:
                        await pending
                except asyncio.CancelledError:
                    raise
                except Exception:
                    metrics.handler_failed()
                    name = getattr(handler, "__qualname__", handler)
                    log.exception("listener %s failed; carrying on", name)
        finally:
            metrics.time_handler("event", time.perf_counter() - started)

    @timed("command")
    async def handle_command(self, adapter: ChatAdapter, invocation: CommandInvocation) -> bool:
        """Run a command for whoever invoked it; True when it ran to the end (the adapter may
        then mark the button it came from as done)."""
        prefix = adapter.capabilities.command_prefix
        entry = self._commands.get(invocation.name)
        if entry is None:
            self.metrics.command("unknown")
            await self._reply(
                adapter,
                invocation,
                f"There is no {prefix}{invocation.name} command. Send {prefix}help to see the"
                " commands you can use.",
            )
            return False
        spec, handler = entry
        if invocation.event_id is not None and not await self.store.claim_event(
            adapter.network, invocation.event_id, self.clock()
        ):
            self.metrics.command("duplicate")
            log.info("command %s already handled; ignoring the redelivery", invocation.event_id)
            return False
        if invocation.community is None and not spec.direct_ok:
            self.metrics.command("refused")
            await self._reply(
                adapter, invocation, f"Run {prefix}{spec.name} in the community it is about."
            )
            return False
        if invocation.invoker.role < spec.access:
            needed = "an admin" if spec.access >= Role.ADMIN else "a moderator"
            self.metrics.command("denied")
            await self._reply(adapter, invocation, f"Only {needed} can run {prefix}{spec.name}.")
            return False
        try:
            values = bind_arguments(spec, invocation, adapter)
            answer = functools.partial(self._answer, adapter, invocation)
            answer_file = functools.partial(self._answer_file, adapter, invocation)
            await handler(CommandContext(invocation, spec, answer, answer_file), **values)
            self.metrics.command("ok")
            return True
        except CommandError as exc:
            self.metrics.command("refused")
            await self._reply(adapter, invocation, str(exc))
        except Exception:
            self.metrics.command("failed")
            log.exception("command %s failed", spec.name)
            await self._reply(
                adapter,
                invocation,
                "Something went wrong on my side; nothing was changed. Please try again later.",
            )
        return False

    async def _reply(self, adapter: ChatAdapter, invocation: CommandInvocation, text: str) -> None:
        await self._guard("reply", adapter.respond(invocation, text, private=True))

    async def _answer(
        self, adapter: ChatAdapter, invocation: CommandInvocation, text: str, private: bool
    ) -> None:
        await self._guard("respond", adapter.respond(invocation, text, private=private))

    async def _answer_file(
        self, adapter: ChatAdapter, invocation: CommandInvocation, text: str, name: str, data: bytes
    ) -> None:
        await self._guard("respond with a file", adapter.respond_file(invocation, text, name, data))

    # --- facts for decisions ------------------------------------------------------------------

    def policy_settings(self, community: CommunityRef) -> PolicySettings:
        """The community's knobs; config is fixed while running, so each is built once."""
        key = (community.network, community.id)
        found = self._policy_settings.get(key)
        if found is None:
            found = self._policy_settings[key] = self._build_policy_settings(community)
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
        known = self.known_policy_sources(community)
        if known is not UNKNOWN:
            return known
        return self._sources_of(community, await self.cache.policies(community))

    def known_policy_sources(self, community: CommunityRef) -> PolicySources | Unknown:
        """`policy_sources` without suspending: UNKNOWN until the stored policies are cached.
        Built again only when the stored policies change (config is fixed while running)."""
        stored = self.cache.known_policies(community)
        if stored is UNKNOWN:
            return UNKNOWN
        built = self._policy_sources.get((community.network, community.id))
        if built is not None and built[0] is stored:
            return built[1]
        return self._sources_of(community, stored)

    def _sources_of(self, community: CommunityRef, stored: CommunityPolicies) -> PolicySources:
        own = self.config.community(community.network, community.id)
        sources = PolicySources(
            default=self.config.defaults.policy,
            configured_community=own.policy if own is not None else None,
            stored_community=stored.community,
            configured_channels=own.channels if own is not None else {},
            stored_channels=stored.channels,
        )
        self._policy_sources[(community.network, community.id)] = (stored, sources)
        return sources

    async def verified_in(self, member: MemberRef, community: CommunityRef) -> bool:
        """A live record at a level the community accepts, and not an account its identity may
        not add there (`policy.verified_here`). Cached facts only, loaded on a miss."""
        known = self.known_verified_in(member, community)
        if known is not UNKNOWN:
            return known
        cache = self.cache
        live = await cache.live_verification(member)
        if live is None:
            return False
        accepted = self.policy_settings(community).accepted_levels
        if not is_live(live[0], live[1], accepted, self.clock()):
            return False  # no need to look up the identity limit
        return not await cache.refused(community, member)

    def known_verified_in(
        self, member: MemberRef, community: CommunityRef, now: datetime | None = None
    ) -> bool | Unknown:
        """`verified_in` without suspending, for the hot path: UNKNOWN when a fact it needs is
        not cached yet (then await `verified_in`). `now`: the caller's clock reading, if it
        has one, so a message reads the clock once."""
        cache = self.cache
        live = cache.known_verification(member)
        if live is UNKNOWN:
            return UNKNOWN
        if live is None:
            return False
        accepted = self.policy_settings(community).accepted_levels
        if not is_live(live[0], live[1], accepted, self.clock() if now is None else now):
            return False  # no need to look up the identity limit
        refused = cache.known_refused(community, member)
        return refused if refused is UNKNOWN else not refused

    # --- actions ------------------------------------------------------------------------------

    async def execute(self, action: act.Action, *, actor: MemberRef | None = None) -> bool:
        """Perform one action (or, in a dry run, log and audit it). True when it took effect."""
        return await self.actions.execute(action, actor=actor)

    async def execute_all(
        self, actions: Sequence[act.Action], *, actor: MemberRef | None = None
    ) -> None:
        """Run actions in order; see `ActionRunner.execute_all`."""
        if nothing_to_do(actions):
            return  # what most messages get: nothing to do, nothing to count
        await self.actions.execute_all(actions, actor=actor)

    def moderator_channel(self, community: CommunityRef) -> ChannelRef | None:
        """Where the community's moderators work together (config `moderator_channel`)."""
        return self.actions.moderator_channel(community)

    # --- data rights --------------------------------------------------------------------------

    def stored(self) -> tuple[Aggregate, ...]:
        """Every part of storage that knows members: the core's own and each cog's."""
        found = dict.fromkeys(CORE_STORES)
        for cog in self.cogs:
            found.update(dict.fromkeys(cog.stores))
        return tuple(found)

    async def export_member(self, member: MemberRef) -> dict[str, Any]:
        """The member's copy: their rows in every part of storage anything declared."""
        return await self.store.export(member, self.stored())

    async def erase_member(self, member: MemberRef) -> int:
        """Forget the member everywhere anything declared it stores them (in one transaction)."""
        return await self.store.erase(member, self.stored())
