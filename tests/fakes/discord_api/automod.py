"""AutoMod: rules as Discord stores them (with its limits), and its verdict on a message before
delivery — a blocked message never reaches any client.
"""

from __future__ import annotations

import re

from aiohttp import web

from .errors import unknown
from .guilds import KEYWORD, MENTION_SPAM, Guild
from .objects import Channel, Json, User
from .permissions import Perm
from .rest import BODY, RestRoutes, Route, path_id


class AutoModRoutes(RestRoutes):
    """AutoMod rules, and the verdict `push_message` asks for; mixed into `FakeDiscord`."""

    def routes(self) -> list[Route]:
        rules = "/guilds/{guild_id}/auto-moderation/rules"
        return [
            *super().routes(),
            ("GET", rules, self._list_automod),
            ("POST", rules, self._create_automod),
            ("PATCH", f"{rules}/{{rule_id}}", self._edit_automod),
            ("DELETE", f"{rules}/{{rule_id}}", self._delete_automod),
        ]

    def _rule(self, request: web.Request) -> tuple[Guild, Json]:
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_GUILD)
        rule = guild.automod_rules.get(path_id(request, "rule_id"))
        if rule is None:
            raise unknown("Auto Moderation Rule", 10066)
        return guild, rule

    async def _list_automod(self, request: web.Request) -> list[Json]:
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_GUILD)
        return list(guild.automod_rules.values())

    async def _create_automod(self, request: web.Request) -> Json:
        guild, bot = self._guild(request)
        guild.require(bot, Perm.MANAGE_GUILD)
        body = dict(request[BODY])
        body.setdefault("enabled", False)  # Discord's default when the field is left out
        rule = self.world.add_automod_rule(guild, self.world.bot, body)
        await self.dispatch("AUTO_MODERATION_RULE_CREATE", rule, guild)
        return rule

    async def _edit_automod(self, request: web.Request) -> Json:
        guild, rule = self._rule(request)
        body = request[BODY]
        updated = {**rule, **{k: v for k, v in body.items() if k in rule and k != "trigger_type"}}
        updated["exempt_roles"] = [str(r) for r in updated["exempt_roles"]]
        updated["exempt_channels"] = [str(c) for c in updated["exempt_channels"]]
        guild.check_automod(updated, replacing=int(rule["id"]))
        rule.update(updated)
        await self.dispatch("AUTO_MODERATION_RULE_UPDATE", rule, guild)
        return rule

    async def _delete_automod(self, request: web.Request) -> None:
        guild, rule = self._rule(request)
        del guild.automod_rules[int(rule["id"])]
        await self.dispatch("AUTO_MODERATION_RULE_DELETE", rule, guild)

    def automod_verdict(
        self, guild: Guild, channel: Channel, author: User, content: str, mentions: int
    ) -> Json | None:
        """The first enabled rule that blocks this message before delivery, as Discord would."""
        member = guild.members.get(author.id)
        if member is None or guild.base_permissions(member) & (
            Perm.ADMINISTRATOR | Perm.MANAGE_GUILD
        ):
            return None
        for rule in guild.automod_rules.values():
            exempt_roles = {int(r) for r in rule["exempt_roles"]}
            exempt_channels = {int(c) for c in rule["exempt_channels"]}
            if not rule["enabled"] or exempt_roles & set(member.roles):
                continue
            if channel.id in exempt_channels or channel.parent_id in exempt_channels:
                continue
            meta = rule["trigger_metadata"]
            if rule["trigger_type"] == KEYWORD and (
                any(_keyword_matches(k, content) for k in meta.get("keyword_filter") or [])
                or any(re.search(p, content, re.I) for p in meta.get("regex_patterns") or [])
            ):
                return rule
            if rule["trigger_type"] == MENTION_SPAM and mentions > int(
                meta.get("mention_total_limit", 50)
            ):
                return rule
        return None


def _keyword_matches(keyword: str, content: str) -> bool:
    """Discord keyword semantics: whole words unless `*` marks a side as a wildcard."""
    core = keyword.strip("*")
    start = "" if keyword.startswith("*") else r"(?<!\w)"
    end = "" if keyword.endswith("*") else r"(?!\w)"
    return re.search(start + re.escape(core) + end, content, re.IGNORECASE) is not None
