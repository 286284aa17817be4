"""Each member's own filter, and the hot path that applies it with the admins' policy.

Every message and reaction passes through `guard_message`/`guard_reaction`: facts come from the
read cache (no database query once warm), the pure policy engine decides, the core executes.
Once warm, a message with nothing to do is decided without a coroutine or an await: the guards
are plain methods that hand the core work to await only on a cache miss or for actions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Literal

from bot import policy
from bot.actions import Action
from bot.adapters.base import PreSendProtection
from bot.cog import Cog, command, listener
from bot.messages import ago_words, excerpt_of
from bot.model import (
    CommandContext,
    CommandError,
    CommunityRef,
    FilterLevel,
    MemberRef,
    MessagePosted,
    ReactionAdded,
    Relation,
)
from bot.params import Param
from bot.policy import Interaction, PolicySettings, PolicySources, Target
from bot.storage import HELD_ITEMS, MEMBER_PREFERENCES, SENDER_NOTICES
from bot.storage.cache import UNKNOWN
from bot.storage.records import AuditDraft, HeldRecord

log = logging.getLogger(__name__)
OFF = FilterLevel.OFF

HELD_PAGE = 20
NOTHING_HELD = "Nothing is held for you."

RELATION_WORDS = {
    Relation.REPLY: "A reply",
    Relation.MENTION: "A mention",
    Relation.REACTION: "A reaction",
    Relation.THREAD_POST: "A post in your thread",
}


class Filters(Cog):
    """What unverified accounts may do to each member, chosen by that member."""

    stores = (MEMBER_PREFERENCES, HELD_ITEMS, SENDER_NOTICES)

    @command("filter", help="Limit replies, mentions and reactions from unverified accounts to you")
    async def set_filter(
        self,
        ctx: CommandContext,
        level: Annotated[
            FilterLevel | None,
            Param(
                "off: allow everyone; replies: hold replies, mentions and reactions from"
                " unverified accounts; all: also posts in your threads"
            ),
        ] = None,
    ) -> None:
        community = _community(ctx)
        if level is None:
            current = await self._level(community, ctx.member)
            await ctx.respond(f"Your filter is {current.describe()}.")
            return
        chosen = level
        await self.core.cache.set_filter(community, ctx.member, chosen, self.core.clock())
        await self._refresh_protection(community)  # in force by the time the member reads on
        await ctx.respond(f"Your filter is now {chosen.describe()}.")

    @command(
        "held",
        help="Review what your filter held for you: list it, show one in full, or dismiss",
        direct_ok=True,
    )
    async def review_held(
        self,
        ctx: CommandContext,
        action: Annotated[
            Literal["list", "show", "dismiss"] | None,
            Param(
                "list: what is held; show: read one in full (only you see it, nothing is"
                " re-posted); dismiss: delete it"
            ),
        ] = None,
        item: Annotated[
            str | None, Param("the number shown by the list, or 'all' (with list: a page number)")
        ] = None,
    ) -> None:
        prefix = self.core.adapter(ctx.network).capabilities.command_prefix
        if action in (None, "list"):
            await self._list_held(ctx, page=self._number(item, "a page number") if item else 1)
            return
        if item is None:
            raise CommandError(f"Say which item to {action}: a number from the list.")
        if action == "dismiss" and item.lower() == "all":
            gone = await self.core.store.dismiss_all_held(ctx.member, self.core.clock())
            if gone:
                await self._audit_dismissal(ctx, f"{gone} held items")
            await ctx.respond(f"Deleted {_items(gone)}." if gone else NOTHING_HELD)
            return
        number = self._number(item, "a number from the list")
        if action == "show":
            held = await self.core.store.get_held(ctx.member, number)
            if held is None:
                raise CommandError(f"Nothing held for you has the number {number}.")
            await ctx.respond(
                f"{held.id}. {self._describe(held)} (only you see this):\n{held.content}"
            )
            return
        if await self.core.store.resolve_held(ctx.member, number, "dismissed", self.core.clock()):
            await self._audit_dismissal(ctx, f"held item {number}")
            await ctx.respond(f"Deleted held item {number}.")
            return
        raise CommandError(
            f"Nothing held for you has the number {number}. {prefix}held lists what is held."
        )

    async def _audit_dismissal(self, ctx: CommandContext, what: str) -> None:
        """A member releasing what was held for them is part of the trail (hold, then release)."""
        await self.core.audit.write(
            AuditDraft(
                network=ctx.network,
                community_id=ctx.community.id if ctx.community else None,
                actor=ctx.member.id,
                action="held_dismissed",
                target=ctx.member.id,
                detail=what,
                at=self.core.clock(),
                dry_run=self.core.dry_run,
            )
        )

    async def _list_held(self, ctx: CommandContext, *, page: int) -> None:
        """One page of what is held, with the true total and how to see the rest."""
        prefix = self.core.adapter(ctx.network).capabilities.command_prefix
        total = await self.core.store.count_held(ctx.member)
        if total == 0:
            await ctx.respond(NOTHING_HELD)
            return
        pages = -(-total // HELD_PAGE)
        page = min(page, pages)
        items = await self.core.store.list_held(
            ctx.member, limit=HELD_PAGE, offset=(page - 1) * HELD_PAGE
        )
        first = (page - 1) * HELD_PAGE + 1
        heading = f"Held for you ({total})"
        if pages > 1:
            heading += f", {first} to {first + len(items) - 1} shown"
        lines = [f"{heading}:"]
        lines += [f"{h.id}. {self._describe(h)}: “{excerpt_of(h.content)}”" for h in items]
        if page < pages:
            lines.append(f"More: {prefix}held list {page + 1}.")
        lines.append(
            f"{prefix}held show <number> shows one in full, only to you (nothing is re-posted)."
            f" {prefix}held dismiss <number|all> deletes them."
        )
        await ctx.respond("\n".join(lines))

    @staticmethod
    def _number(text: str, what: str) -> int:
        """A number a member typed, within what any list can hold (no overflow downstream)."""
        digits = text.strip().lstrip("#")
        if not digits.isdecimal() or not digits.isascii() or len(digits) > 12:
            raise CommandError(f"{text!r} is not {what}.")
        return int(digits)

    def _describe(self, held: HeldRecord) -> str:
        """ "A reply from @bob in General, 5 minutes ago", as the member reads it."""
        adapter = self.core.adapter(held.network)
        what = RELATION_WORDS.get(held.relation, "A message")
        place = adapter.name_of(held.message.channel)
        when = ago_words(held.held_at, self.core.clock())
        return f"{what} from {adapter.display(held.sender)} in {place}, {when}"

    # --- the hot path -------------------------------------------------------------------------

    @listener(MessagePosted)
    def guard_message(self, event: MessagePosted) -> Awaitable[None] | None:
        """Decided here and now when every fact is cached: None when nothing is to be done
        (most messages), else the work still to await (`Listener`)."""
        if event.sender.is_self:
            return None
        return self._judge(event, self.core.monotonic(), True)

    @listener(ReactionAdded)
    def guard_reaction(self, event: ReactionAdded) -> Awaitable[None] | None:
        if event.sender.is_self:
            return None
        return self._judge(event, self.core.monotonic(), False)

    def _judge(self, event: Interaction, started: float, counted: bool) -> Awaitable[None] | None:
        """Warm facts are read without suspending; the first one missing hands the whole
        decision to `_judge_cold`, which loads what is missing. `counted`: the message counts
        in the sender's rate window, which holds what unverified senders send (the only ones
        the `limited` allowance applies to), so an exempt sender's message is not kept there.
        An exempt sender (`policy.is_exempt`: `decide` answers a plain Allow) costs no more
        reads than it takes to know it."""
        core = self.core
        community = event.message.channel.community
        settings = core.policy_settings(community)
        sender = event.sender
        if policy.is_exempt(sender, False, settings):  # by role, whatever its verification
            self._done(started)
            return None
        member = sender.member
        now = core.clock()
        verified = core.known_verified_in(member, community, now)
        if verified is UNKNOWN:
            return self._judge_cold(event, started, counted)
        if policy.is_exempt(sender, verified, settings):  # verified: `decide` allows it
            self._done(started)
            return None
        cache = core.cache
        targets = []
        touched = policy.touched_members(event)
        if touched:
            default = core.config.defaults.default_filter
            for target, relation in touched:
                level = cache.known_filter(community, target)
                if level is UNKNOWN:
                    return self._judge_cold(event, started, counted)
                if level is None:
                    level = default
                if level is not OFF:  # `decide` passes over an unfiltered member: not built
                    targets.append(Target(target, relation, level))
        last_notice = cache.known_notice(community, member)
        sources = core.known_policy_sources(community)
        if last_notice is UNKNOWN or sources is UNKNOWN:
            return self._judge_cold(event, started, counted)
        recent = 0
        if counted and sources.limited_anywhere:  # the only place a count is read
            recent = self._recent(event, settings, started)
        actions = _decide(event, False, settings, now, targets, sources, recent, last_notice)
        core.metrics.time_decision(core.monotonic() - started)  # `_act`, without a call
        return None if policy.nothing_to_do(actions) else core.execute_all(actions)

    def _done(self, started: float) -> None:
        """Timed as any decision; nothing to do (what `_act` does for a plain Allow)."""
        core = self.core
        core.metrics.time_decision(core.monotonic() - started)

    async def _judge_cold(self, event: Interaction, started: float, counted: bool) -> None:
        """The same decision when a fact is not cached: each is loaded (and cached) first."""
        core = self.core
        community = event.community
        settings = core.policy_settings(community)
        cache = core.cache
        sender = event.sender.member
        verified = await core.verified_in(sender, community)
        if policy.is_exempt(event.sender, verified, settings):
            actions = _decide(event, verified, settings, core.clock())
        else:
            targets = []
            default = core.config.defaults.default_filter
            for member, relation in policy.touched_members(event):
                level = await cache.filter_level(community, member)
                targets.append(Target(member, relation, default if level is None else level))
            last_notice = await cache.last_notice(community, sender)
            sources = await core.policy_sources(community)
            recent = 0
            if counted and sources.limited_anywhere:
                recent = self._recent(event, settings, started)
            actions = _decide(
                event, False, settings, core.clock(), targets, sources, recent, last_notice
            )
        pending = self._act(actions, started)
        if pending is not None:
            await pending

    def _recent(self, event: Interaction, settings: PolicySettings, started: float) -> int:
        """Count the message in the sender's window, at the time it arrived; how many it holds.
        Only where `limited` applies somewhere in the community: it counts what was sent while
        it applied (as it counts only what was sent unverified).
        A decision tells apart counts up to one past the allowance: no more times are kept."""
        keep = settings.limited_messages_per_minute + 1
        return self.core.cache.rates.hit(event.community, event.sender.member, started, keep)

    def _act(self, actions: list[Action], started: float) -> Awaitable[None] | None:
        """Times the decision; the actions' work to await, or None when there is nothing."""
        core = self.core
        core.metrics.time_decision(core.monotonic() - started)
        return None if policy.nothing_to_do(actions) else core.execute_all(actions)

    async def _level(self, community: CommunityRef, member: MemberRef) -> FilterLevel:
        chosen = await self.core.cache.filter_level(community, member)
        return chosen if chosen is not None else self.core.config.defaults.default_filter

    # --- native protection before delivery (where the platform has it) ------------------------

    async def on_ready(self) -> None:
        for adapter in self.core.adapters.values():
            if isinstance(adapter, PreSendProtection):
                for community in adapter.communities():
                    await self._refresh_protection(community)

    async def _refresh_protection(self, community: CommunityRef) -> None:
        """Hand the adapter the community's complete set of filtered members."""
        adapter = self.core.adapter(community.network)
        if not isinstance(adapter, PreSendProtection):
            return
        filtered = [record.member for record in await self.core.store.filters_in(community)]
        try:
            await adapter.protect_members(community, filtered)
        except Exception:
            log.exception("could not update pre-send protection in %s", community.id)


def _decide(
    event: Interaction,
    verified: bool,
    settings: PolicySettings,
    now: datetime,
    targets: list[Target] | None = None,
    sources: PolicySources | None = None,
    recent: int = 0,
    last_notice: datetime | None = None,
) -> list[Action]:
    """`policy.decide` on the facts gathered (for an exempt sender, none beyond who it is); a
    thread follows its parent's policy."""
    community_policy = channel_policy = None
    if sources is not None:
        community_policy = sources.community_policy()
        if sources.any_channel:  # most communities set none of their own
            channel_id = event.message.channel.id
            parent = event.parent_channel_id if isinstance(event, MessagePosted) else None
            channel_policy = sources.own_channel_policy(
                (channel_id,) if parent is None else (channel_id, parent)
            )
    return policy.decide(
        event,
        sender_verified=verified,
        targets=targets or (),
        community_policy=community_policy,
        channel_policy=channel_policy,
        settings=settings,
        recent_messages=recent,
        last_notice=last_notice,
        now=now,
    )


def _items(count: int) -> str:
    return "1 held item" if count == 1 else f"{count} held items"


def _community(ctx: CommandContext) -> CommunityRef:
    if ctx.community is None:
        raise CommandError("Run this inside the community it is about.")
    return ctx.community
