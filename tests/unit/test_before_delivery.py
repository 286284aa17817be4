"""Judging before delivery when the answer is late or fails: the homeserver is told to deliver
(never kept waiting past the budget), a removal decided afterwards is carried out by redaction
(`refuse` says no), and the event is still not judged a second time. And the set-up check's
view: configured, but the homeserver silent."""

from __future__ import annotations

import asyncio

from bot.adapters.matrix.presend import BeforeDelivery, JudgedEvents
from bot.adapters.matrix.work import IncomingMessage

EVENT = {"event_id": "$e", "room_id": "!r:hs", "sender": "@mallory:hs", "type": "m.room.message"}


def delivery(judge: object) -> BeforeDelivery:
    def read(event: object) -> IncomingMessage:
        return object()  # type: ignore[return-value]  # what the judge gets is not looked at

    return BeforeDelivery(read, judge, JudgedEvents())  # type: ignore[arg-type]


async def test_a_late_decision_delivers_and_its_removal_redacts() -> None:
    decided = asyncio.Event()
    refused_in_time: list[bool] = []

    async def slow_judge(_item: object) -> None:
        await asyncio.sleep(0.05)
        refused_in_time.append(gate.refuse("$e", "held by a member's filter"))
        decided.set()

    gate = delivery(slow_judge)
    assert await gate.ask(EVENT, budget=0.01) is None  # deliver: the answer is late
    assert not decided.is_set(), "the homeserver was kept waiting for the decision"
    assert gate.late == 1 and "$e" in gate.judged  # sync will not judge it again
    await asyncio.wait_for(decided.wait(), 2)
    assert refused_in_time == [False]  # so the adapter redacts it, as after the fact


async def test_a_decision_in_time_refuses() -> None:
    async def judge(_item: object) -> None:
        assert gate.refuse("$e", "only verified members can write there")

    gate = delivery(judge)
    refusal = await gate.ask(EVENT, budget=1.0)
    assert refusal is not None and refusal.reason == "only verified members can write there"
    assert gate.refused == 1 and "$e" in gate.refusals


async def test_a_failing_judgement_delivers() -> None:
    async def broken(_item: object) -> None:
        raise RuntimeError("a bug")

    gate = delivery(broken)
    assert await gate.ask(EVENT, budget=1.0) is None
    assert gate.failed == 1


def test_silence_is_reported_only_after_the_homeserver_had_time_to_ask() -> None:
    gate = delivery(None)
    assert not gate.silent(after=60)
    gate.started_at -= 61
    assert gate.silent(after=60)
    gate.heard()
    assert not gate.silent(after=60)
