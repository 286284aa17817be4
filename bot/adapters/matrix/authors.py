"""Who wrote which event: what filters need to know whom a reply or a reaction touches.

Every event sync delivers is remembered (a bounded, oldest-first memory), so the author of a
recent message is known without a request; an older one is fetched once from the homeserver.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from bot.adapters.matrix.connection import ClientSource, error_text, is_error, raw_event

log = logging.getLogger(__name__)

REMEMBERED_EVENTS = 20_000


class Authors:
    def __init__(self, client: ClientSource) -> None:
        self._client = client
        self._known: OrderedDict[str, str] = OrderedDict()  # event id -> sender

    def remember(self, event_id: str, sender: str) -> None:
        self._known[event_id] = sender
        if len(self._known) > REMEMBERED_EVENTS:
            self._known.popitem(last=False)

    async def of(self, room_id: str, event_id: str) -> str | None:
        """The event's sender; None if the bot cannot see the event (deleted, no access)."""
        known = self._known.get(event_id)
        if known is not None:
            return known
        answer = await self._client().room_get_event(room_id, event_id)
        if is_error(answer):
            log.info("cannot see event %s in %s: %s", event_id, room_id, error_text(answer))
            return None
        sender = raw_event(answer.event).get("sender")
        if isinstance(sender, str):
            self.remember(event_id, sender)
            return sender
        return None
