"""Counters and timings the bot keeps about itself, exposed on /metrics."""

from __future__ import annotations

from collections import defaultdict


class Metrics:
    """Cheap enough for the hot path: a dict increment, a list append."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = defaultdict(int)
        self.decision_seconds: list[float] = []

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def time_decision(self, seconds: float) -> None:
        if len(self.decision_seconds) >= 10_000:
            del self.decision_seconds[:5_000]
        self.decision_seconds.append(seconds)
