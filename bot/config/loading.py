"""From a file, or parsed TOML, to a validated `Config` — or every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import files
from bot.config.base import ConfigError
from bot.config.problems import format_error
from bot.config.root import Config


@dataclass(frozen=True)
class LoadedConfig:
    """A usable configuration, and what to warn about (it works, but is probably not meant)."""

    config: Config
    warnings: list[str]


def parse_config(data: Mapping[str, Any]) -> LoadedConfig:
    """Validate already-parsed TOML data; raises ConfigError listing every problem."""
    too_deep = files.too_deep(data)
    if too_deep is not None:
        raise ConfigError([too_deep])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors():
            problems.extend(format_error(error))
        raise ConfigError(problems) from None
    except RecursionError:  # belt and braces: too_deep() should have caught it
        raise ConfigError([files.nested_too_deep("the configuration")]) from None
    warnings = [
        f"{key}: the secret is written inline; move it to an environment variable"
        f' ({key} = {{ env = "VERIFYBOT_..." }}) or a file readable only by the bot'
        for key, ref in config.secrets()
        if ref.is_inline
    ]
    return LoadedConfig(config, warnings)


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a TOML file; raises ConfigError with every problem found."""
    try:
        data = files.load_toml(Path(path))
    except files.Unusable as exc:
        raise ConfigError([str(exc)]) from None
    return parse_config(data)


def check_secrets(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Problems resolving secrets (unset variables, unreadable files), for check-config/run."""
    problems: list[str] = []
    for key, ref in config.secrets():
        try:
            ref.resolve(environ)
        except ConfigError as exc:
            problems.extend(f"{key}: {p.removeprefix('secret: ')}" for p in exc.problems)
    return problems
