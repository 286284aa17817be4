"""What the Matrix adapter tells admins, in words they can act on without reading the code."""

from __future__ import annotations

from bot.adapters.matrix.rooms import POWER_LEVELS_LIMIT, Need, RoomFacts


def room_label(facts: RoomFacts) -> str:
    name = facts.name or facts.canonical_alias
    return f"{name} ({facts.room_id})" if name else facts.room_id


def _level_text(level: float) -> str:
    return "creator (above every level)" if level == float("inf") else str(int(level))


def missing_power(facts: RoomFacts, bot_id: str, missing: list[Need], fixers: list[str]) -> str:
    """Exactly what the bot cannot do in a room and who can change that."""
    have = facts.level(bot_id)
    wanted = max(need.level for need in missing)
    lines = [
        f"I cannot fully protect {room_label(facts)}: my power level there is"
        f" {_level_text(have)}, and I need:"
    ]
    lines += [f"- {need.level} to {need.what}" for need in missing]
    lines.append(f"Please give {bot_id} power level {wanted} in that room.")
    if facts.creators and facts.is_creator_with_top_power(next(iter(facts.creators))):
        creators = ", ".join(sorted(facts.creators))
        lines.append(
            f"This room (version {facts.room_version}) lets its creators ({creators}) outrank"
            " everyone, and that cannot be changed; a creator or an admin there has to grant the"
            " level."
        )
    elif fixers:
        lines.append(f"Who can do it: {', '.join(fixers[:3])}.")
    return "\n".join(lines)


def encrypted_room(facts: RoomFacts) -> str:
    return (
        f"{room_label(facts)} is end-to-end encrypted. I cannot read messages there, so members'"
        " filters and the 'limited' policy do not protect it. The badge, 'read_only' and"
        " 'verified_only' still work, because they use power levels and join rules."
    )


def power_levels_size(facts: RoomFacts, size: int) -> str:
    return (
        f"The power levels of {room_label(facts)} take {size} bytes; Matrix refuses them above"
        f" {POWER_LEVELS_LIMIT} bytes, and then no level can be changed in that room (badges,"
        f" moderators, policies). The list of users there has {len(facts.users())} entries."
        " Remove people who left or no longer need a level."
    )


def cannot_join(room_id: str, why: str) -> str:
    return (
        f"I could not join {room_id}, a room of this community: {why}. Invite me there so I can"
        " protect it."
    )
