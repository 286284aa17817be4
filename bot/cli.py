"""The `verifybot` command: run | migrate | check-config | demo | invite-url.

Exit codes: 0 ok (also a stop asked for with Ctrl-C or SIGTERM); 2 bad configuration or usage
(the message names the key, the bad value and the fix); 1 a failure while running.

`check-config` and `run` share one set of static checks (`bot.checks`), so run starts exactly
when check-config says ok. A configuration mistake ends in a message, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from bot.config import Config, ConfigError, load_config, parse_config
from bot.logs import configure_logging

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_SHOWN_PROBLEMS = 50  # a pasted-over file can have thousands; the first ones tell the story
log = logging.getLogger("verifybot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verifybot",
        description="Optional verification, a visible badge and each member's own filter.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="connect to the configured networks and serve")
    run.add_argument("--config", required=True, help="path to the TOML configuration")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="decide as usual but only log and audit what would be done",
    )
    run.add_argument(
        "--json-logs",
        action="store_true",
        help="one JSON object per log line (as [logging] json_lines = true)",
    )
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--config", help="path to the TOML configuration (for database.url)")
    migrate.add_argument("--database-url", help="database URL (overrides the config)")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    check = sub.add_parser(
        "check-config", help="validate a configuration and its secrets, as run would"
    )
    check.add_argument("path", help="path to the TOML configuration")
    demo = sub.add_parser(
        "demo",
        help="run the whole product on this machine: a local homeserver, mail catcher and story",
    )
    demo.add_argument(
        "--no-wait",
        action="store_true",
        help="play the story, print the transcript and exit (for CI and a quick look)",
    )
    invite = sub.add_parser(
        "invite-url",
        help="print the Discord invite link with exactly the permissions the bot uses",
    )
    invite.add_argument("--config", required=True, help="path to the TOML configuration")
    invite.add_argument("--client-id", help="the Application ID (default: read from discord.token)")
    return parser


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _report(path: str, problems: Sequence[str]) -> None:
    _say(f"verifybot: {path} has {len(problems)} problem(s):")
    for problem in problems[:MAX_SHOWN_PROBLEMS]:
        _say(f"  - {problem}")
    if len(problems) > MAX_SHOWN_PROBLEMS:
        _say(f"  … and {len(problems) - MAX_SHOWN_PROBLEMS} more")


def _checked(path: str) -> tuple[Config, list[str]] | None:
    """The config with its warnings once every static check passed; else None, problems shown."""
    from bot.checks import static_checks

    try:
        loaded = load_config(path)
    except ConfigError as exc:
        _report(path, exc.problems)
        return None
    found = static_checks(loaded.config)
    warnings = [*loaded.warnings, *found.warnings]
    if found.problems:
        for warning in warnings:
            _say(f"warning: {warning}")
        _report(path, found.problems)
        return None
    return loaded.config, warnings


def _check_config(path: str) -> int:
    checked = _checked(path)
    if checked is None:
        return EXIT_USAGE
    config, warnings = checked
    for warning in warnings:
        _say(f"warning: {warning}")
    networks = [n for n in ("discord", "matrix") if getattr(config, n) is not None]
    print(
        f"{path}: ok — networks: {', '.join(networks) or 'none'};"
        f" methods: {', '.join(config.methods.configured()) or 'none'};"
        f" communities: {len(config.communities)}"
        + (f"; {len(warnings)} warning(s)" if warnings else "")
    )
    return EXIT_OK


def _invite_url(path: str, client_id: str | None) -> int:
    """The invite link for the configured Discord server (pre-selected when there is one)."""
    from bot.adapters.discord.invite import (
        InviteError,
        application_id_from_token,
        explained,
        invite_url,
    )

    try:
        config = load_config(path).config
    except ConfigError as exc:
        _report(path, exc.problems)
        return EXIT_USAGE
    if config.discord is None:
        _say(
            f"verifybot invite-url: {path} has no [discord] section; the link is for a Discord bot"
        )
        return EXIT_USAGE
    try:
        app_id = client_id or application_id_from_token(config.discord.token.resolve())
    except ConfigError as exc:
        problems = [p.replace("secret:", "discord.token:", 1) for p in exc.problems]
        _report(path, [f"{p}; or give the Application ID with --client-id" for p in problems])
        return EXIT_USAGE
    except InviteError as exc:
        _say(f"verifybot invite-url: {exc}")
        return EXIT_USAGE
    servers = [c.id for c in config.communities if c.network == "discord"]
    try:
        url = invite_url(app_id, servers[0] if len(servers) == 1 else None)
    except InviteError as exc:
        _say(f"verifybot invite-url: {exc}")
        return EXIT_USAGE
    print("\n".join(explained(url)))
    return EXIT_OK


# --- migrate ----------------------------------------------------------------------------------


async def _migrate(url: str, revision: str) -> None:
    from bot.storage import migrate
    from bot.storage.repo import Store

    store = Store.open(url)
    try:
        await migrate.upgrade(store.engine, revision)
        print(f"database at revision {await migrate.current_revision(store.engine)}")
    finally:
        await store.close()


def _migrate_command(args: argparse.Namespace) -> int:
    from bot.checks import database_problems

    where = "--database-url" if args.database_url else "VERIFYBOT_DATABASE_URL"
    url = args.database_url or os.environ.get("VERIFYBOT_DATABASE_URL")
    if url is None and args.config:
        where = args.config
        try:
            url = load_config(args.config).config.database.url
        except ConfigError as exc:
            _report(args.config, exc.problems)
            return EXIT_USAGE
    if url is None:
        _say("verifybot migrate: give --config PATH or --database-url URL")
        return EXIT_USAGE
    try:
        problems = database_problems(parse_config({"database": {"url": url}}).config.database)
    except ConfigError as exc:
        problems = exc.problems
    if problems:
        _report(where, problems)
        return EXIT_USAGE
    try:
        asyncio.run(_migrate(url, args.revision))
    except Exception as exc:
        _say(f"verifybot migrate: failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILURE
    return EXIT_OK


# --- run --------------------------------------------------------------------------------------


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM before the event loop listens: stop like Ctrl-C does, not with a kill."""
    raise KeyboardInterrupt


async def _serve(config: Config, dry_run: bool) -> None:
    from bot.app import Application

    loop = asyncio.get_running_loop()
    stop, force = asyncio.Event(), asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("%s received: stopping (send it again to stop at once)", sig.name)
            stop.set()
        elif not force.is_set():
            log.warning("%s received again: stopping at once", sig.name)
            force.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    app = Application(config, dry_run=dry_run)
    if await app.serve(stop, force):
        log.info("verifybot stopped")
        return
    # what was cut short may complain as asyncio cancels it; the user asked for exactly that
    loop.set_exception_handler(lambda _loop, context: log.debug("%s", context["message"]))
    log.warning("verifybot stopped at once, its shutdown cut short")


def _run(path: str, dry_run: bool, *, whole_process: bool, json_logs: bool = False) -> int:
    """`whole_process`: this is the program, not a call from a test; the process ends after."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run_checked(path, dry_run, json_logs)
    finally:
        for sig, handler in previous.items():
            # once the bot has stopped, a late Ctrl-C must not turn a clean exit into a kill
            signal.signal(sig, signal.SIG_IGN if whole_process or handler is None else handler)


def _run_checked(path: str, dry_run: bool, json_logs: bool) -> int:
    checked = _checked(path)
    if checked is None:
        return EXIT_USAGE
    config, warnings = checked
    settings = config.logging
    undo_logging = configure_logging(
        settings.model_copy(update={"json_lines": True}) if json_logs else settings
    )
    try:
        for warning in warnings:
            log.warning("%s", warning)
        asyncio.run(_serve(config, dry_run))
    except ConfigError as exc:  # static checks should have caught it; say it the same way
        _report(path, exc.problems)
        return EXIT_USAGE
    except Exception as exc:
        log.error(
            'verifybot stopped after a failure: %s: %s (set [logging] level = "DEBUG" for details)',
            type(exc).__name__,
            exc,
        )
        log.debug("the failure in full", exc_info=True)
        return EXIT_FAILURE
    finally:
        undo_logging()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return _check_config(args.path)
        if args.command == "migrate":
            return _migrate_command(args)
        if args.command == "invite-url":
            return _invite_url(args.config, args.client_id)
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(wait=not args.no_wait)
        return _run(args.config, args.dry_run, whole_process=argv is None, json_logs=args.json_logs)
    except KeyboardInterrupt:  # before or after the event loop listened for signals
        if args.command in ("run", "demo"):
            _say("verifybot: stopped")
            return EXIT_OK
        _say(f"verifybot {args.command}: interrupted")
        return EXIT_FAILURE
