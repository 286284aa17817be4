"""The demo's people and their community, made as an admin would make them by hand.

Accounts come from the homeserver's shared secret (`accounts.py`); each person then logs in with
their password like any client. The admin creates the community's space with two rooms in it
(`general`, and `announcements`, which the story makes read-only), a private moderators' room and
a private room for the bot's log, gives the bot power level 100 and the moderator 50, and invites
the bot to the space and the private rooms; once it runs, the bot accepts and joins the space's
rooms by itself, as the README describes.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.demo.accounts import Registered, register_user
from bot.demo.homeserver import SynapseServer
from bot.demo.person import Person

COMMUNITY_NAME = "Demo Community"
MAIL_DOMAIN = "example.org"
# (localpart, is a server admin, what they are in the story)
PEOPLE = (
    ("admin", True, "the community's admin"),
    ("mod", False, "a moderator"),
    ("alice", False, "a member who verifies by e-mail"),
    ("bob", False, "a member who asks a moderator to verify him"),
    ("carol", False, "a member who does not verify"),
)
BOT_LOCALPART = "verifybot"


@dataclass
class Cast:
    admin: Person
    mod: Person
    alice: Person
    bob: Person
    carol: Person
    bot: Registered  # the bot's own account (its token goes into the bot's config)
    roles: dict[str, str]  # name -> what they are in the story

    @property
    def people(self) -> list[Person]:
        return [self.admin, self.mod, self.alice, self.bob, self.carol]


@dataclass
class Places:
    space: str
    general: str
    announcements: str
    moderators: str
    log: str

    def names(self) -> dict[str, str]:
        return {
            self.space: COMMUNITY_NAME,
            self.general: "#general",
            self.announcements: "#announcements",
            self.moderators: "#moderators",
            self.log: "#bot-log",
        }


def password() -> str:
    """A fresh password for each run (the server lives as long as the demo, on loopback)."""
    return secrets.token_urlsafe(9)


async def make_cast(server: SynapseServer) -> Cast:
    people: dict[str, Person] = {}
    for localpart, admin, _ in PEOPLE:
        account = await register_user(server, localpart, admin=admin, password=password())
        person = Person(
            localpart, server.base_url, server.server_name, account.user_id, account.password
        )
        await person.log_in()
        people[localpart] = person
    bot = await register_user(server, BOT_LOCALPART, password=password())
    roles = {localpart: role for localpart, _, role in PEOPLE}
    return Cast(bot=bot, roles=roles, **people)


async def make_community(cast: Cast) -> Places:
    """The space, its rooms and the two private rooms; everyone where they belong."""
    admin, bot_id, mod_id = cast.admin, cast.bot.user_id, cast.mod.user_id
    staff = {bot_id: 100, mod_id: 50}
    space = await admin.create_room(COMMUNITY_NAME, space=True, power_users=staff)
    general = await admin.create_room(
        "general", power_users=staff, topic="Everything about the Demo Community"
    )
    announcements = await admin.create_room(
        "announcements", power_users=staff, topic="News from the organisers"
    )
    for room in (general, announcements):
        await admin.add_child(space, room)
    moderators = await admin.create_room(
        "moderators", preset="private_chat", power_users=staff, invite=[mod_id]
    )
    log = await admin.create_room("bot-log", preset="private_chat", power_users={bot_id: 100})
    # the README's way: the bot is invited to the space (it joins the space's rooms by itself)
    # and to the private rooms its config names
    for room in (space, moderators, log):
        await admin.invite(room, bot_id)
    await cast.mod.join(moderators)
    members = [cast.mod, cast.alice, cast.bob, cast.carol]
    await asyncio.gather(*(join_all(p, (space, general, announcements)) for p in members))
    return Places(space, general, announcements, moderators, log)


async def join_all(person: Person, rooms: tuple[str, ...]) -> None:
    for room in rooms:
        await person.join(room)


async def wait_for_bot(cast: Cast, places: Places, *, within: float) -> None:
    """Until the running bot has accepted every invitation (it does so by itself)."""
    rooms = (places.space, places.general, places.announcements, places.moderators, places.log)
    deadline = asyncio.get_running_loop().time() + within
    for room in rooms:
        while await cast.admin.membership(room, cast.bot.user_id) != "join":
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the bot did not join the community's rooms in time")
            await asyncio.sleep(0.1)


def bot_config(
    directory: Path,
    *,
    server: SynapseServer,
    cast: Cast,
    places: Places,
    smtp_port: int,
    web_port: int,
) -> Path:
    """The bot's config.toml, as a README reader writes it; its secrets in files beside it."""
    token, key = directory / "matrix-token", directory / "identity-key"
    token.write_text(cast.bot.access_token)
    key.write_text(secrets.token_hex(32))
    for secret in (token, key):
        secret.chmod(0o600)
    config = directory / "config.toml"
    config.write_text(
        f"""# written by `verifybot demo` for its local homeserver and mail catcher
[database]
url = "sqlite+aiosqlite:///{directory / "verifybot.db"}"

[web]
base_url = "http://127.0.0.1:{web_port}"
listen_host = "127.0.0.1"
listen_port = {web_port}

[identity]
hash_key = {{ file = "{key}" }}

[methods.email_code]
allowed_domains = ["{MAIL_DOMAIN}"]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
smtp_starttls = false
sender = "verifybot@{MAIL_DOMAIN}"

[methods.moderator]
level = "reviewed"

[matrix]
homeserver = "{server.base_url}"
user_id = "{cast.bot.user_id}"
access_token = {{ file = "{token}" }}

[[communities]]
network = "matrix"
id = "{places.space}"
name = "{COMMUNITY_NAME}"
moderator_channel = "{places.moderators}"
log_channel = "{places.log}"

[logging]
level = "INFO"
"""
    )
    return config
