"""The `verifybot` command: run | migrate | check-config.

Exit codes: 0 ok; 2 bad configuration or usage (the message names the key, the bad value and the
fix); 1 a failure while running.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from bot.config import Config, ConfigError, check_secrets, load_config

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
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
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--config", help="path to the TOML configuration (for database.url)")
    migrate.add_argument("--database-url", help="database URL (overrides the config)")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    check = sub.add_parser("check-config", help="validate a configuration and its secrets")
    check.add_argument("path", help="path to the TOML configuration")
    return parser


def _load(path: str) -> Config | None:
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        print(f"verifybot: {path} has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return loaded.config


def _check_config(path: str) -> int:
    config = _load(path)
    if config is None:
        return EXIT_USAGE
    problems = check_secrets(config)
    if problems:
        print(f"verifybot: {path}: secrets cannot be read:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_USAGE
    networks = [n for n in ("discord", "matrix") if getattr(config, n) is not None]
    print(
        f"{path}: ok — networks: {', '.join(networks) or 'none'};"
        f" methods: {', '.join(config.methods.configured()) or 'none'};"
        f" communities: {len(config.communities)}"
    )
    return EXIT_OK


async def _migrate(url: str, revision: str) -> None:
    from bot.storage import migrate
    from bot.storage.repo import Store

    store = Store.open(url)
    try:
        await migrate.upgrade(store.engine, revision)
        print(f"database at revision {await migrate.current_revision(store.engine)}")
    finally:
        await store.close()


def _configure_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


async def _serve(config: Config, dry_run: bool) -> None:
    from bot.app import Application

    app = Application(config, dry_run=dry_run)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    log.info("verifybot is running%s", " (dry run)" if dry_run else "")
    try:
        await stop.wait()
    finally:
        await app.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        return _check_config(args.path)
    if args.command == "migrate":
        url = args.database_url or os.environ.get("VERIFYBOT_DATABASE_URL")
        if url is None and args.config:
            config = _load(args.config)
            if config is None:
                return EXIT_USAGE
            url = config.database.url
        if url is None:
            print("verifybot migrate: give --config PATH or --database-url URL", file=sys.stderr)
            return EXIT_USAGE
        try:
            asyncio.run(_migrate(url, args.revision))
        except Exception as exc:
            print(f"verifybot migrate: failed: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        return EXIT_OK
    config = _load(args.config)
    if config is None:
        return EXIT_USAGE
    problems = check_secrets(config)
    if problems:
        for problem in problems:
            print(f"verifybot: {problem}", file=sys.stderr)
        return EXIT_USAGE
    _configure_logging(config)
    try:
        asyncio.run(_serve(config, args.dry_run))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"verifybot: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:
        log.exception("verifybot stopped after a failure")
        return EXIT_FAILURE
    return EXIT_OK
