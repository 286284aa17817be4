"""The demo's transcript: who said what, what the bot did, and when, in lines a person reads.

Every line starts with the seconds since the demo began. People's words are quoted as typed, the
bot's answers as their clients show them, and the bot's own account of what it did comes from its
log (which, by the house rules, names places and reasons, never people), with room ids replaced by
the rooms' names so a reader can follow.
"""

from __future__ import annotations

import logging
import re
import sys
import textwrap
import time
from typing import TextIO

WIDTH = 100
BODY_LINES = 12  # the first lines of a long answer tell the story; the rest is cut with "…"


class Transcript:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.began = time.monotonic()
        self.names: dict[str, str] = {}  # room id -> "#general", for readable lines

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def readable(self, text: str) -> str:
        """Room ids as the rooms' names, except inside links (which must keep working)."""
        for room_id, name in self.names.items():
            text = re.sub(rf"(?<![/\w]){re.escape(room_id)}", name, text)
        return text

    def line(self, text: str, *, indent: str = "") -> None:
        stamp = f"[{self.elapsed():6.1f}s] "
        lines = self.readable(text).splitlines() or [""]
        shown = lines[:BODY_LINES] + (["…"] if len(lines) > BODY_LINES else [])
        wrapped: list[str] = []
        for line in shown:
            # a link is never broken: it has to work when copied
            width = WIDTH - len(stamp) - len(indent) - 4
            wrapped += textwrap.wrap(
                line, width, break_long_words=False, break_on_hyphens=False
            ) or [""]
        first, *rest = wrapped
        pad = " " * len(stamp) + indent + "    "
        self.out.write(stamp + indent + first + "\n" + "".join(f"{pad}{r}\n" for r in rest))
        self.out.flush()

    def heading(self, title: str) -> None:
        self.out.write(f"\n── {title} " + "─" * max(3, WIDTH - len(title) - 4) + "\n")
        self.out.flush()

    def said(self, who: str, where: str, text: str) -> None:
        """A person's message, as they typed it."""
        self.line(f"{who} in {where}: {text}")

    def bot(self, to: str, text: str) -> None:
        """A message from the bot, as the reader's client shows it."""
        self.line(f"verifybot → {to}: {text}", indent="  ")

    def saw(self, text: str) -> None:
        """Something a person's client (or browser, or inbox) shows happened."""
        self.line(f"✓ {text}", indent="  ")

    def note(self, text: str) -> None:
        """What the demo itself does or explains."""
        self.line(text)

    def plain(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()


class BotActivity(logging.Handler):
    """The bot's log as transcript lines ("bot log: held a message …"): what the core, the cogs
    and the web service did at INFO; the adapters' housekeeping only from WARNING up."""

    OWN = ("bot", "cogs", "verifybot")
    HOUSEKEEPING = "bot.adapters."

    def __init__(self, transcript: Transcript) -> None:
        super().__init__(logging.INFO)
        self.transcript = transcript

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".", 1)[0] not in self.OWN:
            return
        if record.name.startswith(self.HOUSEKEEPING) and record.levelno < logging.WARNING:
            return
        try:
            level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
            self.transcript.line(f"· bot log: {level}{record.getMessage()}", indent="  ")
        except Exception:
            self.handleError(record)
