import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from voice.audio import FRAME_NS
from voice.pipeline.frames import Frame, TokenFrame
from voice.pipeline.runner import run_pipeline
from voice.pipeline.turn_scope import TurnCancelled, TurnScope
from voice.providers.worker import ModelWorker


def slow_tokens(stop_seen: threading.Event) -> Iterator[str]:
    """A test double for a model that produces a token every 5 ms on a worker thread."""
    try:
        for i in range(10_000):
            time.sleep(0.005)
            yield f"t{i} "
    finally:
        stop_seen.set()


def test_cancel_stops_every_task_and_the_model_thread_within_one_frame():
    async def main() -> None:
        worker = ModelWorker("test-double")
        scope = TurnScope(1)
        stop_seen = threading.Event()
        received: list[str] = []
        before = asyncio.all_tasks()

        async def source():
            async for piece in worker.stream(lambda: slow_tokens(stop_seen), scope.cancel_flag):
                yield TokenFrame(piece, 0)

        class Passthrough:
            name = "pass"

            async def process(self, frames):
                async for frame in frames:
                    yield frame

        async def playout(frame: Frame) -> None:
            await scope.wait_committed()
            assert isinstance(frame, TokenFrame)
            received.append(frame.text)

        scope.spawn(run_pipeline(source(), [Passthrough(), Passthrough()], playout), "chain")
        scope.spawn(asyncio.sleep(3600), "timer")
        scope.commit(time.monotonic_ns())
        await asyncio.sleep(0.1)
        assert received, "the turn produced output before it was cancelled"
        started = time.monotonic_ns()
        await scope.cancel()
        assert time.monotonic_ns() - started < FRAME_NS
        assert not scope.tasks
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == before
        # the worker thread notices at its next step and frees the model
        assert await asyncio.to_thread(stop_seen.wait, 1.0)
        count = len(received)
        await asyncio.sleep(0.05)
        assert len(received) == count
        worker.shutdown()

    asyncio.run(main())


def test_uncommitted_output_is_held_and_discarded_on_cancel():
    async def main() -> None:
        scope = TurnScope(2)
        played: list[int] = []

        async def playout() -> None:
            await scope.wait_committed()
            played.append(1)

        task = scope.spawn(playout(), "playout")
        await asyncio.sleep(0.02)
        assert not played
        await scope.cancel()
        assert task.cancelled() and not played
        with pytest.raises(TurnCancelled):
            await scope.wait_committed()
        with pytest.raises(TurnCancelled):
            scope.spawn(asyncio.sleep(0), "late")
        assert not scope.committed
        scope.commit(0)  # a cancelled turn cannot be committed any more
        assert not scope.committed

    asyncio.run(main())


def test_commit_releases_the_gate():
    async def main() -> None:
        scope = TurnScope(3)
        waiter = scope.spawn(scope.wait_committed(), "gate")
        await asyncio.sleep(0.01)
        assert not waiter.done()
        scope.commit(123)
        await waiter
        assert scope.committed_at_ns == 123

    asyncio.run(main())


def test_worker_stream_reraises_model_errors():
    def broken() -> Iterator[str]:
        yield "a"
        raise RuntimeError("model exploded")

    async def main() -> list[str]:
        worker = ModelWorker("broken")
        got: list[str] = []
        with pytest.raises(RuntimeError, match="model exploded"):
            async for item in worker.stream(broken):
                got.append(item)
        return got

    assert asyncio.run(main()) == ["a"]
