"""Which Discord shards this process runs, so several processes can share one bot account.

Discord sends each guild's events to exactly one shard, (guild_id >> 22) % shard_count, and
discord.py's AutoShardedClient opens one gateway connection per listed shard, so a process only
ever sees (and therefore only acts on) the guilds of its own shards. What must not collide
between processes that share one database is kept apart here: the catch-up marks are stored per
shard set, because each process reads back only its own channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.adapters.base import AdapterState
from bot.config import DiscordSettings

SHARDS_HELP = (
    "every process uses the same shard_count and lists its own shard_ids, each shard in exactly"
    " one process"
)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord routes a guild to."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class ShardPlan:
    """`count` shards in all; this process runs `ids`."""

    count: int
    ids: tuple[int, ...]

    @classmethod
    def of(cls, settings: DiscordSettings) -> ShardPlan | None:
        """None without shard_count: one plain connection gets every guild."""
        if settings.shard_count is None:
            return None
        ids = settings.shard_ids
        return cls(settings.shard_count, tuple(range(settings.shard_count) if ids is None else ids))

    @property
    def label(self) -> str:
        """'0,1 of 4': in logs and in the keys this process keeps apart from the others."""
        return f"{','.join(map(str, self.ids))} of {self.count}"

    def owns(self, guild_id: int) -> bool:
        return shard_of(guild_id, self.count) in self.ids


def shard_problems(settings: DiscordSettings) -> list[str]:
    """What discord.py would refuse or Discord would close the connection for (4010, 4011)."""
    count, ids = settings.shard_count, settings.shard_ids
    problems: list[str] = []
    if count is not None and count < 1:
        problems.append(
            f"discord.shard_count: {count} cannot be a number of shards; give 1 or more (the"
            f" total across all processes), or leave it out for one connection; {SHARDS_HELP}"
        )
        return problems
    if ids is None:
        return problems
    if count is None:
        return [
            "discord.shard_ids: needs discord.shard_count, the total number of shards across"
            f" all processes; add shard_count = N to [discord] ({SHARDS_HELP})"
        ]
    if not ids:
        problems.append(
            "discord.shard_ids: is empty; list the shards this process runs, e.g."
            " shard_ids = [0], or leave it out to run all of them"
        )
    outside = sorted({i for i in ids if not 0 <= i < count})
    if outside:
        problems.append(
            f"discord.shard_ids: {_listed(outside)} not between 0 and {count - 1}"
            f" (shard_count = {count}); shards are numbered from 0 to shard_count - 1"
        )
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        problems.append(
            f"discord.shard_ids: {_listed(twice)} listed more than once; give each shard once"
        )
    return problems


def _listed(values: Sequence[int]) -> str:
    shown = ", ".join(map(str, values[:5])) + (", …" if len(values) > 5 else "")
    return f"{shown} {'is' if len(values) == 1 else 'are'}"


class ShardState:
    """The adapter's durable state with keys of this shard set's own: two processes sharing one
    database must not overwrite each other's catch-up marks."""

    def __init__(self, state: AdapterState, plan: ShardPlan) -> None:
        self._state = state
        self._prefix = f"shards {plan.label}:"

    async def get(self, key: str) -> str | None:
        return await self._state.get(self._prefix + key)

    async def set(self, key: str, value: str) -> None:
        await self._state.set(self._prefix + key, value)
