"""E-mail domain code: prove that you receive mail at an address of an allowed domain.

A 6-digit code goes out by SMTP. Guessing is bounded: the code expires, each check allows a few
attempts in total (resending does not reset them), resends have a cooldown and a cap. The address
itself is never kept: the check holds only a keyed hash of the normalised address (which is also
the identity), and a keyed hash of the code bound to the check.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from email.message import EmailMessage
from typing import Any, Final

import aiosmtplib

from bot.config import EmailCodeSettings
from bot.verification.identity import EMAIL_ISSUER, ServerKey, same
from bot.verification.providers import Proof, VerificationFailed

log = logging.getLogger(__name__)

METHOD: Final = "email_code"
CODE_DIGITS: Final = 6
_SMTP_TIMEOUT = 15.0
# Letters, digits and the punctuation real addresses use; no spaces, quotes or control characters
# (which could smuggle headers into the message).
# Both are used with fullmatch: `$` would also match before a final line feed.
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*/=?^_`{|}~.+-]{1,64}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})+")


@dataclass(frozen=True, slots=True)
class Address:
    """An address read once: what is mailed (`mail_to`) is exactly what was checked, and
    `identity` is the form that stands for the mailbox (lower case, no `+tag`)."""

    mail_to: str
    identity: str
    domain: str


def parse_address(address: str) -> Address:
    """Read what a person typed; raises VerificationFailed for anything not an address.

    Only ASCII is accepted (a Unicode look-alike such as the Kelvin sign lower-cases to a plain
    "k", which would be checked as one address and mailed as another). The domain loses a
    trailing dot and the case of letters; the local part is mailed as typed. For the identity a
    `+tag` is dropped, because mail for `ann+1@` and `ann+2@` reaches one mailbox, and one
    mailbox must not count as several people.
    """
    text = address.strip()
    local, at, domain = text.rpartition("@")
    domain = domain.lower().rstrip(".")
    folded = local.lower()
    if (
        not text.isascii()
        or not at
        or not _LOCAL_PART.fullmatch(folded)
        or ".." in folded
        or folded.startswith(".")
        or folded.endswith(".")
        or not _DOMAIN.fullmatch(domain)
    ):
        raise VerificationFailed(
            "That does not look like an e-mail address. Check it and try again.",
            reason="address",
        )
    mailbox = folded.split("+", 1)[0] or folded
    return Address(f"{local}@{domain}", f"{mailbox}@{domain}", domain)


def normalise_address(address: str) -> tuple[str, str]:
    """(the identity form of the address, its domain); see `parse_address`."""
    parsed = parse_address(address)
    return parsed.identity, parsed.domain


@dataclass(frozen=True, slots=True)
class CodeState:
    """What a pending e-mail check keeps (JSON-able): hashes, counters and times only."""

    identity_hash: str
    code_hash: str
    code_expires_at: float
    sent_at: float | None  # None until the mail was accepted by the SMTP server
    sends: int
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CodeState:
        return cls(
            identity_hash=str(data["identity_hash"]),
            code_hash=str(data["code_hash"]),
            code_expires_at=float(data["code_expires_at"]),
            sent_at=None if data.get("sent_at") is None else float(data["sent_at"]),
            sends=int(data["sends"]),
            attempts=int(data.get("attempts", 0)),
        )


class EmailCodeMethod:
    """Codes by mail. Pure apart from `deliver`; the service stores `CodeState` between steps."""

    name: Final = METHOD

    def __init__(
        self,
        settings: EmailCodeSettings,
        *,
        smtp_password: str | None,
        key: ServerKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._password = smtp_password
        self._key = key
        self._clock = clock

    @property
    def domains_text(self) -> str:
        return ", ".join(self.settings.allowed_domains)

    def _code_hash(self, check_id: str, code: str) -> str:
        return self._key.mac("email-code", check_id, code).hex()

    def identity_of(self, address: str) -> str:
        """The keyed hash that stands for the person owning this address (domain checked)."""
        normalised, domain = normalise_address(address)
        if domain not in self.settings.allowed_domains:
            raise VerificationFailed(
                f"Addresses at {domain} cannot be used here. Use an address at"
                f" {self.domains_text}.",
                reason="domain",
            )
        return self._key.identity_hash(EMAIL_ISSUER, normalised)

    def prepare(
        self, check_id: str, address: str, previous: CodeState | None = None
    ) -> tuple[str, CodeState]:
        """A fresh code for `address`, honouring the cooldown and the cap on sends.

        Returns (code, state); the caller stores the state before sending, so a code in a
        mailbox always has its check on record.
        """
        identity = self.identity_of(address)
        now = self._clock()
        if previous is not None:
            if previous.sends >= self.settings.max_sends:
                raise VerificationFailed(
                    "No more codes can be sent for this check. Run the verify command again"
                    " later to start over.",
                    reason="send_limit",
                )
            if previous.sent_at is not None:
                wait = previous.sent_at + self.settings.resend_cooldown_seconds - now
                if wait > 0:
                    raise VerificationFailed(
                        f"A code was sent just now. You can ask for another in {int(wait) + 1}"
                        " seconds; check your spam folder meanwhile.",
                        reason="cooldown",
                    )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        state = CodeState(
            identity_hash=identity,
            code_hash=self._code_hash(check_id, code),
            code_expires_at=now + self.settings.code_ttl_minutes * 60,
            sent_at=now,
            sends=(previous.sends if previous else 0) + 1,
            attempts=previous.attempts if previous else 0,
        )
        return code, state

    def message(self, address: str, code: str, community_name: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = parse_address(address).mail_to  # exactly the address that was checked
        msg["Subject"] = f"Your verification code: {code}"
        msg.set_content(
            f"Your code to verify in {community_name} is:\n\n    {code}\n\n"
            f"It works for {self.settings.code_ttl_minutes} minutes. Enter it on the"
            " verification page.\n\n"
            "The bot keeps no copy of this address, only a keyed fingerprint of it.\n"
            "If you did not ask for this code, ignore this message.\n"
        )
        return msg

    async def deliver(self, address: str, code: str, community_name: str) -> None:
        """Send the code; raises VerificationFailed (reason `smtp`) if the server refuses."""
        settings = self.settings
        implicit_tls = settings.smtp_port == 465
        try:
            await aiosmtplib.send(
                self.message(address, code, community_name),
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=self._password,
                use_tls=implicit_tls,
                start_tls=settings.smtp_starttls and not implicit_tls,
                timeout=_SMTP_TIMEOUT,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # The server's answer can quote the recipient: log only its kind and code.
            problem = f"{type(exc).__name__} {getattr(exc, 'code', '')}".strip()
            log.warning("could not send a verification code: %s", problem)
            raise VerificationFailed(
                "The code could not be sent just now. Please try again in a few minutes.",
                reason="smtp",
                detail=f"SMTP to {settings.smtp_host}:{settings.smtp_port} failed: {problem}",
            ) from exc

    def unsent(self, state: CodeState) -> CodeState:
        """The state after a failed delivery: no cooldown, so the member may retry at once."""
        return replace(state, sent_at=None)

    def check(self, check_id: str, state: CodeState, code: str) -> Proof:
        """Compare a code with the stored hash. `state.attempts` already counts this attempt.

        Raises VerificationFailed: `locked` past the limit (the caller ends the check),
        `code_expired`, or `wrong_code` with the attempts left in the message.
        """
        limit = self.settings.max_attempts
        if state.attempts > limit:
            raise VerificationFailed(
                "Too many wrong codes, so this check has ended and nothing was stored."
                " Run the verify command again to start over.",
                reason="locked",
            )
        if self._clock() >= state.code_expires_at:
            raise VerificationFailed(
                "This code has expired. Ask for a new one below.", reason="code_expired"
            )
        given = re.sub(r"\s", "", code)
        if not (given.isascii() and given.isdigit() and len(given) == CODE_DIGITS) or not (
            same(self._code_hash(check_id, given), state.code_hash)
        ):
            left = limit - state.attempts
            if left <= 0:
                raise VerificationFailed(
                    "That code is wrong, and it was the last attempt, so this check has ended"
                    " and nothing was stored. Run the verify command again to start over.",
                    reason="locked",
                )
            raise VerificationFailed(
                f"That code is wrong. {left} attempt{'s' if left != 1 else ''} left.",
                reason="wrong_code",
            )
        return Proof(method=METHOD, level=self.settings.level, identity_hash=state.identity_hash)
