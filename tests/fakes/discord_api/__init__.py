"""A loopback Discord (REST + gateway) that the real discord.py client can log in to.

`server.py` says what is faked and what is not; `state.py` holds the world and Discord's rules,
`rest.py` the REST endpoints and `gateway.py` the websocket and the test-side `push_*` helpers.
"""

from .gateway import Frame, InteractionRecord, Pushed
from .server import FakeDiscord, RecordedRequest
from .state import (
    ALL_PERMISSIONS,
    EVERYONE_DEFAULT,
    ApiError,
    Channel,
    Guild,
    Member,
    Perm,
    Role,
    User,
    World,
)

__all__ = [
    "ALL_PERMISSIONS",
    "EVERYONE_DEFAULT",
    "ApiError",
    "Channel",
    "FakeDiscord",
    "Frame",
    "Guild",
    "InteractionRecord",
    "Member",
    "Perm",
    "Pushed",
    "RecordedRequest",
    "Role",
    "User",
    "World",
]
