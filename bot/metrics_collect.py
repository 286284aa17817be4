"""Figures other parts keep for themselves, turned into metrics when Prometheus scrapes.

The adapters count in plain dicts (`StatsSource.stats()`: cheap, and adapter tests read them)
and the read cache knows its own sizes; neither should know about Prometheus. This collector
reads them at scrape time and gives each figure a proper name, type and labels: the Discord
adapter's `http_429` is `verifybot_discord_http_errors_total{status="429"}`. Every known figure
of a network is shown, zero until it happens, so `rate()` works from the first scrape.

Label values come from the tables below, never from the figures' data: no account, room or
message id can reach a label. A figure nobody mapped yet still shows, under
`verifybot_adapter_figure{network, figure}`, if its name is a plain word (not an id).

The core's per-message figures (events by kind, decision and handler times) are kept the same
way, in `LocalHistogram`s and a dict of counts, and shown by `HotCollector`: prometheus_client
takes a lock per `inc` and three per `observe` (~1 µs a message in all); adding to plain ints on
the event loop's thread costs a tenth of that and loses nothing, so a scrape shows every message.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from bot.adapters.base import StatsSource


@dataclass(frozen=True, slots=True)
class Family:
    """One metric made of stats keys: `figures` maps each key to its label value ("" when the
    family has no label)."""

    name: str
    kind: Literal["counter", "gauge"]
    help: str
    figures: Mapping[str, str]
    label: str | None = None

    def build(self, stats: Mapping[str, float]) -> Metric:
        """The family with one sample per figure, zero for a figure not counted yet."""
        names = [self.label] if self.label else []
        family: CounterMetricFamily | GaugeMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.help, labels=names)
        else:
            family = GaugeMetricFamily(self.name, self.help, labels=names)
        for key, value in self.figures.items():
            family.add_metric([value] if self.label else [], float(stats.get(key, 0.0)))
        return family


def _one(name: str, kind: Literal["counter", "gauge"], help: str, key: str) -> Family:
    return Family(name, kind, help, {key: ""})


CACHE: Final = (
    Family(
        "verifybot_cache_entries",
        "gauge",
        "Members' facts the read cache holds now, by kind.",
        {"verifications": "verifications", "filters": "filters", "policies": "policies"},
        label="kind",
    ),
    Family(
        "verifybot_cache_lookups",
        "counter",
        "Read-cache lookups, by whether the fact was in memory (hit) or read from storage (miss).",
        {"hits": "hit", "misses": "miss"},
        label="result",
    ),
)

DISCORD: Final = (
    Family(
        "verifybot_discord_http_errors",
        "counter",
        "Discord API refusals (401, 403: an admin's to-do), rate limits (429) and outages (5xx),"
        " counted as they arrive, even when a retry then succeeded.",
        {"http_401": "401", "http_403": "403", "http_429": "429", "http_5xx": "5xx"},
        label="status",
    ),
    _one(
        "verifybot_discord_client_restarts",
        "counter",
        "Gateway clients restarted after they died.",
        "client_restarts",
    ),
    _one(
        "verifybot_discord_gateway_events_skipped",
        "counter",
        "Gateway events discord.py could not read, skipped with the session kept.",
        "bad_gateway_events",
    ),
    _one("verifybot_discord_events", "counter", "Events handed to the core.", "events"),
    _one(
        "verifybot_discord_handler_errors",
        "counter",
        "Discord events whose handling failed (logged; the bot carried on).",
        "handler_errors",
    ),
    _one(
        "verifybot_discord_catch_up_runs",
        "counter",
        "Read-backs of channels after a new gateway session.",
        "catch_up_runs",
    ),
    _one(
        "verifybot_discord_catch_up_messages",
        "counter",
        "Messages found and judged while reading channels back.",
        "catch_up_messages",
    ),
    Family(
        "verifybot_discord_catch_up_problems",
        "counter",
        "Channels that could not be read back in full: the read failed, the bot may not read"
        " the history, or more arrived than one read-back checks.",
        {
            "catch_up_failures": "failed",
            "catch_up_unreadable": "unreadable",
            "catch_up_truncated": "truncated",
        },
        label="problem",
    ),
    Family(
        "verifybot_discord_reply_authors",
        "counter",
        "How the author of a replied-to message was known: remembered, fetched, or not at all.",
        {
            "authors_from_memory": "memory",
            "authors_fetched": "fetched",
            "authors_unknown": "unknown",
        },
        label="source",
    ),
    _one(
        "verifybot_discord_author_fetch_timeouts",
        "counter",
        "Fetches of a replied-to message's author that took too long.",
        "author_fetch_timeouts",
    ),
    _one(
        "verifybot_discord_admin_notices",
        "counter",
        "Notices sent to a community's admins (repeats within minutes are not sent again).",
        "admin_notices",
    ),
    _one(
        "verifybot_discord_interactions_expired",
        "counter",
        "Answers Discord refused with 404 because the interaction was gone.",
        "interaction_404",
    ),
    _one(
        "verifybot_discord_answers_by_dm",
        "counter",
        "Command answers sent by direct message because the interaction had expired.",
        "answers_by_dm",
    ),
)

MATRIX: Final = (
    _one(
        "verifybot_matrix_queue_depth",
        "gauge",
        "Events waiting in the per-room queues now, all rooms together.",
        "queue_depth",
    ),
    _one("verifybot_matrix_queue_rooms", "gauge", "Rooms with a queue.", "queue_rooms"),
    _one(
        "verifybot_matrix_queue_deepest_room",
        "gauge",
        "Events waiting now in the fullest room's queue.",
        "queue_deepest_room",
    ),
    _one(
        "verifybot_matrix_queue_high_water",
        "gauge",
        "The most events one room has had waiting since start.",
        "queue_high_water",
    ),
    _one(
        "verifybot_matrix_queue_capacity",
        "gauge",
        "How many events one room's queue may hold before sync waits.",
        "queue_capacity",
    ),
    _one(
        "verifybot_matrix_queue_enqueued",
        "counter",
        "Events put on a room's queue.",
        "queue_enqueued",
    ),
    Family(
        "verifybot_matrix_queue_done",
        "counter",
        "Queued events finished: handled, failed (logged), or given up after too long.",
        {"queue_handled": "handled", "queue_failed": "failed", "queue_timed_out": "timed_out"},
        label="outcome",
    ),
    _one(
        "verifybot_matrix_queue_blocked_puts",
        "counter",
        "Times sync waited because a room's queue was full (back-pressure).",
        "queue_blocked_puts",
    ),
    _one(
        "verifybot_matrix_queue_blocked_seconds",
        "counter",
        "Seconds sync spent waiting for room queues with room.",
        "queue_blocked_seconds",
    ),
    _one(
        "verifybot_matrix_homeserver_unreachable",
        "counter",
        "Requests and syncs that found the homeserver away.",
        "homeserver_unreachable",
    ),
)

NETWORKS: Final[Mapping[str, tuple[Family, ...]]] = {"discord": DISCORD, "matrix": MATRIX}
# a figure's name fit to be a label value: a word, not an id (no long runs of digits)
_PLAIN = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DIGITS = re.compile(r"\d{5}")


@dataclass(eq=False)  # a registry keeps its collectors in a dict
class StatsCollector:
    """Reads the cache's and every adapter's figures when /metrics is scraped."""

    cache: Callable[[], Mapping[str, float]] | None = None
    adapters: Callable[[], Iterable[object]] = field(default=lambda: ())

    def collect(self) -> Iterator[Metric]:
        if self.cache is not None:
            stats = self.cache()
            yield from (family.build(stats) for family in CACHE)
        unmapped = GaugeMetricFamily(
            "verifybot_adapter_figure",
            "An adapter's figure with no metric of its own yet (see bot/metrics_collect.py).",
            labels=["network", "figure"],
        )
        for adapter in self.adapters():
            if not isinstance(adapter, StatsSource):
                continue
            network = str(getattr(adapter, "network", "unknown"))
            stats = adapter.stats()
            families = NETWORKS.get(network, ())
            yield from (family.build(stats) for family in families)
            known = {key for family in families for key in family.figures}
            for key in sorted(set(stats) - known):
                if _PLAIN.fullmatch(key) and not _DIGITS.search(key):
                    unmapped.add_metric([network, key], float(stats[key]))
        if unmapped.samples:
            yield unmapped


class LocalHistogram:
    """A histogram kept in plain numbers, for the hot path: one `observe` is a bisect and two
    additions, no lock. Only the event loop's thread observes (the core's handlers run there);
    `HotCollector` shows it exactly as prometheus_client's `Histogram` would (same `le`
    labels, cumulative buckets, `_count`, `_sum`)."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, buckets: Iterable[float]) -> None:
        self.bounds = tuple(sorted(b for b in map(float, buckets) if b != math.inf))
        self.counts = [0] * (len(self.bounds) + 1)  # the last is +Inf's own
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        # the first bound not below `amount`: Prometheus' buckets count `value <= le`
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount

    @property
    def count(self) -> int:
        return sum(self.counts)

    def buckets(self) -> list[tuple[str, float]]:
        """(le, cumulative count) from the smallest bound to +Inf."""
        found, total = [], 0
        for bound, counted in zip((*self.bounds, math.inf), self.counts, strict=True):
            total += counted
            found.append((floatToGoString(bound), float(total)))  # type: ignore[no-untyped-call]
        return found


@dataclass(frozen=True, slots=True)
class HotHistogram:
    """A histogram family whose children are `LocalHistogram`s, by the value of one label (or
    one child under "" when it has none)."""

    name: str
    help: str
    children: Mapping[str, LocalHistogram]
    label: str | None = None

    def build(self) -> Metric:
        names = [self.label] if self.label else []
        family = HistogramMetricFamily(self.name, self.help, labels=names)
        for value, histogram in self.children.items():
            family.add_metric([value] if self.label else [], histogram.buckets(), histogram.sum)
        return family


@dataclass(eq=False)  # a registry keeps its collectors in a dict
class HotCollector:
    """Shows the core's per-message figures at scrape time: counts kept in a dict by a key the
    hot path already has (an event's type), named by `name_of`, and `HotHistogram`s."""

    counter: str
    counter_help: str
    label: str
    counts: Mapping[type, int]
    name_of: Callable[[type], str]
    histograms: tuple[HotHistogram, ...] = ()

    def collect(self) -> Iterator[Metric]:
        counted = CounterMetricFamily(self.counter, self.counter_help, labels=[self.label])
        totals: dict[str, int] = {}
        for key, value in list(self.counts.items()):
            name = self.name_of(key)
            totals[name] = totals.get(name, 0) + value
        for name, value in totals.items():
            counted.add_metric([name], float(value))
        yield counted
        yield from (histogram.build() for histogram in self.histograms)
