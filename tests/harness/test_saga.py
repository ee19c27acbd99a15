"""The book-a-table saga on a real harness: done, failed and undone, cancelled and undone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from a2a.types.a2a_pb2 import CancelTaskRequest, GetTaskRequest, TaskState

from tests.harness.clients import a2a_client, user_request
from tests.harness.processes import HarnessProcess, start_harness, stop_harness

pytestmark = pytest.mark.timeout(180)

BOOKING = "Book a table for 4 at Luigi's tomorrow at 7pm"


@pytest.fixture(scope="module")
def harness(temporal: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HarnessProcess]:
    running = start_harness(temporal, Path(tmp_path_factory.mktemp("saga")), step_s=0.5)
    yield running
    stop_harness(running)


@pytest.fixture(scope="module")
def failing_harness(
    temporal: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HarnessProcess]:
    running = start_harness(
        temporal, Path(tmp_path_factory.mktemp("saga-fail")), step_s=0.5, fail_step="confirm"
    )
    yield running
    stop_harness(running)


def _book(harness: HarnessProcess) -> list:
    async def scenario() -> list:
        async with a2a_client(harness) as client:
            return [event async for event in client.send_message(user_request(BOOKING))]

    return asyncio.run(asyncio.wait_for(scenario(), 60))


def _effects(harness: HarnessProcess, task_id: str) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in harness.ledger.effects(task_id)]


def test_booking_holds_charges_and_confirms(harness: HarnessProcess) -> None:
    events = _book(harness)
    task_id = events[0].task.id
    final = events[-1].status_update.status
    assert final.state == TaskState.TASK_STATE_COMPLETED
    assert "table for 4 at Luigi's" in final.message.parts[0].text
    assert "no real booking is made" in final.message.parts[0].text
    assert _effects(harness, task_id) == [("hold", "done"), ("charge", "done"), ("confirm", "done")]


def test_failed_confirm_undoes_charge_then_hold_in_reverse_order(
    failing_harness: HarnessProcess,
) -> None:
    events = _book(failing_harness)
    task_id = events[0].task.id
    final = events[-1].status_update.status
    assert final.state == TaskState.TASK_STATE_FAILED
    text = final.message.parts[0].text
    assert "failed at 'confirm'" in text and "Undone: refund, release" in text
    assert _effects(failing_harness, task_id) == [
        ("hold", "done"),
        ("charge", "done"),
        ("confirm", "refused"),
        ("refund", "done"),  # the last done step is undone first
        ("release", "done"),
    ]
    progress = [
        e.status_update.status.message.parts[0].text for e in events if e.HasField("status_update")
    ]
    assert any(line.startswith("Refunding the deposit") for line in progress)


def test_cancel_mid_booking_cancels_the_workflow_and_undoes_the_done_steps(
    harness: HarnessProcess,
) -> None:
    async def scenario() -> tuple[str, TaskState, TaskState]:
        async with a2a_client(harness, streaming=False) as client:
            events = [e async for e in client.send_message(user_request(BOOKING))]
            task_id = events[0].task.id
            deadline = time.monotonic() + 30
            while ("charge", "done") not in _effects(harness, task_id):
                assert time.monotonic() < deadline, harness.log()
                await asyncio.sleep(0.05)
            cancelled = await client.cancel_task(CancelTaskRequest(id=task_id))
            stored = await client.get_task(GetTaskRequest(id=task_id))
            return task_id, cancelled.status.state, stored.status.state

    task_id, cancelled_state, stored_state = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert cancelled_state == stored_state == TaskState.TASK_STATE_CANCELED
    deadline = time.monotonic() + 30
    while ("release", "done") not in _effects(harness, task_id):  # the undo runs after the reply
        assert time.monotonic() < deadline, harness.log()
        time.sleep(0.05)
    effects = _effects(harness, task_id)
    # The cancel lands before the confirm began (nothing of it to undo), or while it ran: then
    # the confirm stopped or finished, and its undo runs either way. Then the rest, in reverse.
    assert effects[:2] == [("hold", "done"), ("charge", "done")]
    assert effects[2:-2] in ([], [("cancel", "done")], [("confirm", "done"), ("cancel", "done")])
    assert effects[-2:] == [("refund", "done"), ("release", "done")]
