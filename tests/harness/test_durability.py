"""kill -9 of the harness mid-task: after a restart the task completes, nothing runs twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from a2a.types.a2a_pb2 import SubscribeToTaskRequest, TaskState

from tests.harness.clients import a2a_client, user_request
from tests.harness.processes import (
    HarnessProcess,
    kill_harness,
    stop_harness,
    temporal_dev_server,
)
from voice.harness.temporal_dev import free_port

pytestmark = pytest.mark.timeout(240)

STEP_S = 1.5
RESEARCH_STEPS = ("search", "read", "cross-check", "summarize")


def _wait_for_attempt(harness: HarnessProcess, key: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(attempt_key == key for attempt_key, _ in harness.ledger.attempts()):
            return
        time.sleep(0.05)
    raise AssertionError(f"no attempt of {key} within {timeout_s} s:\n{harness.log()}")


def test_task_survives_kill_9_of_the_harness_and_a_resubscriber_gets_the_result(
    temporal: str, data_dir: Path, harnesses: Callable[..., HarnessProcess]
) -> None:
    first = harnesses(temporal, data_dir, step_s=STEP_S, task_queue="durability")

    async def submit() -> str:
        async with a2a_client(first, streaming=False) as client:
            events = [e async for e in client.send_message(user_request("research how tides work"))]
        return events[0].task.id

    task_id = asyncio.run(asyncio.wait_for(submit(), 30))
    # Kill in the middle of the second step: the first is done and recorded in the journal.
    _wait_for_attempt(first, f"{task_id}/read", timeout_s=30)
    time.sleep(STEP_S / 3)
    kill_harness(first)
    assert first.process.returncode == -9
    effects_at_kill = [entry.key for entry in first.ledger.effects(task_id)]
    assert effects_at_kill == [f"{task_id}/search"]

    second = harnesses(
        temporal,
        data_dir,
        step_s=STEP_S,
        task_queue="durability",
        port=int(first.url.rsplit(":", 1)[1]),
    )
    try:

        async def resubscribe() -> list:
            async with a2a_client(second) as client:
                return [e async for e in client.subscribe(SubscribeToTaskRequest(id=task_id))]

        events = asyncio.run(asyncio.wait_for(resubscribe(), 90))
    finally:
        stop_harness(second)

    assert events[0].HasField("task") and events[0].task.id == task_id  # the stored task first
    final = events[-1].status_update.status
    assert final.state == TaskState.TASK_STATE_COMPLETED, second.log()
    artifacts = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert "how tides work" in artifacts[0].parts[0].text

    ledger = second.ledger
    attempts = [key for key, _ in ledger.attempts(task_id)]
    effects = [entry.key for entry in ledger.effects(task_id)]
    keys = [f"{task_id}/{step}" for step in RESEARCH_STEPS]
    assert effects == keys  # every step's effect once, in order
    assert attempts.count(keys[0]) == 1  # the step done before the kill never ran again
    assert attempts.count(keys[1]) == 2  # the interrupted one was retried once, applied once
    assert attempts.count(keys[2]) == attempts.count(keys[3]) == 1


def test_a_task_rides_out_a_restart_of_temporal_itself(
    tmp_path: Path, data_dir: Path, harnesses: Callable[..., HarnessProcess]
) -> None:
    """Temporal stopped mid-task and started again on its state: the stream goes on."""
    temporal_dir = tmp_path / "own-temporal"
    temporal_dir.mkdir()
    port = free_port()

    async def follow(harness: HarnessProcess) -> list:
        async with a2a_client(harness) as client:
            return [e async for e in client.send_message(user_request("research the tides"))]

    pool = ThreadPoolExecutor(1)
    first_temporal = temporal_dev_server(temporal_dir, port)
    address = first_temporal.__enter__()
    try:
        harness = harnesses(address, data_dir, step_s=1.0)
        try:
            stream = pool.submit(lambda: asyncio.run(asyncio.wait_for(follow(harness), 120)))
            deadline = time.monotonic() + 30
            while not any(key.endswith("/read") for key, _ in harness.ledger.attempts()):
                assert time.monotonic() < deadline, harness.log()
                time.sleep(0.05)
        except BaseException:
            stop_harness(harness)
            raise
    finally:
        first_temporal.__exit__(None, None, None)  # Temporal stops in the second step
    try:
        time.sleep(2.0)
        with temporal_dev_server(temporal_dir, port):
            try:
                events = stream.result(timeout=120)
            finally:
                stop_harness(harness)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    final = events[-1].status_update.status
    assert final.state == TaskState.TASK_STATE_COMPLETED, harness.log()
    task_id = events[0].task.id
    assert [e.action for e in harness.ledger.effects(task_id)] == list(RESEARCH_STEPS)
