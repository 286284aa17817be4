"""Judging an event before the homeserver stores it, for synapse-http-antispam.

A community that runs its own Synapse can load `synapse_http_antispam.HTTPAntispam` and point it
at the bot's web service (bot/web/antispam.py). Synapse then asks, for every event a local
account sends and every event arriving over federation, whether to take it. The question comes
here: the event is read as sync would read it (`InboundReader.read_before_delivery`) and the core
judges it exactly as it judges one from sync — same cache, same `policy.decide`, same actions.
Only the removal differs: an event that would be removed has not been stored, so `refuse` notes
a refusal instead of redacting, and the answer to Synapse says why. A held item is written by
the normal action order (holds committed, then the removal), so it is durable before the
refusal is sent; the sender notice (with its cooldown) follows as usual.

Every event judged here is remembered (`JudgedEvents`): when an allowed one then arrives in sync
it is not judged again (no second count in a `limited` window, no second notice). An answer not
ready within the budget allows the event; the judging carries on, and a removal it decides is
then carried out the usual way, by redaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.adapters.matrix.connection import JsonDict
from bot.adapters.matrix.work import IncomingMessage, IncomingReaction

log = logging.getLogger(__name__)

JUDGED_KEPT = 20_000  # event ids: far more than arrive between a judgement and its sync
# the module pings at Synapse's start (then every 5 s until answered) and asks about every event
# sent, the bot's own notices included: two minutes of silence means it is not asking us
SILENCE_SECONDS = 120.0


class JudgedEvents:
    """Event ids, the most recent `size` of them: those judged before delivery (and, kept
    apart, those refused)."""

    def __init__(self, size: int = JUDGED_KEPT) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


@dataclass(slots=True)
class _Verdict:
    refusal: str | None = None  # the removal's reason, once the core decided to remove it
    answered: bool = False  # the homeserver has had its answer: a removal now redacts


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event is not taken: the removal's reason, as the policy worded it."""

    reason: str


Judge = Callable[[IncomingMessage | IncomingReaction], Awaitable[None]]
Read = Callable[[JsonDict], IncomingMessage | IncomingReaction | None]


class BeforeDelivery:
    """Events the homeserver asks about, judged by the core before they are stored."""

    def __init__(self, read: Read, judge: Judge, judged: JudgedEvents) -> None:
        self._read = read
        self._judge = judge
        self.judged = judged
        self.refusals = JudgedEvents()  # event ids refused here: never delivered
        self._pending: dict[str, _Verdict] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.started_at = time.monotonic()
        self.heard_at: float | None = None  # the homeserver's module last pinged or asked
        self.asked = 0
        self.refused = 0
        self.late = 0  # answers that missed the budget (the event was allowed)
        self.failed = 0  # judgements that failed (the event was allowed)

    def heard(self) -> None:
        """The homeserver's module pinged or asked something (its secret was right)."""
        self.heard_at = time.monotonic()

    def silent(self, after: float = SILENCE_SECONDS) -> bool:
        """Configured, but nothing heard from the homeserver in `after` seconds since start:
        its module is not loaded, or points elsewhere, or has another secret."""
        return self.heard_at is None and time.monotonic() - self.started_at >= after

    async def ask(self, event: JsonDict, budget: float) -> Refusal | None:
        """None: let the homeserver store the event; else why not."""
        item = self._read(event)
        if item is None:
            return None
        self.asked += 1
        event_id = str(event["event_id"])
        verdict = self._pending[event_id] = _Verdict()
        self.judged.add(event_id)
        task = asyncio.ensure_future(self._judge(item))
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        try:
            await asyncio.wait_for(asyncio.shield(task), budget)
        except TimeoutError:
            self.late += 1
            log.warning(
                "no answer for the homeserver within %.0f ms; the event is delivered and judged"
                " after the fact",
                budget * 1000,
            )
        except Exception:  # logged by `_finished`; the event goes the after-the-fact way
            self.failed += 1
        finally:
            verdict.answered = True
            self._pending.pop(event_id, None)
        if verdict.refusal is None:
            return None
        self.refused += 1
        return Refusal(verdict.refusal)

    def refuse(self, event_id: str, reason: str) -> bool:
        """The core removes an event: True when it is one being asked about (not stored, so
        nothing to redact: the answer refuses it), False when it must be redacted."""
        verdict = self._pending.get(event_id)
        if verdict is None or verdict.answered:
            return False
        verdict.refusal = reason
        self.refusals.add(event_id)
        return True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("judging an event before delivery failed", exc_info=task.exception())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
