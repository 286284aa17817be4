"""Discord: slash commands, the Verified role, native enforcement (overwrites, AutoMod)."""

from bot.adapters.discord.adapter import DiscordAdapter, MemberProtection

__all__ = ["DiscordAdapter", "MemberProtection"]
