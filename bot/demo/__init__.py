"""`verifybot demo`: the whole product on this machine, with no token and nothing to configure.

It starts a real Synapse homeserver on 127.0.0.1 (`homeserver.py`) with accounts for an admin,
a moderator, the bot and three members (`accounts.py`, `community.py`), a local mail catcher
(`mail.py`), and the bot itself from a config.toml as `verifybot run` assembles it (`run.py`);
then it plays a short story in which every feature acts through the bot's real code paths
(`story.py`, on the `stage.py` the people act on, with their Matrix client `person.py` and
browser `browser.py`), writing a transcript as it goes (`transcript.py`). Nothing in the bot
knows it is a demo.
"""

from __future__ import annotations

import importlib.util
import sys

EXIT_USAGE = 2


def missing_extras() -> list[str]:
    """The demo's own packages (the `demo` extra) that are not installed."""
    return [name for name in ("synapse", "aiosmtpd") if importlib.util.find_spec(name) is None]


def run_demo(wait: bool) -> int:
    """Play the story; with `wait`, keep everything running until Ctrl-C. The exit code."""
    missing = missing_extras()
    if missing:
        print(
            f"verifybot demo needs {' and '.join(missing)}: pip install -e '.[demo]'"
            " (or run `make demo`)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.demo.run import play

    return play(wait)
