"""The Matrix adapter (matrix-nio): text commands, power-level badges, redactions, stored sync.

`MatrixAdapter` (adapter.py) is the entry point and wires the modules beside it, each named for its
job; its docstring maps them. `ReplyHandle` is what a Matrix command carries to be answered where
it was typed; `QueueStats` the back-pressure figures of the per-room queues.
"""

from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.commands import ReplyHandle
from bot.adapters.matrix.queue import QueueStats

__all__ = ["MatrixAdapter", "QueueStats", "ReplyHandle"]
