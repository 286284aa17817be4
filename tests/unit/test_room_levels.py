"""A room's power levels are read once per change, not once per event, and never go stale.

A large Matrix room lists thousands of users in `m.room.power_levels`; every event asks for its
sender's level. Reading the map afresh each time made the cost grow with the room; the answer
must instead follow each new power-levels event (or the bot's own change) at once.
"""

from __future__ import annotations

import pytest

from bot.adapters.matrix import rooms
from bot.adapters.matrix.rooms import RoomFacts

BIG = 5_000


def power_levels(**users: int) -> dict[str, object]:
    listed = {f"@member{i}:hs": 1 for i in range(BIG)}
    listed.update({f"@{name}:hs": level for name, level in users.items()})
    return {"type": "m.room.power_levels", "state_key": "", "content": {"users": listed}}


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many level values were converted from JSON, one entry per conversion."""
    seen: list[int] = []
    original = rooms._as_int

    def counted(value: object, default: int) -> int:
        seen.append(1)
        return original(value, default)

    monkeypatch.setattr(rooms, "_as_int", counted)
    return seen


def test_levels_of_many_events_convert_the_map_once(conversions: list[int]) -> None:
    facts = RoomFacts("!big:hs", room_version="10")
    facts.apply(power_levels(mod=50))
    facts.level("@mod:hs")
    first = len(conversions)
    assert first >= BIG  # the map was read
    for i in range(1_000):
        assert facts.level(f"@member{i}:hs") == 1
    assert facts.level("@mod:hs") == 50
    assert len(conversions) - first <= 1_001  # at most the users_default look-up per call


def test_a_new_power_levels_event_is_seen_at_once() -> None:
    facts = RoomFacts("!big:hs", room_version="10")
    facts.apply(power_levels(mod=50))
    assert facts.level("@mod:hs") == 50
    facts.apply(power_levels(mod=0, alice=1))
    assert facts.level("@mod:hs") == 0
    assert facts.level("@alice:hs") == 1
    assert facts.top_users(50) == []


def test_the_bots_own_change_is_seen_at_once() -> None:
    """power.py replaces the content after it sends its edit."""
    facts = RoomFacts("!big:hs", room_version="10")
    facts.apply(power_levels())
    assert facts.level("@alice:hs") == 0
    content = dict(facts.power_levels or {})
    content["users"] = {**content["users"], "@alice:hs": 1}
    facts.power_levels = content
    assert facts.level("@alice:hs") == 1
    facts.power_levels = None
    assert facts.level("@alice:hs") == 0
