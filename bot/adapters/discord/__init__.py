"""Discord: slash commands, the Verified role, native enforcement (overwrites, AutoMod)."""

from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.enforcement import MemberProtection

__all__ = ["DiscordAdapter", "MemberProtection"]
