"""A local mail catcher: an SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it is sent.

The bot sends its e-mail codes here exactly as it would to a real mail server (the demo's config
names this host and port); nothing leaves the machine, and the demo reads the code from the
captured message as a person reads it in their inbox.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP

HOST = "127.0.0.1"
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class Captured:
    to: str
    subject: str
    text: str


@dataclass
class MailCatcher:
    """Every message delivered to it, in order; `port` is known once `start` returned."""

    host: str = HOST
    port: int = 0
    messages: list[Captured] = field(default_factory=list)
    on_message: Callable[[Captured], None] | None = None  # told of each message as it arrives
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="verifybot-demo", loop=loop), self.host, 0
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message, say it was delivered."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        captured = Captured(str(message["To"]), str(message["Subject"]), str(text))
        async with self._arrived:
            self.messages.append(captured)
            self._arrived.notify_all()
        if self.on_message is not None:
            self.on_message(captured)
        return "250 OK"

    async def next_to(self, address: str, *, after: int, within: float) -> Captured:
        """The first message to `address` among those from index `after` on, waiting for it."""

        def found() -> Captured | None:
            fresh = self.messages[after:]
            return next((m for m in fresh if m.to.lower() == address.lower()), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(found), within)
        message = found()
        assert message is not None
        return message


def code_in(message: Captured) -> str:
    """The 6-digit code a person reads in the message."""
    match = CODE.search(message.text)
    if match is None:
        raise LookupError(f"no 6-digit code in the message {message.subject!r}")
    return match.group(1)
