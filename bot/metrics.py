"""What the bot counts and times about itself, for Prometheus at /metrics.

Each core has its own `CollectorRegistry`, not prometheus_client's global one: tests start many
cores in one process, and a core's /metrics shows its own figures only. Names follow Prometheus'
conventions (counters end in `_total`, times are seconds) and what varies is a label:
`verifybot_actions_total{kind="remove_message"}`.

Label values come from the code — an action's or event's type, a command's outcome, a page's
name — never from what people send: no account, room, channel or message id is ever a label, so
a scrape cannot follow anyone. A label value outside its known set is shown as "other".
The cache's and the adapters' own figures are read at scrape time (bot/metrics_collect.py).
"""

from __future__ import annotations

import functools
import re
import time
import typing
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Concatenate, Final, Literal, ParamSpec, Protocol, TypeVar

from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

from bot import actions, model
from bot.metrics_collect import HotCollector, HotHistogram, LocalHistogram, StatsCollector

CommandOutcome = Literal["ok", "unknown", "duplicate", "refused", "denied", "failed"]
CheckOutcome = Literal["started", "completed", "refused", "failed"]
HandlerKind = Literal["event", "command"]

COMMAND_OUTCOMES: Final = typing.get_args(CommandOutcome)
HANDLER_KINDS: Final = typing.get_args(HandlerKind)
CHECK_OUTCOMES: Final = typing.get_args(CheckOutcome)
CHECK_METHODS: Final = ("oidc", "email_code", "moderator")
# the routes of bot/web/verify.py, named for people (test_metrics checks none is missing)
PAGES: Final = (
    "link",
    "choose",
    "email_code",
    "email_code_submit",
    "email_code_resend",
    "oidc_callback",
)
# FormRejected's reasons (bot/web/pages.py): a foreign Origin, no cookie, a bad CSRF token
FORM_REASONS: Final = ("cross_site", "no_cookie", "form_expired")

# Seconds, for work measured in milliseconds: a decision takes well under one; a handler that
# waits for the network takes tens to hundreds.
DECISION_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip
HANDLER_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


# No `*_created` series beside each counter: they would double a scrape and nobody reads them
# (this is process-wide; the bot's registries are the only ones in its process).
disable_created_metrics()  # type: ignore[no-untyped-call]


def snake(type_: type) -> str:
    """A type's name as a label value: `RemoveMessage` -> `remove_message`."""
    return _snake(type_.__name__)


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _known(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else "other"


class _ByLabel:
    """A metric's children by the value of its one label, kept in a plain dict: the client's
    `labels()` takes a lock and costs a microsecond, too much on the hot path."""

    def __init__(self, metric: Counter, label: str, values: Iterable[str]) -> None:
        self._metric = metric
        self._label = label
        self._children: dict[str, Counter] = {value: self._labelled(value) for value in values}

    def __call__(self, value: str) -> Counter:
        child = self._children.get(value)
        if child is None:
            child = self._children[value] = self._labelled(value)
        return child

    def _labelled(self, value: str) -> Counter:
        return self._metric.labels(**{self._label: value})


class Metrics:
    """The core's counters and histograms. What every message touches (events, decision and
    handler times) is added to plain numbers, a few tenths of a microsecond a message, and
    shown at scrape time (`HotCollector`); the rest are prometheus_client's own."""

    def __init__(
        self,
        *,
        cache: Callable[[], Mapping[str, float]] | None = None,
        adapters: Callable[[], Iterable[object]] = lambda: (),
    ) -> None:
        self.registry = registry = CollectorRegistry()
        self._actions = Counter(
            "verifybot_actions", "Actions carried out, by kind.", ["kind"], registry=registry
        )
        self._action_failures = Counter(
            "verifybot_action_failures",
            "Actions that could not be carried out (logged), by kind.",
            ["kind"],
            registry=registry,
        )
        self._without_facts = Counter(
            "verifybot_decisions_allowed_without_facts",
            "Messages let through because a fact the decision needed was not knowable.",
            registry=registry,
        )
        self._commands = Counter(
            "verifybot_commands",
            "Commands, by outcome: ok, unknown name, duplicate delivery, refused (wrong place or"
            " the person's mistake, told why), denied (access), failed (our fault, logged).",
            ["outcome"],
            registry=registry,
        )
        self._handler_failures = Counter(
            "verifybot_handler_failures",
            "Listeners, replies and background work that failed (logged; the bot carried on).",
            registry=registry,
        )
        # the per-message figures, in plain numbers shown at scrape time (see HotCollector)
        self._event_counts: dict[type, int] = dict.fromkeys(typing.get_args(model.Event), 0)
        self._decision = LocalHistogram(DECISION_BUCKETS)
        self._handler_times = {kind: LocalHistogram(HANDLER_BUCKETS) for kind in HANDLER_KINDS}
        self._pages = Counter(
            "verifybot_web_pages",
            "Requests to the verification pages, by page.",
            ["page"],
            registry=registry,
        )
        self._forms_refused = Counter(
            "verifybot_web_forms_refused",
            "Form posts refused by the cross-site checks, by reason.",
            ["reason"],
            registry=registry,
        )
        self._checks = Counter(
            "verifybot_checks",
            "Identity checks by method: started, completed (stored), refused (it worked but"
            " nothing was stored: too low a level, revoked, identity at its limit), failed.",
            ["method", "outcome"],
            registry=registry,
        )
        # every kind shows from the start (at 0), so rate() works from the first scrape
        kinds = [
            snake(kind) for kind in typing.get_args(actions.Action) if kind is not actions.Allow
        ]
        self._action_of = _ByLabel(self._actions, "kind", kinds)
        self._failure_of = _ByLabel(self._action_failures, "kind", kinds)
        for outcome in COMMAND_OUTCOMES:
            self._commands.labels(outcome=outcome)
        for page in PAGES:
            self._pages.labels(page=page)
        for reason in FORM_REASONS:
            self._forms_refused.labels(reason=reason)
        for method in CHECK_METHODS:
            for check in CHECK_OUTCOMES:
                self._checks.labels(method=method, outcome=check)
        registry.register(
            HotCollector(
                "verifybot_events",
                "Events from the networks, by kind.",
                "kind",
                self._event_counts,
                snake,
                (
                    HotHistogram(
                        "verifybot_decision_seconds",
                        "Time to decide on one message or reaction, facts gathered included.",
                        {"": self._decision},
                    ),
                    HotHistogram(
                        "verifybot_handler_seconds",
                        "Time to handle one event or command, actions included.",
                        self._handler_times,
                        label="kind",
                    ),
                ),
            )
        )
        registry.register(StatsCollector(cache, adapters))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        registry.register(GC_COLLECTOR)

    # --- the core and the hot path ------------------------------------------------------------

    def action(self, action: object) -> None:
        self._action_of(snake(type(action))).inc()

    def action_failed(self, action: object) -> None:
        self._failure_of(snake(type(action))).inc()

    def allowed_without_facts(self) -> None:
        self._without_facts.inc()

    def event(self, event: object) -> None:
        counts, kind = self._event_counts, type(event)
        counts[kind] = counts.get(kind, 0) + 1

    def command(self, outcome: CommandOutcome) -> None:
        self._commands.labels(outcome=outcome).inc()

    def handler_failed(self) -> None:
        self._handler_failures.inc()

    def time_decision(self, seconds: float) -> None:
        self._decision.observe(seconds)

    def time_handler(self, kind: HandlerKind, seconds: float) -> None:
        self._handler_times[kind].observe(seconds)

    # --- the verification pages and checks ----------------------------------------------------

    def web_page(self, page: str) -> None:
        self._pages.labels(page=_known(page, PAGES)).inc()

    def form_refused(self, reason: str) -> None:
        self._forms_refused.labels(reason=_known(reason, FORM_REASONS)).inc()

    def check(self, method: str | None, outcome: CheckOutcome) -> None:
        self._checks.labels(method=_known(method or "", CHECK_METHODS), outcome=outcome).inc()

    # --- reading ------------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)

    def value(self, sample: str, **labels: str) -> float:
        """The sum of the samples named `sample` whose labels include `labels` (0 if none):
        `value("verifybot_actions_total", kind="withhold")`, or without labels for all kinds.
        For tests and checks; collects everything, so not for the hot path."""
        return sum(
            found.value
            for family in self.registry.collect()
            for found in family.samples
            if found.name == sample and labels.items() <= found.labels.items()
        )


class _HasMetrics(Protocol):
    metrics: Metrics


S = TypeVar("S", bound=_HasMetrics)
P = ParamSpec("P")
R = TypeVar("R")
Handler = Callable[Concatenate[S, P], Coroutine[Any, Any, R]]


def timed(kind: HandlerKind) -> Callable[[Handler[S, P, R]], Handler[S, P, R]]:
    """Times a handler method into `verifybot_handler_seconds{kind}`, failures included."""

    def wrap(handler: Handler[S, P, R]) -> Handler[S, P, R]:
        @functools.wraps(handler)
        async def measured(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return await handler(self, *args, **kwargs)
            finally:
                self.metrics.time_handler(kind, time.perf_counter() - started)

        return measured

    return wrap
