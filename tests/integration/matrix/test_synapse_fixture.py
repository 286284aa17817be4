"""The test homeserver itself: reachable on loopback only, accounts register, members talk."""

from __future__ import annotations

import pytest

from tests.fakes.matrix_member import MatrixError
from tests.fixtures.synapse import MemberFactory, SynapseServer

pytestmark = pytest.mark.synapse


def test_listens_on_loopback_only(synapse: SynapseServer) -> None:
    assert synapse.base_url.startswith("http://127.0.0.1:")
    assert synapse.process.poll() is None


async def test_members_register_and_see_each_other(matrix_member: MemberFactory) -> None:
    alice = await matrix_member("alice")
    bob = await matrix_member("bob")
    assert alice.user_id.endswith(":localhost") and alice.user_id != bob.user_id

    room = await alice.create_room(name="hello", invite=[bob.user_id])
    await bob.join(room)
    await bob.start_watching()
    await alice.send_text(room, "hi bob")
    seen = await bob.wait_for_message(room, sender=alice.user_id, contains="hi bob")
    assert seen.content["body"] == "hi bob"


async def test_rooms_are_version_12_with_implicit_creator_power(
    matrix_member: MemberFactory,
) -> None:
    alice = await matrix_member("alice")
    room = await alice.create_room()
    assert ":" not in room  # v12 room ids carry no server part
    create = await alice.state(room, "m.room.create")
    assert create.get("room_version") == "12"
    assert alice.user_id not in (await alice.power_levels(room)).get("users", {})


async def test_no_federation_resource(synapse: SynapseServer, matrix_member: MemberFactory) -> None:
    alice = await matrix_member("alice")
    session = alice._session()
    async with session.get(f"{synapse.base_url}/_matrix/federation/v1/version") as answer:
        assert answer.status == 404


async def test_forbidden_send_reports_errcode(matrix_member: MemberFactory) -> None:
    alice = await matrix_member("alice")
    bob = await matrix_member("bob")
    room = await alice.create_room()
    with pytest.raises(MatrixError) as refused:
        await bob.send_text(room, "not a member")
    assert refused.value.errcode == "M_FORBIDDEN"
