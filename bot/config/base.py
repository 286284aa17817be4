"""What every part of the configuration shares: the error that lists every problem, and the
strict base of every section (unknown keys refused, values frozen once read)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

KNOWN_METHODS = ("oidc", "email_code", "moderator")
LEVEL_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class ConfigError(Exception):
    """The configuration cannot be used. `problems` lists every issue found, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Section(BaseModel):
    """A table of settings: an unknown key is refused (a misspelt setting must not be silently
    ignored), and nothing changes once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
