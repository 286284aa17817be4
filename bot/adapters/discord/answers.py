"""Answering a slash command once: in place while Discord allows it, by direct message after.

An interaction is answered through its token: the first part as the interaction's response
(within 3 s, or after a deferral), the next parts as follow-ups, for 15 minutes. Only when the
interaction really expired — Discord answers Unknown Interaction (10062) to the response or
Invalid Webhook Token (401, 50027) to a follow-up, or the 15 minutes are over — do the parts not
yet delivered go by direct message, so the member reads each part once. Any other refusal (a 404
such as Unknown Webhook, 10015, while the token is still valid) is logged and counted and not
sent again another way.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord.failures import failure_text

log = logging.getLogger(__name__)

FOLLOWUP_WINDOW = 15 * 60.0  # seconds an interaction's token takes follow-ups
UNKNOWN_INTERACTION = 10062
INVALID_WEBHOOK_TOKEN = 50027
MESSAGE_LIMIT = 2000
DESCRIPTION_LIMIT = 100  # Discord's limit for command and option descriptions
NO_PINGS = discord.AllowedMentions.none()

SendParts = Callable[[Sequence[str]], Awaitable[None]]
COMPONENT_PREFIX = "verifybot"  # custom ids of the bot's buttons, selects and forms start so


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that goes with the last part of an answer (a member's copy of their data)."""

    filename: str
    data: bytes

    def file(self) -> discord.File:
        """A fresh `discord.File` each time: one is read once, and a retry by DM needs another."""
        return discord.File(io.BytesIO(self.data), filename=self.filename)


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """One line of at most `limit` characters (descriptions, labels, titles)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def data_of(interaction: discord.Interaction) -> dict[str, Any]:
    """The interaction's raw `data` (custom id, chosen values, a form's fields), or nothing."""
    return cast(dict[str, Any], interaction.data or {})


def chunks(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at line breaks into Discord-sized messages (a long /held list, for instance)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    parts.append(current)
    return [p for p in parts if p] or [""]


class AnswerLocks:
    """One lock per interaction being handled, so a deferral and the answer never cross."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def open(self, interaction_id: int) -> asyncio.Lock:
        return self._locks.setdefault(interaction_id, asyncio.Lock())

    def close(self, interaction_id: int) -> None:
        self._locks.pop(interaction_id, None)

    def of(self, interaction_id: int) -> asyncio.Lock:
        """The interaction's lock while its command is handled; a fresh one after."""
        return self._locks.get(interaction_id) or asyncio.Lock()


class _WindowPassed(Exception):
    """The follow-up window is over: a request would only be refused."""


def expired(exc: discord.HTTPException) -> bool:
    """Discord's word that the interaction's time is up (not any 404)."""
    return exc.code == UNKNOWN_INTERACTION or (
        exc.status == 401 and exc.code == INVALID_WEBHOOK_TOKEN
    )


def window_passed(interaction: discord.Interaction) -> bool:
    age = discord.utils.utcnow() - interaction.created_at
    return age.total_seconds() >= FOLLOWUP_WINDOW


async def answer(
    interaction: discord.Interaction,
    parts: Sequence[str],
    *,
    private: bool,
    lock: asyncio.Lock,
    by_direct_message: SendParts,
    metrics: MutableMapping[str, int],
    attachment: Attachment | None = None,
) -> None:
    """Send `parts` in order (`attachment` with the last); what an expired interaction could not
    carry goes by DM (`by_direct_message` attaches the file to the last part it sends)."""
    delivered = 0
    try:
        async with lock:  # not while the deferral is being sent
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                await _send(interaction, part, private, attachment if last else None)
                delivered += 1
        return  # every part went in place
    except _WindowPassed:
        pass
    except discord.HTTPException as exc:
        if not expired(exc):
            if exc.status == 404:
                metrics["interaction_404"] += 1
                log.warning(
                    "Discord answered 404 (code %s) to an answer to /%s; %d of %d part(s)"
                    " delivered, the rest not sent again",
                    exc.code,
                    _name(interaction),
                    delivered,
                    len(parts),
                )
            raise AdapterError(failure_text(exc, "answer the command")) from exc
    metrics["answers_by_dm"] += 1
    log.info("/%s expired before its answer; the rest goes by direct message", _name(interaction))
    await by_direct_message(parts[delivered:])


async def _send(
    interaction: discord.Interaction, part: str, private: bool, attachment: Attachment | None
) -> None:
    file = attachment.file() if attachment is not None else discord.utils.MISSING
    if not interaction.response.is_done():
        await interaction.response.send_message(
            part, ephemeral=private, allowed_mentions=NO_PINGS, file=file
        )
        return
    if window_passed(interaction):
        raise _WindowPassed
    await interaction.followup.send(part, ephemeral=private, allowed_mentions=NO_PINGS, file=file)


async def defer_later(interaction: discord.Interaction, lock: asyncio.Lock, after: float) -> None:
    """Tell Discord "thinking…" if no answer is on its way after `after` seconds (it drops an
    interaction left unanswered for 3 s); an interaction that already expired is left alone."""
    await asyncio.sleep(after)
    async with lock:
        if interaction.response.is_done():
            return
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as exc:
            log.info("could not defer /%s (HTTP %s)", _name(interaction), exc.status)


def _name(interaction: discord.Interaction) -> str:
    """The command's name for log lines: a slash command's, or the one a button or form of the
    bot's runs (only the name: the rest of a custom id may hold ids)."""
    command = interaction.command
    if command is not None:
        return command.name
    custom_id = data_of(interaction).get("custom_id")
    if not isinstance(custom_id, str) or not custom_id.startswith(COMPONENT_PREFIX):
        return "?"
    if custom_id.startswith(f"{COMPONENT_PREFIX}:"):  # a button: verifybot:<command> <words>
        return custom_id.removeprefix(f"{COMPONENT_PREFIX}:").split(" ", 1)[0] or "?"
    return custom_id.partition(":")[2].split(":", 1)[0] or "?"  # verifybot/form:<command>:…
