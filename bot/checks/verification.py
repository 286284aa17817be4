"""Identity checks: the key, the link signer and each method, built as the service builds them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta

from bot.checks.common import Findings, resolved
from bot.config import Config
from bot.verification.identity import ServerKey, WeakKeyError


def verification_checks(config: Config, environ: Mapping[str, str]) -> Findings:
    """Build the verification service's static pieces, exactly as the service does at start."""
    from bot.verification.links import LinkSigner
    from bot.verification.providers.moderator import ModeratorReview

    found = Findings()
    methods = config.methods
    if not methods.configured():
        return found
    secret = resolved(config.identity.hash_key, environ)
    if secret is None:
        return found  # missing: parse_config said so; unreadable: check_secrets said so
    try:
        key = ServerKey(secret)
    except WeakKeyError as exc:
        found.problems.append(str(exc).replace("identity.hash_key is", "identity.hash_key: it is"))
        return found
    try:
        LinkSigner(key, ttl=timedelta(minutes=config.identity.link_ttl_minutes))
    except ValueError as exc:
        found.problems.append(str(exc))
    if methods.oidc is not None:
        found.problems += _oidc_problems(config, key, environ)
    if methods.email_code is not None:
        found.add(_email_checks(config, key, environ))
    if methods.moderator is not None:
        ModeratorReview(methods.moderator, key=key)
    link_methods = [m for m in ("oidc", "email_code") if getattr(methods, m) is not None]
    if link_methods and not config.web.enabled:
        found.warnings.append(
            f"web.enabled: false, but members verify with {' and '.join(link_methods)} on its"
            " pages, so their verify links would lead nowhere; set enabled = true or remove"
            " those methods"
        )
    return found


def _oidc_problems(config: Config, key: ServerKey, environ: Mapping[str, str]) -> list[str]:
    from bot.verification.providers.oidc import (
        CALLBACK_PATH,
        OidcConfigError,
        OidcMethod,
        require_secure_url,
    )

    assert config.methods.oidc is not None
    base = config.web.base_url
    redirect = f"{base}{CALLBACK_PATH}"
    try:
        require_secure_url(redirect, "web.base_url")
    except OidcConfigError:
        return [
            f"web.base_url: {base!r} is plain http on a host other than loopback, but"
            f" [methods.oidc] sends members back to {CALLBACK_PATH} there, which must be https;"
            " use an https:// address (TLS in front of the web service) or remove [methods.oidc]"
        ]
    try:
        OidcMethod(
            config.methods.oidc,
            client_secret=resolved(config.methods.oidc.client_secret, environ),
            redirect_uri=redirect,
            key=key,
        )
    except ValueError as exc:
        return [f"methods.oidc: {exc}"]
    return []


def _email_checks(config: Config, key: ServerKey, environ: Mapping[str, str]) -> Findings:
    from bot.verification.providers.email_code import EmailCodeMethod

    settings = config.methods.email_code
    assert settings is not None
    found = Findings()
    try:
        EmailCodeMethod(
            settings,
            smtp_password=resolved(settings.smtp_password, environ),
            key=key,
            clock=time.time,
        )
    except ValueError as exc:
        found.problems.append(f"methods.email_code: {exc}")
    if not settings.sender.isprintable() or "@" not in settings.sender:
        found.problems.append(
            f"methods.email_code.sender: {settings.sender!r} is not an address the mail can come"
            ' from; write it like sender = "verifybot@your-domain.org", on one line'
        )
    if settings.smtp_username and settings.smtp_password is None:
        found.warnings.append(
            "methods.email_code.smtp_password: smtp_username is set but no password; add"
            ' smtp_password = { env = "VERIFYBOT_SMTP_PASSWORD" } or remove smtp_username'
        )
    return found
