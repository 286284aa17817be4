"""`help`: the commands a person may run here, with the same words on every network."""

from __future__ import annotations

from bot.cog import Cog, command
from bot.model import CommandContext


class Help(Cog):
    @command("help", help="List the commands you can use", direct_ok=True)
    async def show_help(self, ctx: CommandContext) -> None:
        prefix = self.core.adapter(ctx.network).capabilities.command_prefix
        lines = ["verifybot: optional verification, a visible badge and your own filter."]
        for spec in sorted(self.core.command_specs(), key=lambda s: s.name):
            if ctx.role >= spec.access:
                lines.append(f"{spec.usage(prefix)} — {spec.help}")
        await ctx.respond("\n".join(lines))
