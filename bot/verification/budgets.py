"""The daily budgets of e-mail codes: how many may be sent, and tried, in 24 hours.

Each budget is held twice — by the account and by the address (its keyed hash) — and shared by
every check and every process, because storage counts them: a fresh check brings no fresh
allowance, so the bot cannot be used to mail one address over and over, nor to guess codes by
starting check after check.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final, Literal

from bot.model import MemberRef
from bot.storage.budgets import Holder
from bot.verification.context import CheckContext
from bot.verification.providers import VerificationFailed

log = logging.getLogger(__name__)

Budget = Literal["code_sends", "code_tries"]
WINDOW: Final = timedelta(days=1)


async def spend(ctx: CheckContext, kind: Budget, member: MemberRef, identity_hash: str) -> None:
    """One code sent, or tried, out of the daily allowance of the account and of the address;
    raises VerificationFailed (saying what to do) when either has none left."""
    assert ctx.email is not None
    settings = ctx.email.settings
    sends = kind == "code_sends"
    holders = [Holder(member.network, member.id), Holder("", identity_hash)]
    if await ctx.core.store.spend(
        kind,
        holders,
        limit=settings.daily_sends if sends else settings.daily_tries,
        window=WINDOW,
        now=ctx.now(),
    ):
        return
    log.info("a daily allowance of %s ran out", kind)
    if sends:
        raise VerificationFailed(
            "No more codes can be sent to this address, or for your account, today. Try"
            " again tomorrow, or choose another way to verify.",
            reason="daily_sends",
        )
    raise VerificationFailed(
        "Too many codes were tried for this address, or for your account, today, so this"
        " check has ended and nothing was stored. Try again tomorrow.",
        reason="daily_tries",
    )
