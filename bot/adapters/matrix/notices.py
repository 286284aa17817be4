"""What the Matrix adapter tells admins, in words they can act on without reading the code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote

from bot.adapters.matrix.rooms import POWER_LEVELS_LIMIT, Need, RoomFacts
from bot.model import Choice, CommandSpec


def with_choices(
    text: str,
    choices: Sequence[Choice],
    prefix: str,
    spec: Callable[[str], CommandSpec | None] = lambda _: None,
) -> str:
    """Matrix has no buttons: each one-step answer is written as the command to send, with
    what it means, one a line, so a moderator can copy one into the room. Required words the
    choice leaves to the person (a reason) are shown as `<reason>`."""
    if not choices:
        return text
    lines = [
        f"{_typed(choice, prefix, spec(choice.command))} — {choice.label}" for choice in choices
    ]
    return "\n".join([text, "To answer, send one of:", *lines])


def _typed(choice: Choice, prefix: str, spec: CommandSpec | None) -> str:
    typed = choice.typed(prefix)
    if spec is None:
        return typed
    required = [p.name for p in spec.params if p.required]
    return " ".join([typed, *(f"<{name}>" for name in required[len(choice.words) :])])


def message_link(room_id: str, event_id: str) -> str:
    """A matrix.to link to one event, its ids percent-encoded as the spec's examples are
    (`!room%3Aserver/%24event`), so `:`, `/` or `?` in an id cannot cut the link short."""
    return f"https://matrix.to/#/{quote(room_id, safe='!')}/{quote(event_id, safe='')}"


def room_label(facts: RoomFacts) -> str:
    """The room's name, with its address when it has one, so an admin can find it."""
    if facts.name and facts.canonical_alias:
        return f"{facts.name} ({facts.canonical_alias})"
    return facts.label


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


def cannot_join(room: str, bot_id: str, why: str) -> str:
    """Why the bot is not in one of the community's rooms, and the fix that works: the bot
    accepts an invitation to any room of a space it serves."""
    return (
        f"I could not join {room}, a room of this community ({why}). To let me protect it,"
        f" invite {bot_id} to it, or let members of the space join it; I accept invitations to"
        " the rooms of this community."
    )


def verified_space_missing(space: str, bot_id: str) -> str:
    return (
        f"I am not a member of the Verified space {space}, so I cannot show badges. Invite"
        f" {bot_id} to it and give me power to invite and remove members there."
    )


def antispam_silent(base_url: str) -> str:
    """[matrix.antispam] is set, but the homeserver never asks: how to find out why."""
    return (
        "[matrix.antispam] is set, but the homeserver has not asked me anything since I started,"
        " so held messages are still delivered and then redacted. Fix: in homeserver.yaml, load"
        " synapse_http_antispam.HTTPAntispam with base_url"
        f" {base_url}/antispam and the same secret as [matrix.antispam] secret, enable"
        ' check_event_for_spam and user_may_join_room, and restart Synapse (README, "Matrix:'
        ' deciding before delivery").'
    )
