"""The dashboard on loopback with a seeded database (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage.repo import Store
from tests.integration.dashboard.harness import Site, running


@pytest.fixture
async def site(store: Store) -> AsyncIterator[Site]:
    async with running(store) as running_site:
        yield running_site
