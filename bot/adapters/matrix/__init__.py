"""The Matrix adapter (matrix-nio): text commands, power-level badges, redactions, stored sync.

`MatrixAdapter` is the entry point; the modules beside it hold the parts that are easier to read
and test alone: room state (`rooms`), content rules (`translate`), community membership
(`communities`), the per-room queues (`queue`) and what admins are told (`notices`).
"""

from bot.adapters.matrix.adapter import MatrixAdapter, ReplyHandle
from bot.adapters.matrix.queue import QueueStats

__all__ = ["MatrixAdapter", "QueueStats", "ReplyHandle"]
