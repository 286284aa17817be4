"""What the dashboard shows for one community, gathered from storage and the adapter.

Counts only: who chose which filter, or whose message was held, never reaches the page. The
audit entries are the exception admins already have (the `audit` command shows them the same).
"Verified here" keeps the core's meaning (`policy.verified_here`): of the accounts the network
shows with the badge, those with a live verification at a level the community accepts, not
refused by the identity limit — counted in storage (`Store.verified_dates`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from bot.adapters.base import ChatAdapter, CommunityFacts
from bot.core import BotCore
from bot.messages import audit_entry_words, date_words
from bot.model import ChannelRef, CommunityRef, FilterLevel, UnverifiedPolicy
from bot.storage.records import AuditRecord
from bot.storage.stats import ReportCounts
from bot.web.dashboard import charts
from bot.web.dashboard.access import community_name
from bot.web.dashboard.charts import Chart

DAYS: Final = 30
AUDIT_SHOWN: Final = 10
NETWORK_NAMES: Final = {"matrix": "Matrix", "discord": "Discord"}
_DISCORD_CHANNEL = re.compile(r"^<#(\d+)>$")


@dataclass(frozen=True, slots=True)
class PlacePolicy:
    """One line of the policy list: where, and what applies there."""

    place: str
    policy: UnverifiedPolicy


@dataclass(frozen=True, slots=True)
class Figures:
    community_name: str
    network_name: str
    channel_word: str
    members: int | None
    verified: int
    verified_chart: Chart
    filters: dict[FilterLevel, int]
    default_filter: FilterLevel
    filter_chart: Chart
    held_total: int
    held_chart: Chart
    reports: ReportCounts
    policies: list[PlacePolicy]
    community_policy: UnverifiedPolicy
    warnings: list[str] | None  # None: the network cannot tell
    audit: list[str]

    @property
    def share(self) -> int | None:
        """Percent of members verified here, when the network says how many members there are."""
        if not self.members:
            return None
        return min(100, round(100 * self.verified / self.members))


def place_name(adapter: ChatAdapter, channel: ChannelRef) -> str:
    """A channel as a page can show it: Discord names channels by a mention only chat clients
    turn into a name, so there it is its id."""
    name = adapter.name_of(channel)
    found = _DISCORD_CHANNEL.match(name)
    word = adapter.capabilities.channel_word
    return f"{word} with id {found.group(1)}" if found else f"{word} {name}"


def _first_up(text: str) -> str:
    """`str.capitalize` would lower the rest of a room's own name ("News" → "news")."""
    return text[:1].upper() + text[1:]


def last_days(now: datetime, count: int = DAYS) -> list[date]:
    """The last `count` UTC calendar days, today last."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


async def gather(
    core: BotCore, adapter: ChatAdapter, community: CommunityRef, now: datetime
) -> Figures:
    store = core.store
    days = last_days(now)
    since = datetime.combine(days[0], time(0), tzinfo=UTC)
    facts = adapter if isinstance(adapter, CommunityFacts) else None
    members = await facts.member_count(community) if facts is not None else None
    holders = [member.id async for member in adapter.badge_holders(community)]
    accepted = core.policy_settings(community).accepted_levels
    dates = [
        when.astimezone(UTC).date()
        for when in await store.verified_dates(community, holders, accepted, now)
    ]
    running = [(day, sum(1 for d in dates if d <= day)) for day in days]
    chosen = await store.filter_counts(community)
    filters = {level: chosen.get(level.value, 0) for level in FilterLevel}
    held = await store.held_per_day(community, since)
    per_day = [(day, held.get(day, 0)) for day in days]
    await core.audit.flush()  # the last moments' routine entries are written first
    entries = await store.list_audit(
        community_id=community.id, network=community.network, limit=AUDIT_SHOWN
    )
    sources = await core.policy_sources(community)
    policies = [PlacePolicy("Whole community", sources.community_policy())] + [
        PlacePolicy(_first_up(place_name(adapter, ChannelRef(community, cid))), p)
        for cid, p in sorted(sources.channel_overrides().items())
    ]
    default = core.config.defaults.default_filter
    return Figures(
        community_name=community_name(core.config, adapter, community),
        network_name=NETWORK_NAMES.get(community.network, community.network),
        channel_word=adapter.capabilities.channel_word,
        members=members,
        verified=len(dates),
        verified_chart=_verified_chart(running),
        filters=filters,
        default_filter=default,
        filter_chart=_filter_chart(filters),
        held_total=sum(count for _, count in per_day),
        held_chart=_held_chart(per_day),
        reports=await store.report_counts(community, now),
        policies=policies,
        community_policy=sources.community_policy(),
        warnings=facts.problems(community) if facts is not None else None,
        audit=[audit_line(entry, now) for entry in entries],
    )


def _span(days: list[tuple[date, int]]) -> str:
    return f"from {date_words(_at(days[0][0]))} to {date_words(_at(days[-1][0]))}"


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _verified_chart(running: list[tuple[date, int]]) -> Chart:
    start, end = running[0][1], running[-1][1]
    return charts.day_line(
        "verified",
        "Members verified here, day by day",
        f"Members verified here now, counted from the day of their latest check, {_span(running)}:"
        f" {start} on the first day, {end} today.",
        running,
        value_header="Verified members",
    )


def _held_chart(per_day: list[tuple[date, int]]) -> Chart:
    busiest = max(per_day, key=lambda item: item[1])
    most = (
        f" The most in one day was {busiest[1]}, on {date_words(_at(busiest[0]))}."
        if busiest[1]
        else ""
    )
    total = sum(count for _, count in per_day)
    return charts.day_bars(
        "held",
        "Items held per day",
        f"Items members' filters held, per day, {_span(per_day)}: {total} in all.{most}",
        per_day,
        value_header="Items held",
    )


def _filter_chart(filters: dict[FilterLevel, int]) -> Chart:
    parts = ", ".join(f"{level.value} {count}" for level, count in filters.items())
    return charts.level_bars(
        "filters",
        "Filter levels members chose",
        f"Members who chose each filter level: {parts}.",
        [(level.value, count) for level, count in filters.items()],
        value_header="Members",
    )


def audit_line(entry: AuditRecord, now: datetime) -> str:
    """One audit entry as the `audit` command words it, with accounts as their ids (a page
    cannot show chat mentions as names)."""

    def who(account: str | None) -> str:
        return "the bot" if account is None else account  # a pseudonym reads as itself

    return audit_entry_words(entry, now, who)
