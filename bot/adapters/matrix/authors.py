"""Who wrote which event: what filters need to know whom a reply or a reaction touches, and what
a command sent as a reply points at.

Every event sync delivers is remembered (a bounded, oldest-first memory), so the author of a
recent message is known without a request; an older one is fetched once from the homeserver.
A command that points at a message (`!report` as a reply) needs that message's text too, which
is not remembered (it may have been edited or redacted since): one fetch, the same request the
author lookup makes, gives both.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from bot.adapters.matrix import translate as tr
from bot.adapters.matrix.connection import ClientSource, error_text, is_error, raw_event

log = logging.getLogger(__name__)

REMEMBERED_EVENTS = 20_000
# refusals that mean the event is not there for the bot: never was, or no longer visible
_OUT_OF_SIGHT = frozenset({"M_NOT_FOUND", "M_FORBIDDEN"})


@dataclass(frozen=True, slots=True)
class Replied:
    """What the bot can see of a replied-to event. `sender`: its author, as far as known (a
    redacted event keeps its sender); `text`: the start of what it says now; `gone`: redacted,
    or out of the bot's sight, so neither its author nor its text may be shown as current."""

    sender: str | None
    text: str | None
    gone: bool


class Authors:
    def __init__(self, client: ClientSource) -> None:
        self._client = client
        self._known: OrderedDict[str, str] = OrderedDict()  # event id -> sender

    def remember(self, event_id: str, sender: str) -> None:
        self._known[event_id] = sender
        if len(self._known) > REMEMBERED_EVENTS:
            self._known.popitem(last=False)

    def known(self, event_id: str) -> str | None:
        """The sender, if remembered: what `of` answers without a request."""
        return self._known.get(event_id)

    async def of(self, room_id: str, event_id: str) -> str | None:
        """The event's sender; None if the bot cannot see the event (deleted, no access)."""
        known = self._known.get(event_id)
        if known is not None:
            return known
        return (await self.seen(room_id, event_id)).sender

    async def seen(self, room_id: str, event_id: str) -> Replied:
        """The event as the homeserver shows it now: author, text, whether it is gone. A failed
        request that does not say the event is gone leaves the author to memory."""
        answer = await self._client().room_get_event(room_id, event_id)
        if is_error(answer):
            log.info("cannot see event %s in %s: %s", event_id, room_id, error_text(answer))
            gone = getattr(answer, "status_code", None) in _OUT_OF_SIGHT
            return Replied(None if gone else self._known.get(event_id), None, gone)
        event = raw_event(answer.event)
        sender = event.get("sender")
        if not isinstance(sender, str):
            return Replied(self._known.get(event_id), None, False)
        self.remember(event_id, sender)
        return Replied(sender, tr.shown_text(event), tr.is_redacted(event))
