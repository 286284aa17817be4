"""The figures the dashboard shows, from a seeded database: computed right by storage (on both
backends), and the very numbers the page shows in its charts' text alternatives."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.model import FilterLevel, MemberRef
from bot.storage.repo import Store
from bot.storage.stats import ReportCounts
from bot.web.dashboard.figures import gather
from tests.integration.dashboard.harness import (
    FILTERS,
    LOUNGE,
    MEMBERS,
    NOW,
    SPACE,
    WARNING,
    FactsAdapter,
    Site,
    hold,
    running,
    seed,
    verified,
)

TODAY = NOW.date()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


async def test_storage_counts_what_the_dashboard_shows(any_store: Store) -> None:
    adapter = FactsAdapter()
    await seed(any_store, adapter)
    holders = [m.id async for m in adapter.badge_holders(SPACE)]
    dates = await any_store.verified_dates(SPACE, holders, frozenset({"reviewed"}), NOW)
    # 12 verified here; not the expired, revoked, weaker, refused or badge-by-hand accounts
    assert len(dates) == 12
    assert await any_store.filter_counts(SPACE) == {k.value: v for k, v in FILTERS.items()}
    assert await any_store.filter_counts(LOUNGE) == {"all": 1}
    since = NOW - timedelta(days=29, hours=12)
    assert await any_store.held_per_day(SPACE, since) == {ago(0): 4, ago(1): 2, ago(10): 7}
    assert await any_store.report_counts(SPACE, NOW) == ReportCounts(open=3, overdue=2, urgent=1)
    assert await any_store.report_counts(LOUNGE, NOW) == ReportCounts(1, 1, 1)


async def test_the_figures_of_a_seeded_community(site: Site) -> None:
    figures = await gather(site.core, site.adapter, SPACE, NOW)
    assert (figures.verified, figures.members, figures.share) == (12, MEMBERS, 30)
    line = dict((day, n) for day, n in zip_rows(figures.verified_chart.rows))
    assert (line["24 Oct"], line["2 Nov"], line["12 Nov"], line["22 Nov"]) == (4, 5, 8, 12)
    assert len(line) == 30
    assert figures.filters == FILTERS and figures.default_filter is FilterLevel.OFF
    held = dict(zip_rows(figures.held_chart.rows))
    assert (held["22 Nov"], held["21 Nov"], held["12 Nov"], figures.held_total) == (4, 2, 7, 13)
    assert figures.reports == ReportCounts(3, 2, 1)
    assert figures.warnings == [WARNING]
    assert len(figures.audit) == 1 and "review approved · @v11:hs · by @mod:hs" in figures.audit[0]


async def test_the_page_shows_the_same_numbers(site: Site) -> None:
    page = await site.sign_in()
    assert "12 of 40 members (30%) are verified here." in page
    assert rows_of(page, "verified-table")["22 Nov"] == "12"
    assert rows_of(page, "verified-table")["24 Oct"] == "4"
    assert rows_of(page, "filters-table") == {"off": "3", "replies": "5", "all": "2"}
    held = rows_of(page, "held-table")
    assert (held["22 Nov"], held["21 Nov"], held["12 Nov"], held["13 Nov"]) == ("4", "2", "7", "0")
    assert "13 items held in the last 30 days." in page
    assert "The most in one day was 7, on 12 Nov 2026." in page
    for key, value in (("open", 3), ("overdue", 2), ("urgent", 1)):
        assert f'<dd id="reports-{key}">{value}</dd>' in page
    assert "The power levels of News (#news:hs) take 60000 bytes" in page
    # each chart: an image named by its title and described in words, plus the hidden table
    for key in ("verified", "filters", "held"):
        assert f'aria-labelledby="{key}-title" aria-describedby="{key}-desc"' in page
        assert re.search(rf'<desc id="{key}-desc">[^<]+\d[^<]*</desc>', page)
    # the Lounge's audit trail stays in the Lounge
    assert "@x:hs" not in page


async def test_without_a_member_count_the_page_says_so(site: Site) -> None:
    del site.adapter.counts[SPACE]
    site.adapter.warnings[SPACE] = []
    page = await site.sign_in()
    assert "12 members are verified here (Matrix does not say how many members there are)." in (
        " ".join(page.split())
    )
    assert "Nothing to fix: the bot has every permission it needs here." in page


def zip_rows(rows: list[tuple[str, str]]) -> list[tuple[str, int]]:
    return [(label, int(value)) for label, value in rows]


def rows_of(page: str, table_id: str) -> dict[str, str]:
    table = re.search(rf'<table class="visually-hidden" id="{table_id}">(.*?)</table>', page, re.S)
    assert table, table_id
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', table.group(1)))


async def test_one_of_a_kind_is_said_in_the_singular(store: Store) -> None:
    async with running(store, seeded=False, facts=False) as site:
        await store.save_verification(verified("@only:hs", 1))
        site.adapter.badges.add((MemberRef("matrix", "@only:hs"), SPACE))
        await hold(store, SPACE, "$one", NOW - timedelta(hours=1))
        page = " ".join((await site.sign_in()).split())
    assert "1 member is verified here (Matrix does not say how many" in page
    assert "1 item held in the last 30 days." in page
    assert "1 members" not in page and "1 items" not in page
