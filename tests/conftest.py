"""Shared test set-up. Every module in tests/fixtures/ is a pytest plugin, loaded here, so each
fixture family (Synapse, loopback Discord, OpenID provider, databases) lives in its own file."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = [
    *sorted(
        f"tests.fixtures.{path.stem}"
        for path in (Path(__file__).parent / "fixtures").glob("*.py")
        if path.stem != "__init__"
    ),
    "tests.fuzz_profiles",  # Hypothesis profiles: `ci` by default, `full` on request
]
