"""The demo's story, scene by scene: every feature acting through the bot's real code paths.

Alice verifies with an e-mail code, Bob through a moderator's review; their badges appear; Alice
turns on her filter and Carol's unverified reply to her is held; the admin makes #announcements
read-only; Bob reports Carol's spam and the moderator resolves it; Alice takes a copy of her data
and has it erased. Each scene acts as the people would (their clients, browser and inbox) and
checks what they would see; nothing here reaches into the bot.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time

from bot.demo.browser import Browser
from bot.demo.community import MAIL_DOMAIN
from bot.demo.mail import code_in
from bot.demo.person import Person, Refused
from bot.demo.stage import WAIT, Stage, StoryFailed


async def tell(stage: Stage) -> str | None:
    """The whole story, in order; raises StoryFailed saying what did not happen. Returns the
    admin's dashboard sign-in link, when the bot has a dashboard."""
    browser = Browser()
    try:
        await verify_by_email(stage, browser)
        await verify_by_review(stage, browser)
        await badges_seen(stage)
        await filter_holds_a_reply(stage)
        await read_only_room(stage)
        await report_resolved(stage)
        await export_and_erase(stage)
        return await dashboard(stage)
    finally:
        await browser.close()


def _link(text: str) -> str:
    found = re.search(r"(https?://\S+/verify/\S+)", text)
    if found is None:
        raise StoryFailed("the bot's message held no verification link")
    return found.group(1)


async def _open_link(stage: Stage, browser: Browser, person: Person) -> str:
    """`!verify` in #general; the link arrives privately; the person opens it."""
    await stage.say(person, stage.places.general, "!verify")
    link = _link((await stage.told(person, "/verify/")).body)
    page = await browser.open(link)
    if page.status != 200:
        raise StoryFailed(f"the verification page answered {page.status}")
    stage.transcript.saw(
        f"{person.name}'s browser opens the link: “{page.title}” offers "
        + " or ".join(f"“{m}”" for m in page.methods)
    )
    return link


async def verify_by_email(stage: Stage, browser: Browser) -> None:
    stage.transcript.heading("Alice verifies with an e-mail code")
    alice = stage.cast.alice
    link = await _open_link(stage, browser, alice)
    address = f"alice@{MAIL_DOMAIN}"
    before = len(stage.mail.messages)
    page = await browser.choose(await browser.open(link), "email_code", address=address)
    stage.transcript.saw(f"alice types {address} and sends it; the page says: {page.says}")
    try:
        mail = await stage.mail.next_to(address, after=before, within=WAIT)
    except TimeoutError:
        raise StoryFailed("no e-mail reached the local mail catcher") from None
    code = code_in(mail)
    stage.transcript.saw(f"alice's inbox (the local mail catcher): “{mail.subject}”, code {code}")
    done = await browser.submit(page, {"code": code})
    stage.transcript.saw(f"alice types the code; the page says: {done.says}")
    if "verified" not in done.says.lower():
        raise StoryFailed(f"the code was not accepted: {done.says}")
    await stage.told(alice, "Verified badge")


async def verify_by_review(stage: Stage, browser: Browser) -> None:
    stage.transcript.heading("Bob is verified by a moderator's review")
    bob, mod, mods = stage.cast.bob, stage.cast.mod, stage.places.moderators
    link = await _open_link(stage, browser, bob)
    page = await browser.choose(await browser.open(link), "moderator")
    stage.transcript.saw(f"bob asks for a moderator's review; the page says: {page.says}")
    await stage.in_room(mod, mods, "asks to be verified")
    await stage.say(mod, mods, f"!approve {bob.user_id}")
    await stage.in_room(mod, mods, "approved")
    await stage.told(bob, "You are verified")


async def badges_seen(stage: Stage) -> None:
    stage.transcript.heading("Badges appear")
    alice, bob, carol = stage.cast.alice, stage.cast.bob, stage.cast.carol
    await stage.badge_shows(carol, alice, shown=True)
    await stage.badge_shows(carol, bob, shown=True)
    space = await alice.invitation_from(stage.bot_id, direct=False, within=WAIT)
    await alice.join(space)
    stage.transcript.names[space] = "the Verified space"
    stage.transcript.saw("alice accepts the bot's invitation to the community's Verified space")
    await stage.say(carol, stage.places.general, f"!badge {alice.user_id}")
    await stage.told(carol, "verified")


async def filter_holds_a_reply(stage: Stage) -> None:
    stage.transcript.heading("Alice filters replies from unverified accounts")
    alice, bob, carol = stage.cast.alice, stage.cast.bob, stage.cast.carol
    general = stage.places.general
    await stage.say(alice, general, "!filter replies")
    await stage.told(alice, "Your filter is now replies")
    post = await stage.say(alice, general, "Picnic on Saturday at noon — who is coming?")
    welcome = await stage.say(bob, general, "Count me in!", reply_to=post)
    sent = time.monotonic()
    unwanted = await stage.say(carol, general, "Nobody wants your picnic.", reply_to=post)
    await stage.removed(alice, general, unwanted, sent)
    if await _redacted(alice, general, welcome):
        raise StoryFailed("bob's reply was removed, though he is verified")
    stage.transcript.saw("bob's reply stays: he is verified")
    await stage.told(carol, "was removed")
    await stage.say(alice, stage.dms["alice"], "!held")
    await stage.told(alice, "Held for you")


async def _redacted(person: Person, room_id: str, event_id: str) -> bool:
    event = await person.event(room_id, event_id)
    return "redacted_because" in event.get("unsigned", {}) or not event.get("content")


async def read_only_room(stage: Stage) -> None:
    stage.transcript.heading("The admin makes #announcements read-only")
    admin, alice, carol = stage.cast.admin, stage.cast.alice, stage.cast.carol
    room = stage.places.announcements
    await stage.say(admin, stage.places.general, "!policy announcements read_only")
    await stage.told(admin, "read only")
    stage.transcript.said("carol", "#announcements", "Can I post here?")
    try:
        await carol.say(room, "Can I post here?")
    except Refused as refused:
        stage.transcript.saw(
            f"the homeserver refuses carol's message ({refused.errcode}): unverified members"
            " read #announcements but cannot post there, even while the bot is down"
        )
    else:
        raise StoryFailed("carol could still post in the read-only room")
    await stage.say(alice, room, "The picnic moves to Sunday.")
    stage.transcript.saw("alice's message goes through: she is verified")


async def report_resolved(stage: Stage) -> None:
    stage.transcript.heading("Bob reports a message; the moderator resolves it")
    bob, carol, mod = stage.cast.bob, stage.cast.carol, stage.cast.mod
    general, mods = stage.places.general, stage.places.moderators
    spam = await stage.say(carol, general, "Cheap watches at my shop, message me!")
    await stage.say(bob, general, "!report spam she posts this every day", reply_to=spam)
    notice = await stage.in_room(mod, mods, "Report #")
    found = re.search(r"Report #(\d+)", notice.body)
    if found is None:
        raise StoryFailed("the moderators' notice named no report number")
    await stage.told(bob, f"report #{found.group(1)}")
    sent = time.monotonic()
    await stage.say(mod, mods, f"!resolve {found.group(1)} removed")
    await stage.removed(bob, general, spam, sent)
    await stage.told(bob, "have looked at your report")
    await stage.in_room(mod, mods, f"Report #{found.group(1)} was resolved")


async def export_and_erase(stage: Stage) -> None:
    stage.transcript.heading("Alice takes a copy of her data, then has it erased")
    alice, carol = stage.cast.alice, stage.cast.carol
    dm = stage.dms["alice"]
    await stage.say(alice, dm, "!mydata")
    await stage.told(alice, "everything I keep")
    try:
        file = await alice.wait_for(
            lambda e: e.room_id == dm and e.content.get("msgtype") == "m.file", within=WAIT
        )
    except TimeoutError:
        raise StoryFailed("alice received no file with her data") from None
    data = json.loads(await alice.download(str(file.content["url"])))
    rows = ", ".join(f"{name} ({len(r)})" for name, r in data.get("tables", {}).items() if r)
    stage.transcript.saw(f"alice downloads {file.body}: rows about her in {rows}")
    await stage.say(alice, dm, "!forget")
    await stage.told(alice, "This erases everything")
    await stage.say(alice, dm, "!forget confirm")
    await stage.told(alice, "Done: I erased everything")
    await stage.badge_shows(carol, alice, shown=False)


async def dashboard(stage: Stage) -> str | None:
    """The admins' dashboard, once the bot has one: a one-time sign-in link, sent privately.
    Returns the link, or None when there is no dashboard (yet) to sign in to."""
    if importlib.util.find_spec("cogs.dashboard") is None:
        return None
    stage.transcript.heading("The admin asks for the dashboard")
    await stage.say(stage.cast.admin, stage.places.general, "!dashboard")
    try:
        answer = await stage.told(stage.cast.admin, "")  # whatever the bot answers
    except StoryFailed:
        return None
    found = re.search(r"https?://\S+", answer.body)
    return found.group(0) if found else None
