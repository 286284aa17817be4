"""The compact per-member facts the hot path reads: every value round-trips, memory stays
bounded, a write beats a load under way, and the rate window counts as a list of times would."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.model import CommunityRef, FilterLevel, MemberRef
from bot.storage.memory import SharedLoads
from bot.storage.packed import UNKNOWN, MemberFacts, RateCounts
from bot.storage.records import VerificationRecord

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MEMBER = MemberRef("discord", "300000000000000001")
PLACES = [CommunityRef("discord", str(800 + i)) for i in range(6)]

expiries = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
)
filters = st.one_of(st.none(), st.sampled_from(list(FilterLevel)))


def record(level: str, expires_at: datetime | None, revoked: bool = False) -> VerificationRecord:
    return VerificationRecord(
        "discord",
        MEMBER.id,
        "email",
        level,
        "a" * 64,
        NOW,
        expires_at,
        revoked_at=NOW if revoked else None,
    )


@given(
    level=st.text(min_size=1, max_size=12),
    expires_at=expiries,
    revoked=st.booleans(),
    chosen=st.lists(filters, min_size=1, max_size=len(PLACES)),
    refusals=st.lists(st.booleans(), min_size=1, max_size=len(PLACES)),
)
def test_every_level_filter_and_expiry_round_trips(
    level: str,
    expires_at: datetime | None,
    revoked: bool,
    chosen: list[FilterLevel | None],
    refusals: list[bool],
) -> None:
    facts = MemberFacts(10)
    facts.set_verification(MEMBER, record("other", NOW))  # replaced below
    for place, level_chosen in zip(PLACES, chosen, strict=False):
        facts.set_filter(place, MEMBER, level_chosen)
    for place, refused in zip(PLACES, refusals, strict=False):
        facts.set_refused(place, MEMBER, refused)
    facts.set_verification(MEMBER, record(level, expires_at, revoked))
    if revoked:
        assert facts.verification(MEMBER) is None
    else:
        assert facts.verification(MEMBER) == (level, expires_at)
    for place, level_chosen in zip(PLACES, chosen, strict=False):
        assert facts.filter(place, MEMBER) == level_chosen
    for place, refused in zip(PLACES, refusals, strict=False):
        assert facts.refused(place, MEMBER) is refused
    assert facts.filter(PLACES[-1], MemberRef("discord", "2")) is UNKNOWN


def test_forgetting_one_fact_keeps_the_others() -> None:
    facts = MemberFacts(10)
    facts.set_verification(MEMBER, record("basic", NOW))
    facts.set_filter(PLACES[0], MEMBER, FilterLevel.ALL)
    facts.set_refused(PLACES[1], MEMBER, True)
    facts.set_filter(PLACES[0], MEMBER, UNKNOWN)
    assert facts.filter(PLACES[0], MEMBER) is UNKNOWN
    assert facts.verification(MEMBER) == ("basic", NOW)
    facts.forget_refusals(MEMBER)
    assert facts.refused(PLACES[1], MEMBER) is UNKNOWN
    facts.forget_verification(MEMBER)
    assert facts.verification(MEMBER) is UNKNOWN
    assert len(facts) == 0  # nothing known left: the account is not kept


def test_memory_stays_bounded_and_accounts_read_lately_survive() -> None:
    facts = MemberFacts(100)
    kept = MemberRef("discord", "kept")
    facts.set_verification(kept, None)
    for i in range(1000):
        facts.verification(kept)  # read all along: a second chance at every sweep
        facts.set_filter(PLACES[0], MemberRef("discord", str(i)), FilterLevel.REPLIES)
        assert len(facts) <= 100
    assert facts.verification(kept) is None
    assert facts.filter(PLACES[0], MemberRef("discord", "999")) is FilterLevel.REPLIES
    assert facts.filter(PLACES[0], MemberRef("discord", "0")) is UNKNOWN  # evicted: reloaded


async def test_a_write_during_a_load_wins() -> None:
    loads: SharedLoads[str, int] = SharedLoads()
    kept: list[int] = []
    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 1  # what storage held before the write

    task = asyncio.create_task(loads.load("k", slow, kept.append))
    await asyncio.sleep(0)
    loads.overtake("k")  # the write lands and reaches the cache first
    release.set()
    assert await task == 1 and kept == []


async def test_callers_missing_the_same_key_share_one_load() -> None:
    loads: SharedLoads[str, int] = SharedLoads()
    calls: list[int] = []

    async def fetch() -> int:
        calls.append(1)
        await asyncio.sleep(0)
        return 7

    kept: list[int] = []
    found = await asyncio.gather(*(loads.load("k", fetch, kept.append) for _ in range(50)))
    assert found == [7] * 50 and calls == [1] and kept == [7]


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=40_000), max_size=60),
    keep=st.integers(min_value=1, max_value=15),
)
def test_the_rate_window_counts_like_a_list_of_times(gaps: list[int], keep: int) -> None:
    rates = RateCounts(window_seconds=60.0)
    now = 1_000_000  # milliseconds, so the reference has no rounding at the window's edge
    times: list[int] = []
    for gap in gaps:
        now += gap
        times = [t for t in times if now - t < 60_000] + [now]
        assert rates.hit(PLACES[0], MEMBER, now / 1000, keep) == min(len(times), keep)


def test_the_rate_window_forgets_quiet_senders_first() -> None:
    rates = RateCounts(window_seconds=60.0, max_tracked=80)
    busy = MemberRef("discord", "busy")
    for second in range(500):  # the busy sender writes every second, each other one once
        assert rates.hit(PLACES[0], busy, 1000.0 + second, 6) == min(second + 1, 6)
        assert rates.hit(PLACES[0], MemberRef("discord", str(second)), 1000.0 + second, 6) == 1
        assert rates._count <= 80


def test_expiry_is_exact_to_the_microsecond() -> None:
    facts = MemberFacts(10)
    ends = NOW + timedelta(microseconds=1)
    facts.set_verification(MEMBER, record("basic", ends))
    assert facts.verification(MEMBER) == ("basic", ends)
