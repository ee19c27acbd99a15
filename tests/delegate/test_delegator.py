"""The A2A client, the SQLite store and the delegator against a STAND-IN a2a-sdk server.

The stand-in (tests/delegate/standin_harness.py) is a real A2A 1.0 server over HTTP on
127.0.0.1; the reference harness is exercised end to end in tests/integration/test_delegation.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.delegate.standin_harness import standin_harness
from voice.config import DelegateConfig
from voice.delegate.client import A2AError, HarnessClient
from voice.delegate.delegator import Delegator
from voice.delegate.store import TaskStore
from voice.pipeline.turn_scope import TurnScope

BOOK = "Book a table for two at an Italian restaurant tomorrow at seven."


def run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


def test_a_task_is_sent_streamed_to_its_result_and_followed_from_a_new_client() -> None:
    async def main() -> None:
        async with standin_harness(duration_s=0.5) as harness:
            client = HarnessClient(harness.url, harness.token)
            updates = [u async for u in client.send(BOOK)]
            await client.close()
            assert harness.requests == [BOOK]
            states = [u.state for u in updates if u.state]
            assert states[0] == "submitted" and states[-1] == "completed"
            assert "working" in states
            assert updates[-1].result == f"Done: {BOOK.rstrip('.')}."
            # a new client (a restarted agent) reads a finished task's outcome by its id
            again = HarnessClient(harness.url, harness.token)
            followed = [u async for u in again.follow(updates[0].task_id)]
            await again.close()
            assert [u.state for u in followed] == ["completed"]
            assert followed[0].result == updates[-1].result

    run(main())


def test_a_wrong_token_is_refused() -> None:
    async def main() -> None:
        async with standin_harness() as harness:
            client = HarnessClient(harness.url, "wrong")
            with pytest.raises((A2AError, Exception)):
                _ = [u async for u in client.send(BOOK)]
            await client.close()
            assert harness.requests == []

    run(main())


def delegator(harness_url: str, token: str, db: Path) -> Delegator:
    config = DelegateConfig(
        enabled=True, url=harness_url, token=token, db_path=str(db), gap_ms=0, retry_ms=100
    )
    return Delegator(config)


async def wait_for(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_a_committed_request_becomes_a_task_whose_result_is_due_at_a_gap(tmp_path: Path) -> None:
    async def main() -> None:
        async with standin_harness(duration_s=0.3, progress="Calling the restaurant.") as harness:
            agent = delegator(harness.url, harness.token, tmp_path / "tasks.db")
            await agent.start()
            scope = TurnScope(1)
            reply = agent.fixed_reply(scope, fallback=None)
            assert reply("What time does the restaurant open?") is None
            assert reply(BOOK) == "Okay, I'm on it. I'll let you know when it's done."
            await asyncio.sleep(0.2)
            assert harness.requests == []  # not before the turn is committed
            scope.commit(time.monotonic_ns())
            said: list[str] = []

            def due() -> bool:
                utterance = agent.due(time.monotonic_ns(), idle=True)
                if utterance is not None:
                    said.append(utterance.text)
                    agent.said(utterance, heard=True)
                return agent.quiet and bool(said)

            await wait_for(due)
            await agent.close()
            assert said[-1] == f"Your booking is done: Done: {BOOK.rstrip('.')}."
            stored = TaskStore(tmp_path / "tasks.db")
            assert stored.unreported() == []

    run(main())


def test_a_discarded_speculation_starts_no_task(tmp_path: Path) -> None:
    async def main() -> None:
        async with standin_harness() as harness:
            agent = delegator(harness.url, harness.token, tmp_path / "tasks.db")
            scope = TurnScope(1)
            assert agent.fixed_reply(scope, None)(BOOK) is not None
            await scope.cancel()
            await asyncio.sleep(0.3)
            await agent.close()
            assert harness.requests == [] and agent.policy.tasks == {}

    run(main())


def test_a_restarted_delegator_resumes_an_unreported_task_from_sqlite(tmp_path: Path) -> None:
    async def main() -> None:
        db = tmp_path / "tasks.db"
        async with standin_harness(duration_s=1.5) as harness:
            first = delegator(harness.url, harness.token, db)
            scope = TurnScope(1)
            first.fixed_reply(scope, None)(BOOK)
            scope.commit(time.monotonic_ns())
            await wait_for(lambda: TaskStore(db).unreported())
            await first.close()  # the agent goes away while the task runs
            [stored] = TaskStore(db).unreported()
            assert stored.request == BOOK
            second = delegator(harness.url, harness.token, db)
            await second.start()
            said: list[str] = []

            def due() -> bool:
                utterance = second.due(time.monotonic_ns(), idle=True)
                if utterance is not None:
                    said.append(utterance.text)
                    second.said(utterance, heard=True)
                return bool(said) and second.quiet

            await wait_for(due)
            await second.close()
            # the resumed stream says where the task is (progress), then how it ended
            assert said[-1] == f"Your booking is done: Done: {BOOK.rstrip('.')}."
            await wait_for(lambda: TaskStore(db).unreported() == [])

    run(main())


def test_cancel_that_cancels_the_task_on_the_harness(tmp_path: Path) -> None:
    async def main() -> None:
        async with standin_harness(duration_s=5.0) as harness:
            agent = delegator(harness.url, harness.token, tmp_path / "tasks.db")
            first = TurnScope(1)
            agent.fixed_reply(first, None)(BOOK)
            first.commit(time.monotonic_ns())
            await wait_for(lambda: any(t.task_id for t in agent.policy.tasks.values()))
            second = TurnScope(2)
            assert agent.fixed_reply(second, None)("Cancel that.") == (
                "Okay, I've cancelled the booking."
            )
            second.commit(time.monotonic_ns())
            await wait_for(lambda: agent.quiet)
            await agent.close()
            [task] = agent.policy.tasks.values()
            assert task.state == "canceled" and harness.cancelled == [task.task_id]

    run(main())


def test_an_unreachable_harness_is_reported_as_a_failure(tmp_path: Path) -> None:
    async def main() -> None:
        from tests.delegate.standin_harness import free_port

        agent = delegator(f"http://127.0.0.1:{free_port()}", "t", tmp_path / "tasks.db")
        scope = TurnScope(1)
        agent.fixed_reply(scope, None)(BOOK)
        scope.commit(time.monotonic_ns())
        said: list[str] = []

        def due() -> bool:
            utterance = agent.due(time.monotonic_ns(), idle=True)
            if utterance is not None:
                said.append(utterance.text)
            return bool(said)

        await wait_for(due)
        await agent.close()
        assert said == ["Sorry, your booking didn't work out: I couldn't reach the task service."]

    run(main())


def test_a_stored_task_the_harness_no_longer_knows_is_reported_as_lost(tmp_path: Path) -> None:
    async def main() -> None:
        db = tmp_path / "tasks.db"
        TaskStore(db).add("gone-task", BOOK, "booking", "working")
        async with standin_harness() as harness:
            agent = delegator(harness.url, harness.token, db)
            await agent.start()
            said: list[str] = []

            def due() -> bool:
                utterance = agent.due(time.monotonic_ns(), idle=True)
                if utterance is not None:
                    said.append(utterance.text)
                    agent.said(utterance, heard=True)
                return agent.quiet

            await wait_for(due)
            await agent.close()
        assert said == ["Sorry, your booking didn't work out: The task service lost track of it."]
        assert TaskStore(db).unreported() == []

    run(main())


def test_a_callers_unreported_task_is_followed_only_by_their_own_sessions(tmp_path: Path) -> None:
    """One caller must never hear another's booking: a new call of someone else resumes nothing."""

    async def main() -> None:
        db = tmp_path / "tasks.db"
        TaskStore(db).add("alices-task", BOOK, "booking", "working", caller="sip:alice@example")
        assert TaskStore(db).unreported() == []  # not the local caller's either
        config = DelegateConfig(enabled=True, url="http://127.0.0.1:9", token="t", db_path=str(db))
        bob = Delegator(config, caller="sip:bob@example")
        await bob.start()
        assert bob.policy.tasks == {}
        await bob.close()
        [stored] = TaskStore(db).unreported("sip:alice@example")
        assert stored.task_id == "alices-task"

    run(main())
