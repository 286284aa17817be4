"""The typed keys under which the web application keeps its shared objects."""

from __future__ import annotations

from aiohttp import web

from bot.core import BotCore
from bot.verification.service import VerificationService
from bot.web.pages import Pages

SERVICE_KEY: web.AppKey[VerificationService | None] = web.AppKey("service")
CORE_KEY: web.AppKey[BotCore] = web.AppKey("core")
PAGES_KEY: web.AppKey[Pages] = web.AppKey("pages")
