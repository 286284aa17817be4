"""The database: what opening the store and migrating would trip over."""

from __future__ import annotations

from pathlib import Path

from bot.config import DatabaseSettings


def database_problems(settings: DatabaseSettings) -> list[str]:
    """What opening the store and migrating would trip over: the driver, the URL, the folder."""
    from bot.storage.repo import Store

    try:
        store = Store.open(settings.url, pool_size=settings.pool_size)
    except ModuleNotFoundError as exc:
        return [
            f"database.url: the {exc.name} package it needs is not installed;"
            ' run pip install "verifybot[postgres]"'
        ]
    except Exception as exc:  # SQLAlchemy's URL and argument errors have no common base
        reason = str(exc).replace(settings.url, "the URL")  # the URL may carry a password
        return [
            f"database.url: cannot be used ({type(exc).__name__}: {reason});"
            " write it like sqlite+aiosqlite:///path/to/verifybot.db"
            " or postgresql+asyncpg://user@host/db"
        ]
    database = store.engine.url.database
    if store.dialect != "sqlite" or not database or database == ":memory:":
        return []
    folder = Path(database).expanduser().absolute().parent
    if not folder.is_dir():
        return [
            f"database.url: the folder {folder} for the SQLite file does not exist;"
            " create it or fix the path"
        ]
    return []
