"""What the hot path reads about each member, packed into one int per account.

At a million members, full `VerificationRecord`s plus filter and refusal entries in LRU maps
cost ~870 bytes each; the hot path only ever reads a verification's level and expiry, the
member's filter and whether the identity limit refused the account, per community. One int per
account holds all of it (~40 bytes), read without an await or any reordering; the rest of a
record is read from storage by the commands that show it. Loads of one key are shared, and a
write that lands while a load is under way wins (the load's answer is not kept).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TypeVar

from bot.model import CommunityRef, FilterLevel, MemberRef
from bot.storage.records import VerificationRecord


class Unknown(enum.Enum):
    """Not in memory: the caller loads it (absence of a fact is a known value, e.g. None)."""

    UNKNOWN = "unknown"


UNKNOWN = Unknown.UNKNOWN
BASE = datetime.min.replace(tzinfo=UTC)  # every aware datetime fits after it exactly
MICROSECOND = timedelta(microseconds=1)
FILTERS = tuple(FilterLevel)
# A verification the hot path needs: its level and when it runs out (None: never).
Live = tuple[str, datetime | None]

# One account's int, from the lowest bit: read since the last eviction sweep (a second
# chance); verification state (0 unknown, 1 none in force, 2 live record); level (an index into
# the levels seen); expiry (microseconds since year 1 plus one, 0: never); then per community slot
# the filter (0 unknown, 1 none chosen, 2+ the level) and the refusal (0 unknown, 1 no, 2 yes).
_REF = 1
_STATE, _NONE, _LIVE = 1, 1 << 1, 2 << 1
_STATE_MASK = 3 << 1
_LEVEL, _LEVEL_BITS = 3, 8
_EXPIRY, _EXPIRY_BITS = 11, 59
_VERIFICATION_MASK = (1 << (_EXPIRY + _EXPIRY_BITS)) - 1 - _REF
_SLOTS, _SLOT_BITS = _EXPIRY + _EXPIRY_BITS, 5
_FILTER_MASK, _REFUSED, _REFUSED_MASK = 7, 3, 3 << 3
_MAX_EXPIRY = (1 << _EXPIRY_BITS) - 1
_REFUSED_CODES: tuple[bool | Unknown, ...] = (UNKNOWN, False, True, False)
# what each filter code reads as, indexed by the code (so a read builds nothing)
_FILTER_CODES: tuple[FilterLevel | Unknown | None, ...] = (
    UNKNOWN,
    None,
    *FILTERS,
    *(UNKNOWN,) * (8 - 2 - len(FILTERS)),
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def pack_verification(record: VerificationRecord | None, level_index: int) -> int:
    """The verification bits of a record (revoked or absent: none in force)."""
    if record is None or record.revoked_at is not None:
        return _NONE
    expiry = 0
    if record.expires_at is not None:
        expiry = (record.expires_at - BASE) // MICROSECOND + 1
    return _LIVE | level_index << _LEVEL | expiry << _EXPIRY


def unpack_expiry(packed: int) -> datetime | None:
    expiry = (packed >> _EXPIRY) & _MAX_EXPIRY
    return None if expiry == 0 else BASE + MICROSECOND * (expiry - 1)


class _Network:
    """One network's accounts (id → packed int) and community slots (id → slot number)."""

    __slots__ = ("members", "slots")

    def __init__(self) -> None:
        self.members: dict[str, int] = {}
        self.slots: dict[str, int] = {}


class MemberFacts:
    """Verification, filter and refusal facts of at most `size` accounts, one int each.

    Bounded by a second-chance sweep instead of LRU reordering on every read: a read sets one
    bit (only when unset); the sweep evicts the oldest accounts not read since the last sweep."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._networks: dict[str, _Network] = {}
        self._levels: list[str] = []
        self._level_index: dict[str, int] = {}
        self._count = 0

    # --- reads (synchronous: the hot path never awaits a warm fact) ---------------------------

    def verification(self, member: MemberRef) -> Live | Unknown | None:
        """The live record's level and expiry, None when none is in force, or UNKNOWN."""
        network = self._networks.get(member.network)
        if network is None:
            return UNKNOWN
        members = network.members
        packed = members.get(member.id, 0)
        state = packed & _STATE_MASK
        if state == 0:
            return UNKNOWN
        if not packed & 1:  # _REF: read since the last sweep
            members[member.id] = packed | 1
        if state == _NONE:
            return None
        expiry = (packed >> _EXPIRY) & _MAX_EXPIRY
        level = self._levels[(packed >> _LEVEL) & 0xFF]
        return level, None if expiry == 0 else BASE + MICROSECOND * (expiry - 1)

    def filter(self, community: CommunityRef, member: MemberRef) -> FilterLevel | Unknown | None:
        """The member's chosen filter in the community (None: never chosen), or UNKNOWN."""
        network = self._networks.get(member.network)
        if network is None:
            return UNKNOWN
        slot = network.slots.get(community.id)
        members = network.members
        packed = members.get(member.id, 0)
        if slot is None or not packed:
            return UNKNOWN
        if not packed & 1:  # _REF
            members[member.id] = packed | 1
        return _FILTER_CODES[(packed >> (_SLOTS + slot * _SLOT_BITS)) & _FILTER_MASK]

    def refused(self, community: CommunityRef, member: MemberRef) -> bool | Unknown:
        network = self._networks.get(member.network)
        if network is None:
            return UNKNOWN
        slot = network.slots.get(community.id)
        members = network.members
        packed = members.get(member.id, 0)
        if slot is None or not packed:
            return UNKNOWN
        if not packed & 1:  # _REF
            members[member.id] = packed | 1
        return _REFUSED_CODES[(packed >> (_SLOTS + _REFUSED + slot * _SLOT_BITS)) & 3]

    # --- writes -------------------------------------------------------------------------------

    def set_verification(self, member: MemberRef, record: VerificationRecord | None) -> None:
        index = 0
        if record is not None and record.revoked_at is None:
            index = self._level_index.get(record.level, -1)
            if index < 0:
                if len(self._levels) > 0xFF:
                    self.forget_verification(member)  # beyond 256 levels: read from storage
                    return
                index = self._level_index[record.level] = len(self._levels)
                self._levels.append(record.level)
        self._change(member, _VERIFICATION_MASK, pack_verification(record, index))

    def forget_verification(self, member: MemberRef) -> None:
        self._change(member, _VERIFICATION_MASK, 0)

    def set_filter(
        self, community: CommunityRef, member: MemberRef, level: FilterLevel | Unknown | None
    ) -> None:
        code = 0 if level is UNKNOWN else 1 if level is None else FILTERS.index(level) + 2
        shift = _SLOTS + self._slot(community) * _SLOT_BITS
        self._change(member, _FILTER_MASK << shift, code << shift)

    def set_refused(self, community: CommunityRef, member: MemberRef, refused: bool | None) -> None:
        """None forgets it (the next read loads it)."""
        code = 0 if refused is None else 2 if refused else 1
        shift = _SLOTS + self._slot(community) * _SLOT_BITS
        self._change(member, _REFUSED_MASK << shift, code << (shift + _REFUSED))

    def forget_refusals(self, member: MemberRef) -> None:
        """Every community's refusal of the account (its verification ended)."""
        network = self._networks.get(member.network)
        if network is None:
            return
        mask = sum(_REFUSED_MASK << (_SLOTS + s * _SLOT_BITS) for s in network.slots.values())
        self._change(member, mask, 0)

    def forget_member(self, member: MemberRef) -> None:
        network = self._networks.get(member.network)
        if network is not None and network.members.pop(member.id, None) is not None:
            self._count -= 1

    def clear(self) -> None:
        self._networks.clear()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _slot(self, community: CommunityRef) -> int:
        network = self._network(community.network)
        slot = network.slots.get(community.id)
        if slot is None:
            slot = network.slots[community.id] = len(network.slots)
        return slot

    def _network(self, name: str) -> _Network:
        network = self._networks.get(name)
        if network is None:
            network = self._networks[name] = _Network()
        return network

    def _change(self, member: MemberRef, mask: int, bits: int) -> None:
        """Replace the bits under `mask`; an account with nothing known left is dropped."""
        members = self._network(member.network).members
        old = members.get(member.id)
        new = ((old or 0) & ~mask | bits) & ~_REF
        if new == 0:
            if old is not None:
                del members[member.id]
                self._count -= 1
            return
        if old is None:
            self._count += 1
        else:
            new |= old & _REF
        members[member.id] = new
        if self._count > self.size:
            self._sweep(members)

    def _sweep(self, members: dict[str, int]) -> None:
        """Evict an eighth of the room at once (one pass from the oldest entry, whose cost a
        dict's deleted slots make proportional to its size), skipping accounts read lately."""
        goal = self.size - max(1, self.size // 8)
        while self._count > goal and members:
            for key in list(islice(members, self._count - goal)):
                packed = members.pop(key)
                if packed & _REF:
                    members[key] = packed & ~_REF  # read since: to the back, once
                else:
                    self._count -= 1


_TIME_BITS = 52  # a rate window's times: microseconds since it began (142 years)
_TIME_MASK = (1 << _TIME_BITS) - 1
# per count n (up to 15): where the n-th newest time starts; the bits of the newest n times
_OLDEST_SHIFT = tuple(4 + max(0, n - 1) * _TIME_BITS for n in range(16))
_KEPT_MASK = tuple(((1 << n * _TIME_BITS) - 1) << 4 for n in range(16))


class RateCounts:
    """Messages per sender within the last minute, for the `limited` policy: the times of the
    last few (as many as a decision can tell apart, `keep`) in one int per sender, instead of a
    deque of every time (~760 bytes). In memory on purpose: a restart forgetting a minute of
    counts is harmless, and a write per message is not."""

    _TIME_BITS = _TIME_BITS
    _MAX_KEEP = 15  # the count lives in the low four bits
    _MASK = _TIME_MASK

    def __init__(self, window_seconds: float = 60.0, max_tracked: int = 100_000) -> None:
        self.window = window_seconds
        self._window_us = round(window_seconds * 1e6)
        self._max = max_tracked
        self._origin: float | None = None
        self._places: dict[tuple[str, str], dict[str, int]] = {}
        self._count = 0

    def hit(self, community: CommunityRef, member: MemberRef, now: float, keep: int = 15) -> int:
        """Count one message and return how many the member sent within the window, this one
        included, up to `keep` (a policy allowing n a minute needs n + 1)."""
        origin = self._origin
        if origin is None:
            origin = self._origin = now
        tick = round((now - origin) * 1e6) + 1
        key = (community.network, community.id)
        place = self._places.get(key)
        if place is None:
            place = self._places[key] = {}
        packed = place.get(member.id, 0)
        window = self._window_us
        if not packed:
            self._count += 1
            kept = 0
        elif tick - ((packed >> 4) & _TIME_MASK) >= window:
            kept = 0  # the newest earlier message is out of the window: so are all
        else:
            most = packed & 15
            if keep > 15:  # _MAX_KEEP
                keep = 15
            if keep <= most:
                most = keep - 1 if keep > 1 else 0
            if most == 0:
                kept = 0
            elif tick - ((packed >> _OLDEST_SHIFT[most]) & _TIME_MASK) < window:
                kept = most  # the oldest one kept is in the window: so are all
            else:
                kept = self._within(packed, tick, most)
        if kept:  # the kept times move up one place (the count's four bits stay below)
            place[member.id] = (packed & _KEPT_MASK[kept]) << _TIME_BITS | tick << 4 | (kept + 1)
        else:
            place[member.id] = tick << 4 | 1
        if self._count > self._max:
            self._sweep(place, tick)
        return kept + 1

    def _within(self, packed: int, tick: int, most: int) -> int:
        """How many of the kept times (newest first) lie within the window, at most `most`."""
        times, bits, mask = packed >> 4, self._TIME_BITS, self._MASK
        for i in range(most):
            if tick - ((times >> (i * bits)) & mask) >= self._window_us:
                return i
        return most

    def _sweep(self, place: dict[str, int], tick: int) -> None:
        """Forget an eighth of the senders, quiet ones (nothing within the window) first."""
        goal = self._max - max(1, self._max // 8)
        mask = (1 << self._TIME_BITS) - 1
        for key in list(islice(place, 2 * (self._count - goal))):
            if self._count > goal and tick - ((place[key] >> 4) & mask) >= self._window_us:
                del place[key]
                self._count -= 1
        for key in list(islice(place, max(0, self._count - goal))):
            del place[key]
            self._count -= 1


__all__ = [
    "UNKNOWN",
    "Live",
    "MemberFacts",
    "RateCounts",
    "Unknown",
    "pack_verification",
]
