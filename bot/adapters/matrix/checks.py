"""What the Matrix adapter would refuse, or could never use, found without a homeserver.

Called by `bot.checks.static_checks` for both `check-config` and `run`. Matrix ids that cannot
work are refused here rather than ignored at run time: a community written as an alias is never
matched (rooms are known by id), a malformed inviter never matches an invite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.checks.common import Findings, resolved, these, token_problem, url_problems
from bot.config import Config

# the same user-id grammar the adapter reads commands and invites with
_USER_ID = re.compile(r"^@[^\s:<>\"'@]+:(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_SERVER_NAME = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
_ROOM_ID = re.compile(r"^![^\s:]+(?::\S+)?$")


def matrix_checks(config: Config, environ: Mapping[str, str]) -> Findings:
    settings = config.matrix
    found = Findings()
    if settings is None:
        return found
    found.problems += url_problems("matrix.homeserver", settings.homeserver)
    found.problems += token_problem("matrix.access_token", resolved(settings.access_token, environ))
    prefix = settings.command_prefix
    if not prefix or any(ch.isspace() or not ch.isprintable() for ch in prefix):
        found.problems.append(
            f"matrix.command_prefix: {prefix!r} cannot start a command (it is empty or holds"
            ' spaces); use a short prefix without spaces, such as command_prefix = "!"'
        )
    elif prefix.startswith("/"):
        found.warnings.append(
            f"matrix.command_prefix: {prefix!r} starts with /, which Element and most clients"
            ' take as their own command and never send; use command_prefix = "!"'
        )
    bad = [i for i in settings.allowed_inviters if not _USER_ID.match(i)]
    if bad:
        found.problems.append(
            f"matrix.allowed_inviters: {these(bad)} not a Matrix user id;"
            " write full ids such as @admin:your-server.org"
        )
    bad = [s for s in settings.allowed_servers if not _SERVER_NAME.match(s)]
    if bad:
        found.problems.append(
            f"matrix.allowed_servers: {these(bad)} not a server name;"
            " write the part after the colon of a user id, such as your-server.org"
        )
    for i, community in enumerate(config.communities):
        if community.network != "matrix":
            continue
        where = f"communities.{i}"
        places: dict[str, list[str | None]] = {
            f"{where}.id": [community.id],
            f"{where}.verified_space": [community.verified_space],
            f"{where}.log_channel": [community.log_channel],
            f"{where}.moderator_channel": [community.moderator_channel],
            f"{where}.rooms": list(community.rooms),
        }
        for key, values in places.items():
            bad = [v for v in values if v is not None and not _ROOM_ID.match(v)]
            if bad:
                found.problems.append(
                    f"{key}: {these(bad)} not a room id; the bot knows rooms"
                    " by id (it starts with !, e.g. !abcdef:your-server.org; in Element:"
                    " room settings → Advanced)"
                )
    return found
