"""/metrics as an operator scrapes it: on the pages' port or its own, behind a token when one is
set, parseable by Prometheus' own parser, and naming nobody after a realistic run."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Application
from bot.config import Config, parse_config
from bot.core import BotCore
from bot.metrics_collect import DISCORD, MATRIX
from bot.model import Actor, ChannelRef, MemberRef, MessagePosted, MessageRef, Role
from bot.storage.repo import Store
from bot.web.app import WebServer, create_app
from cogs.badges import Badges
from cogs.filters import Filters
from cogs.help import Help
from cogs.verification import Verification
from tests.fixtures.smtp import SmtpCapture
from tests.integration.verification.harness import (
    ALICE,
    BOB,
    HASH_KEY,
    MOD,
    SPACE,
    csrf_of,
    form_action,
)
from tests.recording import RecordingAdapter

TOKEN = "scrape-me-0123456789abcdef"
ROOM = ChannelRef(SPACE, "!kitchen:hs")
ADDRESS = "ann@example.org"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_config(tmp_path: Path, **web: object) -> Config:
    port = free_port()
    return parse_config(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/bot.db"},
            "web": {"listen_port": port, "base_url": f"http://127.0.0.1:{port}", **web},
        }
    ).config


def pages_config(base_url: str, smtp: SmtpCapture) -> Config:
    """Moderator review and e-mail codes in one community on Matrix."""
    email = {
        "allowed_domains": ["example.org"],
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_starttls": False,
        "sender": "verifybot@example.org",
    }
    return parse_config(
        {
            "web": {"base_url": base_url, "enabled": False},
            "identity": {"hash_key": {"value": HASH_KEY}},
            "methods": {"moderator": {"level": "reviewed"}, "email_code": email},
            "communities": [{"network": "matrix", "id": SPACE.id, "moderator_channel": "!mods:hs"}],
            "matrix": {
                "homeserver": "http://127.0.0.1:9",
                "user_id": "@bot:hs",
                "access_token": {"value": "unused"},
            },
        }
    ).config


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def fetch(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str, str]:
    async with http.get(url, headers=headers) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), await answer.text()


def parsed(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


async def test_metrics_on_their_own_port_and_not_on_the_pages_port(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    metrics_port = free_port()
    config = app_config(tmp_path, metrics_port=metrics_port)
    app = Application(config)
    await app.start()
    try:
        own = f"http://127.0.0.1:{metrics_port}"
        status, content_type, text = await fetch(http, f"{own}/metrics")
        assert status == 200 and content_type.startswith("text/plain; version=")
        families = parsed(text)
        assert families["verifybot_actions"] == "counter"
        assert families["verifybot_decision_seconds"] == "histogram"
        assert families["verifybot_cache_lookups"] == "counter"
        assert (await fetch(http, f"{own}/healthz"))[::2] == (200, "ok")
        pages = config.web.base_url
        assert (await fetch(http, f"{pages}/metrics"))[0] == 404
        assert (await fetch(http, f"{pages}/healthz"))[0] == 404
    finally:
        await app.stop()


@pytest.mark.parametrize("own_port", [False, True], ids=["pages port", "own port"])
async def test_a_token_is_required_when_one_is_set(
    tmp_path: Path,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    own_port: bool,
) -> None:
    monkeypatch.setenv("VERIFYBOT_TEST_METRICS_TOKEN", TOKEN)
    extra: dict[str, object] = {"metrics_token": {"env": "VERIFYBOT_TEST_METRICS_TOKEN"}}
    if own_port:
        extra["metrics_port"] = free_port()
    config = app_config(tmp_path, **extra)
    app = Application(config)
    await app.start()
    try:
        port = config.web.metrics_port or config.web.listen_port
        url = f"http://127.0.0.1:{port}/metrics"
        assert (await fetch(http, url))[0] == 401
        assert (await fetch(http, url, Authorization="Bearer wrong"))[0] == 401
        assert (await fetch(http, url, Authorization=f"Basic {TOKEN}"))[0] == 401
        status, _, text = await fetch(http, url, Authorization=f"Bearer {TOKEN}")
        assert status == 200 and parsed(text)["verifybot_commands"] == "counter"
        healthz = f"http://127.0.0.1:{port}/healthz"
        assert (await fetch(http, healthz))[0] == 200  # a load balancer sends no token
    finally:
        await app.stop()


async def test_a_scrape_after_a_realistic_run_counts_it_and_names_no_one(
    store: Store, smtp_server: SmtpCapture, http: aiohttp.ClientSession
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = pages_config(base, smtp_server)
    adapter = RecordingAdapter(served=[SPACE])
    adapter.members = {m: {SPACE} for m in (ALICE, BOB, MOD)}
    core = BotCore(config, store, adapters=[adapter], cogs=[Help, Verification, Badges, Filters])
    await core.start()
    service = core.cog(Verification).service
    server = WebServer(create_app(core, service), sock=sock)
    await server.start()
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        seen = await realistic_run(core, adapter, browser, base, smtp_server)
        status, _, text = await fetch(http, f"{base}/metrics")
    finally:
        await browser.close()
        await server.stop()
        await core.stop()
    assert status == 200
    figures = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return figures[(name, tuple(sorted(labels.items())))]

    assert value("verifybot_actions_total", kind="withhold") == 1
    assert value("verifybot_decision_seconds_count") >= 1
    assert value("verifybot_checks_total", method="moderator", outcome="started") == 1
    assert value("verifybot_checks_total", method="moderator", outcome="completed") == 1
    assert value("verifybot_checks_total", method="email_code", outcome="started") == 1
    assert value("verifybot_checks_total", method="email_code", outcome="completed") == 1
    assert value("verifybot_web_pages_total", page="link") == 2
    assert value("verifybot_web_pages_total", page="choose") == 3
    assert value("verifybot_web_pages_total", page="email_code_submit") == 2
    assert value("verifybot_web_forms_refused_total", reason="cross_site") == 1
    assert value("verifybot_commands_total", outcome="ok") >= 4

    labels = {(k, v) for (_, pairs) in figures for k, v in pairs}
    ids = {ALICE.id, BOB.id, MOD.id, SPACE.id, ROOM.id, "$bob-reply", ADDRESS, *seen}
    assert not [(v, i) for _, v in labels for i in ids if i in v]
    # nor anything shaped like an id (a bucket's bound is a number, not an id)
    assert not [v for k, v in labels if k != "le" and re.search(r"[@!$:/]|\d{6}", v)]


async def realistic_run(
    core: BotCore,
    adapter: RecordingAdapter,
    browser: aiohttp.ClientSession,
    base: str,
    smtp: SmtpCapture,
) -> set[str]:
    """A filtered reply held, a moderator review and an e-mail code (one wrong try), a forged
    form; returns the links' tokens and check ids used (none may become a label)."""
    seen: set[str] = set()

    async def command(name: str, *words: str, member: MemberRef, role: Role = Role.MEMBER) -> str:
        await core.handle_command(
            adapter, adapter.invoke(name, *words, member=member, community=SPACE, role=role)
        )
        return adapter.last_reply()

    async def link(member: MemberRef) -> str:
        found = re.search(r"(http://\S+/verify/(\S+))", await command("verify", member=member))
        assert found
        seen.add(found.group(2))
        return found.group(1)

    async def post(url: str, data: dict[str, str], **headers: str) -> tuple[int, str]:
        async with browser.post(url, data=data, headers=headers, allow_redirects=False) as r:
            return r.status, await r.text()

    async def choose(url: str, method: str, **fields: str) -> tuple[int, str]:
        async with browser.get(url) as page:
            csrf = csrf_of(await page.text())
        return await post(url, {"csrf": csrf, "method": method, **fields})

    await command("filter", "replies", member=ALICE)
    reply = MessagePosted(
        MessageRef(ROOM, "$bob-reply"), Actor(BOB), text="hello", reply_to_author=ALICE
    )
    await core.handle_event(adapter, reply)

    bob_link = await link(BOB)
    status, _ = await choose(bob_link, "moderator")
    assert status == 200
    forged = await post(bob_link, {"method": "moderator"}, Origin="https://elsewhere.example")
    assert forged[0] == 403
    await command("approve", BOB.id, member=MOD, role=Role.MODERATOR)

    status, page = await choose(await link(ALICE), "email_code", address=ADDRESS)
    assert status == 200, page
    action = form_action(page)
    seen.add(action.rsplit("/", 1)[1])
    wrong = "111111" if smtp.last_code() != "111111" else "222222"
    await post(f"{base}{action}", {"csrf": csrf_of(page), "code": wrong})
    status, page = await post(f"{base}{action}", {"csrf": csrf_of(page), "code": smtp.last_code()})
    assert status == 200, page
    assert await core.store.get_verification(ALICE) is not None
    assert await core.store.get_verification(BOB) is not None
    return seen


README_TEXT = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


async def test_every_series_the_readme_names_is_served(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """An operator copies names from the README into alerts: each must exist (the adapters'
    families show once their network is connected, so those are checked by definition)."""
    named = set(re.findall(r"\bverifybot_[a-z_]+[a-z]\b", README_TEXT))
    assert len(named) >= 5
    config = app_config(tmp_path)
    app = Application(config)
    await app.start()
    try:
        _, _, text = await fetch(http, f"{config.web.base_url}/metrics")
    finally:
        await app.stop()
    served = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    served |= {family.name for family in text_string_to_metric_families(text)}
    for family in (*DISCORD, *MATRIX):
        served |= {family.name, f"{family.name}_total"}
    assert sorted(named - served) == []
