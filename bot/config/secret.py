"""Where a secret lives: an environment variable or a file, never required inline.

A secret's value is never echoed in a message, not even the bad value of a mistyped table.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import field_validator, model_validator

from bot.config import files
from bot.config.base import ConfigError, Section


class SecretRef(Section):
    """Where a secret lives. Exactly one of `env`, `file` or (discouraged) `value`."""

    env: str | None = None
    file: Path | None = None
    value: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_table(cls, data: Any) -> Any:
        """A bare string here is most likely the secret itself: refuse it without echoing it."""
        if not isinstance(data, Mapping | SecretRef):
            raise ValueError(
                'must be a table: { env = "VARIABLE" } or { file = "/path/to/secret" }'
                " (the value given is not shown, as it may be the secret itself)"
            )
        return data

    @field_validator("env")
    @classmethod
    def _variable_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                "not an environment variable name; use letters, digits and _,"
                ' e.g. env = "VERIFYBOT_DISCORD_TOKEN"'
            )
        return name

    @field_validator("file")
    @classmethod
    def _usable_path(cls, path: Path) -> Path:
        text = str(path)
        if "\x00" in text or not text.strip() or text == ".":
            raise ValueError(
                "cannot be a file name (it is empty or holds a NUL character); give the path of"
                ' the file holding the secret, e.g. file = "/etc/verifybot/token"'
            )
        return path

    @field_validator("value")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('is empty; better: env = "VARIABLE" or file = "/path/to/secret"')
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("env", "file", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                'give exactly one of env = "VAR_NAME" or file = "/path/to/secret"'
                f" (got {', '.join(given) or 'none'})"
            )
        return self

    @property
    def is_inline(self) -> bool:
        return self.value is not None

    def describe(self) -> str:
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        return "an inline value"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret itself; raises ConfigError naming where it was looked for."""
        env = os.environ if environ is None else environ
        if self.value is not None:
            return self.value
        if self.env is not None:
            found = env.get(self.env, "")
            if not found:
                raise ConfigError([f"secret: environment variable {self.env} is not set or empty"])
            return found
        assert self.file is not None
        return _read_secret_file(self.file)


def _read_secret_file(file: Path) -> str:
    try:
        return files.read_secret(file)
    except files.Unusable as exc:
        raise ConfigError([f"secret: {exc}"]) from None
