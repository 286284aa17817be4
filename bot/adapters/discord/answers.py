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
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence

import discord

from bot.adapters.base import AdapterError
from bot.adapters.discord.failures import failure_text

log = logging.getLogger(__name__)

FOLLOWUP_WINDOW = 15 * 60.0  # seconds an interaction's token takes follow-ups
UNKNOWN_INTERACTION = 10062
INVALID_WEBHOOK_TOKEN = 50027
MESSAGE_LIMIT = 2000
NO_PINGS = discord.AllowedMentions.none()

SendParts = Callable[[Sequence[str]], Awaitable[None]]


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
) -> None:
    """Send `parts` in order; what an expired interaction could not carry goes by DM."""
    delivered = 0
    try:
        async with lock:  # not while the deferral is being sent
            for part in parts:
                await _send(interaction, part, private)
                delivered += 1
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


async def _send(interaction: discord.Interaction, part: str, private: bool) -> None:
    if not interaction.response.is_done():
        await interaction.response.send_message(part, ephemeral=private, allowed_mentions=NO_PINGS)
        return
    if window_passed(interaction):
        raise _WindowPassed
    await interaction.followup.send(part, ephemeral=private, allowed_mentions=NO_PINGS)


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
    command = interaction.command
    return command.name if command is not None else "?"
