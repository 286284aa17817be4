"""Log output for `verifybot run`: what the bot did at INFO, what libraries do at DEBUG.

At INFO an admin reads the bot's own account (started, connected, verified, stopped); matrix-nio's
per-response lines, Alembic's migration context, aiohttp's access log and discord.py's gateway
chatter would drown it, so those libraries speak only from WARNING up unless the level is DEBUG.
`json_lines = true` writes one JSON object per line (time, level, logger, message) for shippers.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from bot.config import LoggingSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose INFO lines describe their own workings, not what the bot did.
CHATTY_LIBRARIES = (
    "aiohttp.access",
    "aiosmtplib",
    "aiosqlite",
    "alembic",
    "asyncpg",
    "discord",
    "nio",
    "peewee",
    "sqlalchemy",
)


def _not_about_voice(record: logging.LogRecord) -> bool:
    """discord.py warns at every start that voice is unsupported; the bot never uses voice."""
    return "voice will NOT be supported" not in record.getMessage()


class JsonLines(logging.Formatter):
    """One JSON object per record; a traceback, if any, goes in `exception` on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now (tests swap it), not what it was at set-up."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(settings: LoggingSettings) -> Callable[[], None]:
    """Send the log to stderr as configured; returns what undoes it (for in-process callers)."""
    handler = _Stderr()
    handler.setFormatter(JsonLines() if settings.json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in CHATTY_LIBRARIES)]
    before = [logger.level for logger in loggers]
    root.addHandler(handler)
    root.setLevel(settings.level)
    level = logging.getLevelName(settings.level)
    quiet = logging.NOTSET if level <= logging.DEBUG else max(level, logging.WARNING)
    for logger in loggers[1:]:
        logger.setLevel(quiet)
    discord_client = logging.getLogger("discord.client")
    if quiet:
        discord_client.addFilter(_not_about_voice)

    def undo() -> None:
        root.removeHandler(handler)
        discord_client.removeFilter(_not_about_voice)
        for logger, old in zip(loggers, before, strict=True):
            logger.setLevel(old)

    return undo
