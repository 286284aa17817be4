"""An e-mail code, as a check: send a code, take it back, resend on request.

The check's row (hashed code, attempt count, sends) is stored before the mail goes out, and an
attempt is counted durably before the code is compared, so neither a crash nor two tabs give a
guesser extra tries. Every send and every try also spends from the daily budgets (budgets.py).
The address itself is never kept: a resend asks for it again.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

from bot.model import CommunityRef, MemberRef
from bot.storage.records import PendingRecord
from bot.verification import budgets
from bot.verification.context import CheckContext, browser_tag, row_id
from bot.verification.identity import same
from bot.verification.links import LinkClaims
from bot.verification.outcome import Outcome
from bot.verification.providers import VerificationFailed
from bot.verification.providers.email_code import CodeState, EmailCodeMethod, parse_address
from bot.verification.views import CodeSent, Result, StaleCheck

EMAIL_CHECK_TTL: Final = timedelta(hours=1)


class EmailCheck:
    """Codes sent, tried and sent again for one check at a time."""

    def __init__(self, ctx: CheckContext, outcome: Outcome) -> None:
        self.ctx = ctx
        self.outcome = outcome
        self._resend_lock = asyncio.Lock()  # read-modify-write of the send counter

    def _method(self) -> EmailCodeMethod:
        assert self.ctx.email is not None  # only offered, and only reachable, when configured
        return self.ctx.email

    async def admit(self, member: MemberRef, address: str) -> None:
        """Refuse an address of another domain, or one out of today's sends, before the link
        is used up: a typo costs nothing."""
        identity = self._method().identity_of(address)  # domain and form, first
        await budgets.spend(self.ctx, "code_sends", member, identity)

    async def start(self, claims: LinkClaims, browser: str, address: str) -> CodeSent:
        """Store the check, then mail its first code. A failed send still leaves the check,
        so its page can offer to send again."""
        ctx, method = self.ctx, self._method()
        check_id = secrets.token_urlsafe(32)
        rid = row_id("email", check_id)
        code, code_state = method.prepare(rid, address)
        state = {"browser": browser_tag(browser), "code": code_state.to_json()}
        await ctx.core.store.create_pending(
            ctx.pending("email", check_id, claims, "email_code", state, EMAIL_CHECK_TTL)
        )
        try:
            await self._deliver(rid, state, address, code, claims.community)
        except VerificationFailed as exc:  # the check exists: offer to send again from its page
            return CodeSent(check_id, str(exc), problem=True, reason=exc.reason)
        return CodeSent(check_id, self._sent_message(address))

    def _sent_message(self, address: str) -> str:
        """Where the code went, as the person typed it (the address is not kept)."""
        minutes = self._method().settings.code_ttl_minutes
        return (
            f"A 6-digit code is on its way to {parse_address(address).mail_to}. Enter it"
            " below within"
            f" {minutes} minutes."
        )

    async def _deliver(
        self, rid: str, state: dict[str, Any], address: str, code: str, community: CommunityRef
    ) -> None:
        """Mail the code; if that fails, the stored check learns the code never went out."""
        method = self._method()
        try:
            await method.deliver(address, code, self.ctx.community_name(community))
        except VerificationFailed:
            unsent = method.unsent(CodeState.from_json(state["code"]))
            await self.ctx.core.store.update_pending(rid, state={**state, "code": unsent.to_json()})
            raise

    async def submit_code(self, check_id: str, code: str, *, browser: str) -> Result | CodeSent:
        """Check a code. The attempt is counted (durably) before the comparison."""
        ctx, method = self.ctx, self._method()
        store = ctx.core.store
        rid = row_id("email", check_id)
        record = await self._open_check(rid, browser)
        stored = CodeState.from_json(record.state["code"])
        try:
            await budgets.spend(ctx, "code_tries", record.member, stored.identity_hash)
        except VerificationFailed as exc:  # tried too often today: the check ends
            await store.consume_pending(rid, ctx.now())
            return await ctx.failed(record, exc)
        attempts = await store.count_attempt(rid, ctx.now())
        if attempts is None:
            raise StaleCheck(f"e-mail check {rid[:12]} closed while a code was submitted")
        counted = replace(stored, attempts=attempts)
        try:
            proof = method.check(rid, counted, code)
        except VerificationFailed as exc:
            if exc.reason != "locked":
                return CodeSent(check_id, str(exc), problem=True, reason=exc.reason)
            await store.consume_pending(rid, ctx.now())
            return await ctx.failed(record, exc)
        record = await ctx.take(rid, browser, "email_code")
        return await self.outcome.complete(record.member, ctx.origin(record), proof)

    async def resend_code(self, check_id: str, address: str, *, browser: str) -> CodeSent:
        """Send a new code. The address is asked for again because it was never kept."""
        ctx, method = self.ctx, self._method()
        rid = row_id("email", check_id)
        async with self._resend_lock:
            record = await self._open_check(rid, browser)
            previous = CodeState.from_json(record.state["code"])
            code, fresh = method.prepare(rid, address, previous)
            await budgets.spend(ctx, "code_sends", record.member, fresh.identity_hash)
            state = {**record.state, "code": fresh.to_json()}
            await ctx.core.store.update_pending(rid, state=state)
        await self._deliver(rid, state, address, code, ctx.origin(record))
        return CodeSent(check_id, self._sent_message(address))

    async def code_page_open(self, check_id: str, browser: str) -> bool:
        """Whether the code page may show: an open check, started in this browser."""
        try:
            await self._open_check(row_id("email", check_id), browser)
        except StaleCheck:
            return False
        return True

    async def _open_check(self, rid: str, browser: str) -> PendingRecord:
        """The open check, without using it up; refused if it was started in another browser."""
        record = await self.ctx.core.store.get_pending(rid)
        if (
            record is None
            or record.method != "email_code"
            or record.used_at is not None
            or record.expires_at <= self.ctx.now()
            or not same(str(record.state.get("browser", "")), browser_tag(browser))
        ):
            raise StaleCheck(f"no open e-mail check {rid[:12]} for this browser")
        return record
