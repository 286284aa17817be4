"""Clocks a test can move: the core takes any `() -> datetime`, so answers falling due, reports
going overdue and retention running out are tested without waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class MovableClock:
    """Real time plus an offset the test moves forward (for a bot that also runs on real time)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class StoppedClock:
    """Time that stands still until the test sets or moves `now`."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now
