"""Shared set-up for the verification integration tests (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.storage.repo import Store
from tests.fixtures.oidc_provider import OidcTestProvider
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import Harness, running


@pytest.fixture
async def harness(
    store: Store, oidc_provider: OidcTestProvider, smtp_server: SmtpCapture
) -> AsyncIterator[Harness]:
    async with running(store, oidc_provider, smtp_server) as running_harness:
        yield running_harness
    await oidc_provider.clear_replacement()
