"""A member verified, revoked or erased through another process gets the badge right here at
once: the cross-process invalidation that refreshes the cache also refreshes the badge in the
communities this process serves (before, it waited for the next periodic badge check).

The other process is stood in for by writing to the database directly and delivering the
invalidation it would publish (`ReadCache.apply_invalidation`, which PostgreSQL's LISTEN/NOTIFY
calls in a real deployment).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import parse_config
from bot.core import BotCore
from bot.model import CommunityRef, MemberRef
from bot.storage.records import VerificationRecord
from bot.storage.repo import Store
from cogs.badges import Badges
from tests.recording import RecordingAdapter
from tests.waiting import wait_until

SPACE = CommunityRef("matrix", "!space:hs")
VERA = MemberRef("matrix", "@vera:hs")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    {
        "identity": {"hash_key": {"value": "k" * 32}},
        "methods": {"moderator": {"level": "reviewed"}},
        "defaults": {"badge_check_minutes": 0},
    }
).config


async def test_a_change_made_elsewhere_shows_on_the_badge_here(store: Store) -> None:
    adapter = RecordingAdapter(served=[SPACE])
    adapter.members = {VERA: {SPACE}}
    core = BotCore(CONFIG, store, adapters=[adapter], cogs=[Badges], clock=lambda: NOW)
    await core.start()
    try:
        await core.cache.verification(VERA)  # cached here as not verified
        await store.save_verification(  # the other process verifies her
            VerificationRecord("matrix", VERA.id, "moderator", "reviewed", "v" * 64, NOW)
        )
        core.cache.apply_invalidation("verification", ("matrix", VERA.id))
        await wait_until(lambda: (VERA, SPACE) in adapter.badges, what="the badge shows here")

        await store.revoke_verification(VERA, by="@mod:hs", reason="spam", at=NOW)
        core.cache.apply_invalidation("verification", ("matrix", VERA.id))
        await wait_until(lambda: (VERA, SPACE) not in adapter.badges, what="the badge goes")

    finally:
        await core.stop()
