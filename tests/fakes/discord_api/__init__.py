"""A loopback Discord (REST + gateway) that the real discord.py client can log in to.

`server.py` says what is faked and what is not and puts the parts together. The world:
`world.py` (building it, lookups), `objects.py` (users, roles, members, channels),
`guilds.py` (permissions, hierarchy, AutoMod limits), `messages.py` (payloads, history),
`permissions.py`, `errors.py`. The wire: `gateway.py` (sessions, RESUME, intents),
`activity.py`, `interactions.py` and `components.py` (what tests push: messages, commands,
menus, clicks, forms), `rest.py` (what routes share) and one module per resource
(`application.py`, `channels.py`, `members.py`, `automod.py`); `faults.py` (rate limits,
injected errors and slow answers). `loopback_client.py` is a plain discord.py client for tests
of the fake itself.
"""

from .activity import Pushed
from .components import buttons_of, components_of, select_of
from .errors import ApiError
from .gateway import Frame
from .guilds import Guild
from .interactions import InteractionRecord
from .objects import Channel, Member, Role, Upload, User
from .permissions import ALL_PERMISSIONS, EVERYONE_DEFAULT, Perm
from .server import FakeDiscord, RecordedRequest
from .world import World

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
    "Upload",
    "User",
    "World",
    "buttons_of",
    "components_of",
    "select_of",
]
