"""`verifybot demo`: everything the story needs, started in order and stopped in reverse.

A temporary directory holds it all: Synapse (its config, SQLite database and log), the bot's
config.toml, secrets and database. The mail catcher and the bot run in this process; the bot is
assembled from its config.toml by `bot.app.Application`, exactly as `verifybot run` does. Ctrl-C
or SIGTERM, at any moment, stops the story, the bot and its web service, the mail catcher and
Synapse, and removes the directory; so does the end of a `--no-wait` run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.checks import static_checks
from bot.config import ConfigError, load_config
from bot.demo import community
from bot.demo.homeserver import SynapseServer, free_port, start_synapse, stop_synapse
from bot.demo.mail import Captured, MailCatcher, code_in
from bot.demo.person import Person
from bot.demo.stage import Stage, StoryFailed
from bot.demo.story import tell
from bot.demo.transcript import BotActivity, Transcript
from bot.logs import CHATTY_LIBRARIES

EXIT_OK, EXIT_FAILURE = 0, 1
BOT_START_SECONDS = 60.0
BOT_STOP_SECONDS = 20.0


class Demo:
    """What is running, so that `close` stops exactly that, whatever moment the stop comes."""

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self.directory = Path(tempfile.mkdtemp(prefix="verifybot-demo-"))
        self.server: SynapseServer | None = None
        self.mail = MailCatcher()
        self.people: list[Person] = []
        self.bot: asyncio.Task[bool] | None = None
        self.bot_stop, self.bot_force = asyncio.Event(), asyncio.Event()
        self.activity = BotActivity(transcript)

    async def play(self, wait: bool) -> int:
        t = self.transcript
        t.heading("Setting up")
        await self._start_homeserver()
        assert self.server is not None
        await self.mail.start()
        t.note(f"mail catcher (aiosmtpd) on 127.0.0.1:{self.mail.port}: e-mail stays here")
        cast = await community.make_cast(self.server)
        self.people = cast.people
        t.note("registered " + ", ".join(p.user_id for p in cast.people) + f", {cast.bot.user_id}")
        places = await community.make_community(cast)
        t.names.update(places.names())
        t.note(
            f"{community.COMMUNITY_NAME}: a space with #general and #announcements; private"
            " #moderators and #bot-log; the bot invited to the space and the private rooms,"
            " the moderator at power level 50"
        )
        for person in cast.people:
            await person.sync()  # from here on, what arrives is news
        web_port = free_port()
        config_path = community.bot_config(
            self.directory,
            server=self.server,
            cast=cast,
            places=places,
            smtp_port=self.mail.port,
            web_port=web_port,
        )
        if not await self._start_bot(config_path):
            return EXIT_FAILURE
        await community.wait_for_bot(cast, places, within=BOT_START_SECONDS)
        t.note("verifybot accepted its invitations and joined the community's rooms")
        web_url = f"http://127.0.0.1:{web_port}"
        stage = Stage(cast, places, self.mail, web_url, t)
        began = t.elapsed()
        story = asyncio.ensure_future(tell(stage))
        await self._watching_bot(story)
        t.heading(f"The story took {t.elapsed() - began:.1f} s")
        if not wait:
            return EXIT_OK
        self.mail.on_message = self._show_mail
        self._print_login(cast, web_url, story.result(), config_path)
        await self._watching_bot(asyncio.ensure_future(asyncio.Event().wait()))
        return EXIT_OK

    def _show_mail(self, mail: Captured) -> None:
        """While people try it themselves, the codes the bot mails are read here."""
        try:
            said = f"code {code_in(mail)}"
        except LookupError:
            said = "no code in it"
        self.transcript.note(f"mail catcher: to {mail.to}, “{mail.subject}”: {said}")

    async def _start_homeserver(self) -> None:
        """Synapse, started in a thread; if a stop comes meanwhile, it is stopped once started."""
        starting = asyncio.ensure_future(asyncio.to_thread(start_synapse, self.directory / "hs"))
        try:
            self.server = await asyncio.shield(starting)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.server = await starting
            raise
        version = await _synapse_version()
        self.transcript.note(
            f"Synapse {version} (process {self.server.process.pid}) on {self.server.base_url},"
            f" server name {self.server.server_name}, SQLite, in {self.directory}"
        )

    async def _start_bot(self, config_path: Path) -> bool:
        """The bot, from its config.toml, checked and assembled as `verifybot run` does."""
        try:
            loaded = load_config(config_path)
        except ConfigError as exc:
            self.transcript.note(f"the demo's config has problems: {'; '.join(exc.problems)}")
            return False
        found = static_checks(loaded.config)
        if found.problems:
            self.transcript.note(f"the demo's config has problems: {'; '.join(found.problems)}")
            return False
        self._listen_to_the_bot()
        self.transcript.note(f"starting verifybot from {config_path} (as `verifybot run` does)")
        app = Application(loaded.config)
        self.bot = asyncio.ensure_future(app.serve(self.bot_stop, self.bot_force))
        return True

    def _listen_to_the_bot(self) -> None:
        """The bot's own log in the transcript; libraries' chatter stays out, as at INFO."""
        root = logging.getLogger()
        root.addHandler(self.activity)
        root.setLevel(logging.INFO)
        for name in CHATTY_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)

    async def _watching_bot(self, task: asyncio.Future[Any]) -> None:
        """Await `task`; if the bot stops meanwhile, that is a failure to say, not a hang."""
        assert self.bot is not None
        try:
            await asyncio.wait({task, self.bot}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            error = self.bot.exception() if not self.bot.cancelled() else None
            raise StoryFailed(f"the bot stopped on its own ({error or 'no error'})")
        task.result()

    def _print_login(
        self, cast: community.Cast, web_url: str, dashboard: str | None, config_path: Path
    ) -> None:
        assert self.server is not None
        t = self.transcript
        t.heading("Everything keeps running: try it yourself")
        t.plain(f"Homeserver  {self.server.base_url}")
        t.plain('            (any Matrix client, e.g. Element: "other homeserver", this URL)')
        for person in cast.people:
            role = cast.roles.get(person.name, "")
            t.plain(f"  {person.user_id:<20} password {person.password:<14} {role}")
        t.plain(f"The bot     {cast.bot.user_id}, configured by {config_path}")
        if dashboard is not None:
            t.plain(f"Dashboard   {dashboard}")
            t.plain("            (works once; the admin sends !dashboard in #general for another)")
        t.plain(f"Web service {web_url} (the verification pages; /healthz, /metrics)")
        t.plain("E-mail      codes go to the local mail catcher; use any address @example.org")
        t.plain("Press Ctrl-C to stop everything.")

    async def close(self) -> None:
        """Stop what runs, newest first, and remove the directory."""
        logging.getLogger().removeHandler(self.activity)
        if self.bot is not None:
            self.bot_stop.set()
            done, _ = await asyncio.wait({self.bot}, timeout=BOT_STOP_SECONDS)
            if not done:
                self.bot_force.set()
                await asyncio.wait({self.bot}, timeout=BOT_STOP_SECONDS)
            if self.bot.done() and not self.bot.cancelled():
                self.bot.exception()  # seen: a failure was already said in the transcript
        for person in self.people:
            await person.close()
        await self.mail.stop()
        if self.server is not None:
            await asyncio.to_thread(stop_synapse, self.server)
        shutil.rmtree(self.directory, ignore_errors=True)


async def _synapse_version() -> str:
    from importlib.metadata import version

    return await asyncio.to_thread(version, "matrix-synapse")


async def _demo(wait: bool) -> int:
    transcript = Transcript()
    demo = Demo(transcript)
    work = asyncio.ensure_future(demo.play(wait))
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not work.done() and not work.cancelled():
            transcript.note(f"{sig.name}: stopping the story, the bot, the mail catcher, Synapse")
            work.cancel()
        else:
            demo.bot_force.set()  # a second one: no patience for a slow shutdown

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        return await work
    except asyncio.CancelledError:
        return EXIT_OK  # asked to stop: a clean stop
    except StoryFailed as exc:
        transcript.note(f"the story stopped: {exc}")
        return EXIT_FAILURE
    except Exception as exc:
        transcript.note(f"the demo failed: {type(exc).__name__}: {exc}")
        if demo.server is not None:
            said = demo.server.log_tail(400).splitlines()
            trouble = [line for line in said if " ERROR " in line or " WARNING " in line]
            transcript.plain("\n".join(["Synapse's warnings and errors:", *trouble[-10:]]))
        return EXIT_FAILURE
    finally:
        await demo.close()
        transcript.note("stopped; nothing left running, the temporary directory removed")
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def play(wait: bool) -> int:
    return asyncio.run(_demo(wait))
