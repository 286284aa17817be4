"""What the admins' dashboard learns from the Matrix adapter, against a real Synapse: how many
members the community has, what the admins must fix (with the fix), and whether an account is
still an admin, each following what happens in the rooms."""

from __future__ import annotations

import pytest

from bot.adapters.base import CommunityFacts
from bot.adapters.matrix import MatrixAdapter
from bot.model import CommunityRef, MemberRef, Role
from tests.fakes.matrix_member import MatrixMember
from tests.fixtures.matrix_bot import MatrixCommunity
from tests.waiting import wait_until

pytestmark = pytest.mark.synapse


def ref(member: MatrixMember) -> MemberRef:
    return MemberRef("matrix", member.user_id)


def about(adapter: MatrixAdapter, community: CommunityRef, words: str) -> list[str]:
    return [text for text in adapter.problems(community) if words in text]


async def test_the_member_count_is_who_joined_the_space_or_its_rooms(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, _, _ = await c.start()
    community = CommunityRef("matrix", c.space)
    assert isinstance(adapter, CommunityFacts)
    assert await adapter.member_count(community) == 1  # the admin; the bot is not counted

    carol = await c.member_in_room("carol")  # the room only, from a link
    dave = await c.make_member("dave")
    await dave.join(c.space)  # the space only
    erin = await c.make_member("erin")
    await c.admin.invite(c.room, erin.user_id)  # invited, not joined: not a member yet
    both = await c.make_member("frank")
    await both.join(c.space)
    await both.join(c.room)  # in both, counted once

    async def count_is(expected: int) -> bool:
        return await adapter.member_count(community) == expected

    await wait_until(lambda: count_is(4), what="admin, carol, dave and frank counted")
    await carol.leave(c.room)
    await wait_until(lambda: count_is(3), what="carol no longer counted")
    assert await adapter.member_count(CommunityRef("matrix", "!unknown:localhost")) is None


async def test_a_room_without_power_is_named_with_the_fix_until_fixed(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    adapter, _, _ = await c.start()
    community = CommunityRef("matrix", c.space)
    assert adapter.problems(community) == []  # power level 100 in the space's room

    corner = await c.admin.create_room(name="quiet corner")  # the bot has no power there
    await c.admin.add_child(c.space, corner)  # public: the bot joins it by itself

    def warned() -> bool:
        return bool(about(adapter, community, "quiet corner"))

    await wait_until(warned, what="the room without power on the dashboard")
    (problem,) = about(adapter, community, "quiet corner")
    assert problem.startswith("I cannot fully protect quiet corner: my power level there is 0")
    assert f"Please give {c.bot.user_id} power level 100 in that room." in problem

    await c.admin.set_power_level(corner, c.bot.user_id, 100)
    await wait_until(lambda: not warned(), what="the problem gone once the power was given")
    assert adapter.problems(community) == []


async def test_a_room_the_bot_could_not_join_is_named_until_it_is_invited(
    matrix_community: MatrixCommunity,
) -> None:
    c = matrix_community
    private = await c.admin.create_room(
        name="private talk", preset="private_chat", power_users={c.bot.user_id: 100}
    )
    await c.admin.add_child(c.space, private)
    adapter, _, _ = await c.start()
    community = CommunityRef("matrix", c.space)

    def refused() -> list[str]:
        return about(adapter, community, "I could not join")

    await wait_until(lambda: bool(refused()), what="the refused join on the dashboard")
    (problem,) = refused()
    assert private in problem and f"invite {c.bot.user_id} to it" in problem

    await c.admin.invite(private, c.bot.user_id)  # the fix the problem names
    await wait_until(lambda: not refused(), what="the problem gone once the bot joined")


async def test_role_of_follows_the_power_levels(matrix_community: MatrixCommunity) -> None:
    c = matrix_community
    adapter, _, _ = await c.start()
    community = CommunityRef("matrix", c.space)
    carol = await c.member_in_room("carol")
    await carol.join(c.space)
    assert adapter.role_of(community, ref(c.admin)) is Role.ADMIN  # the space's creator

    def role_is(role: Role) -> bool:
        return adapter.role_of(community, ref(carol)) is role

    await wait_until(lambda: role_is(Role.MEMBER), what="carol seen as a member")
    await c.admin.set_power_level(c.space, carol.user_id, 100)
    await wait_until(lambda: role_is(Role.ADMIN), what="carol an admin")
    await c.admin.set_power_level(c.space, carol.user_id, 50)
    await wait_until(lambda: role_is(Role.MODERATOR), what="carol a moderator only")
    await c.admin.set_power_level(c.space, carol.user_id, 0)
    await wait_until(lambda: role_is(Role.MEMBER), what="carol no longer staff")
    assert adapter.role_of(CommunityRef("matrix", "!unknown:localhost"), ref(carol)) is None
