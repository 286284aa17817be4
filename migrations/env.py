"""Alembic environment: async engine, the same migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection | None = None) -> None:
    url = config.get_main_option("sqlalchemy.url")
    options = {
        "target_metadata": target_metadata,
        "render_as_batch": True,  # SQLite cannot ALTER most things; batch mode copies the table
        "compare_type": True,
    }
    if connection is None:
        context.configure(url=url, literal_binds=True, **options)
    else:
        context.configure(connection=connection, **options)


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(
        str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool
    )
    async with engine.begin() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    _configure()
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    # called from bot.storage.migrate inside a running event loop, on its connection
    _run_sync(config.attributes["connection"])
else:
    asyncio.run(_run_online())
