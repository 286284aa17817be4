"""The service's surface stays while its insides move: what the rest of the bot imports from
bot.verification.service, and the methods the cogs, the web pages and the app call."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.verification.service as service_module
from bot.verification.service import VerificationService

ROOT = Path(__file__).resolve().parents[3]
CALLED = (
    "issue_link",
    "community_name",
    "methods_for",
    "link_url",
    "now",
    "open_link",
    "start",
    "submit_code",
    "resend_code",
    "code_page_open",
    "oidc_callback",
    "approve",
    "deny",
    "complete",
    "unverify",
    "revoke",
    "lift",
    "sweep",
    "refresh_badges",
    "redeem_link",
    "link_redeemed",
    "close",
    "maybe",
)


def test_every_name_imported_from_the_service_module_is_exported() -> None:
    wanted: set[str] = set()
    for folder in ("bot", "cogs", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "bot.verification.service":
                    wanted.update(alias.name for alias in node.names)
    assert "VerificationService" in wanted  # the scan works
    assert sorted(n for n in wanted if n not in service_module.__all__) == []


def test_the_methods_others_call_are_there() -> None:
    assert [name for name in CALLED if not callable(getattr(VerificationService, name, None))] == []
