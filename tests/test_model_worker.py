"""The model worker's schedule: urgent jobs pass a background stream, a stream's own model is
never used by another job mid-stream, and shutdown leaves no caller waiting.

The "models" here are stand-ins (a slow counter, a context with a lock like llama.cpp's): the
schedule is what is tested, not inference.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial

import pytest

from voice.providers.worker import ModelWorker


class FakeModel:
    """A stand-in for a model context: one generation at a time (as `LlamaLLM` holds its lock
    through a reply), each item takes `step_s`."""

    def __init__(self, step_s: float = 0.01, log: list[str] | None = None) -> None:
        self.step_s = step_s
        self.lock = threading.Lock()
        self.log: list[str] = [] if log is None else log

    def generate(self, name: str, items: int) -> Iterator[str]:
        with self.lock:
            for index in range(items):
                time.sleep(self.step_s)
                self.log.append(f"{name}{index}")
                yield f"{name}{index}"

    def score(self, name: str) -> str:
        assert self.lock.acquire(timeout=2), "the model was still held by a suspended stream"
        try:
            self.log.append(name)
            return name
        finally:
            self.lock.release()


def test_an_urgent_job_passes_a_background_stream() -> None:
    async def main() -> None:
        worker = ModelWorker("test")
        timeline: list[str] = []
        first, second = FakeModel(log=timeline), FakeModel(log=timeline)
        background = threading.Event()
        got: list[str] = []

        async def reply() -> None:
            async for item in worker.stream(
                partial(first.generate, "r", 20), background=background.is_set
            ):
                got.append(item)
                if item == "r1":
                    background.set()  # the first clause has gone to TTS

        task = asyncio.create_task(reply())
        await asyncio.sleep(0.05)  # a few items out: the stream is background by now
        assert await worker.run(second.score, "other") == "other"
        await task
        assert len(got) == 20
        assert timeline.index("other") < 10  # it did not wait for the reply's end (r19)
        worker.shutdown()

    asyncio.run(main())


def test_a_stream_without_a_model_object_never_gives_the_thread_up() -> None:
    """Only a stream whose model object is known can be finished before that object's next
    job, so a plain function's stream runs to its end whatever it asks."""

    async def main() -> None:
        worker = ModelWorker("test")
        timeline: list[str] = []
        model, other = FakeModel(log=timeline), FakeModel(log=timeline)
        task = asyncio.create_task(
            _drain(worker.stream(lambda: model.generate("r", 10), background=lambda: True))
        )
        await asyncio.sleep(0.02)
        await worker.run(other.score, "other")
        await task
        assert timeline[-1] == "other"
        worker.shutdown()

    asyncio.run(main())


async def _drain(items: AsyncIterator[str]) -> list[str]:
    return [item async for item in items]


def test_a_stream_that_is_not_background_keeps_the_thread() -> None:
    async def main() -> None:
        worker = ModelWorker("test")
        model, other = FakeModel(), FakeModel()
        order: list[str] = []

        async def reply() -> None:
            async for item in worker.stream(lambda: model.generate("r", 10)):
                order.append(item)

        task = asyncio.create_task(reply())
        await asyncio.sleep(0.02)
        order.append(await worker.run(other.score, "other"))
        await task
        assert order[-1] == "other"  # FIFO: the whole reply first
        worker.shutdown()

    asyncio.run(main())


def test_a_job_on_the_streams_own_model_finishes_the_stream_first() -> None:
    """A suspended stream holds its model (llama.cpp's context mid-reply); a job for the same
    model object must not run inside it (it would deadlock on the model's lock)."""

    async def main() -> None:
        worker = ModelWorker("test")
        model, other = FakeModel(), FakeModel()

        async def reply() -> list[str]:
            return [
                item
                async for item in worker.stream(
                    partial(model.generate, "r", 30), background=lambda: True
                )
            ]

        task = asyncio.create_task(reply())
        await asyncio.sleep(0.03)
        # another caller's job makes the stream give the thread up; then the same model's job
        jobs = [asyncio.create_task(worker.run(other.score, "x")) for _ in range(3)]
        same = await asyncio.wait_for(worker.run(model.score, "same"), 5)
        assert same == "same"
        assert model.log[-1] == "same" and len(model.log) == 31  # the reply ended before it
        assert len(await task) == 30
        await asyncio.gather(*jobs)
        worker.shutdown()

    asyncio.run(main())


def test_a_background_stream_waits_at_most_max_defer() -> None:
    async def main() -> None:
        worker = ModelWorker("test", max_defer_s=0.05)
        model, busy = FakeModel(step_s=0.005), FakeModel(step_s=0.02)
        times: list[float] = []

        async def reply() -> None:
            async for _ in worker.stream(partial(model.generate, "r", 40), background=lambda: True):
                times.append(time.monotonic())

        task = asyncio.create_task(reply())
        await asyncio.sleep(0.01)
        # a long run of urgent jobs (0.02 s each) from other callers
        jobs = [asyncio.create_task(worker.run(busy.score, f"b{i}")) for i in range(40)]
        await asyncio.gather(task, *jobs)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) < 0.05 + 0.1  # never starved for the whole run of urgent jobs (0.8 s)
        worker.shutdown()

    asyncio.run(main())


def test_shutdown_cancels_the_callers_of_jobs_that_never_ran() -> None:
    async def main() -> None:
        worker = ModelWorker("test")
        gate = threading.Event()
        first = asyncio.create_task(worker.run(gate.wait, 5))
        await asyncio.sleep(0.02)
        queued = asyncio.create_task(worker.run(time.sleep, 0))

        async def consume() -> list[int]:
            return [item async for item in worker.stream(lambda: iter([1, 2]))]

        streamed = asyncio.create_task(consume())
        await asyncio.sleep(0.02)
        worker.shutdown()
        gate.set()
        assert await first is True
        with pytest.raises(asyncio.CancelledError):
            await queued
        with pytest.raises(asyncio.CancelledError):
            await streamed
        with pytest.raises(RuntimeError, match="shut down"):
            await worker.run(time.sleep, 0)

    asyncio.run(main())


def test_a_failing_call_raises_in_its_caller_and_the_worker_goes_on() -> None:
    async def main() -> None:
        worker = ModelWorker("test")

        def broken() -> None:
            raise ValueError("bad input")

        def broken_stream() -> Iterator[int]:
            yield 1
            raise ValueError("bad stream")

        with pytest.raises(ValueError, match="bad input"):
            await worker.run(broken)
        got: list[int] = []
        with pytest.raises(ValueError, match="bad stream"):
            async for item in worker.stream(broken_stream):
                got.append(item)
        assert got == [1]
        assert await worker.run(sum, [1, 2]) == 3
        worker.shutdown()

    asyncio.run(main())


def test_a_held_stream_pauses_until_the_hold_ends() -> None:
    async def main() -> None:
        worker = ModelWorker("test", max_hold_s=5)
        model = FakeModel(step_s=0.001)
        first_audio = threading.Event()

        def hold() -> bool:  # the first clause (r0, r1) is with the TTS, its audio not out
            return len(model.log) >= 2 and not first_audio.is_set()

        task = asyncio.create_task(
            _drain(
                worker.stream(partial(model.generate, "r", 10), background=lambda: True, hold=hold)
            )
        )
        await asyncio.sleep(0.2)
        assert model.log == ["r0", "r1"]
        first_audio.set()
        assert len(await asyncio.wait_for(task, 5)) == 10
        worker.shutdown()

    asyncio.run(main())


def test_a_held_stream_lets_urgent_jobs_pass_and_never_waits_past_max_hold() -> None:
    async def main() -> None:
        worker = ModelWorker("test", max_hold_s=0.05)
        timeline: list[str] = []
        model, other = FakeModel(step_s=0.001, log=timeline), FakeModel(log=timeline)
        task = asyncio.create_task(
            _drain(
                worker.stream(
                    partial(model.generate, "r", 5), background=lambda: True, hold=lambda: True
                )
            )
        )
        await asyncio.sleep(0.02)
        assert await asyncio.wait_for(worker.run(other.score, "other"), 1) == "other"
        assert len(await asyncio.wait_for(task, 5)) == 5  # a hold that never ends runs out
        assert timeline.index("other") < 3
        worker.shutdown()

    asyncio.run(main())


def test_a_stream_that_is_background_from_the_start_waits_behind_urgent_jobs() -> None:
    """A reply's later clause (TTS) queued while other calls' first clauses wait: they go
    first, and a suspended stream of the same model is finished before it starts."""

    async def main() -> None:
        worker = ModelWorker("test")
        timeline: list[str] = []
        model, other = FakeModel(step_s=0.02, log=timeline), FakeModel(log=timeline)
        gate = threading.Event()
        blocker = asyncio.create_task(worker.run(gate.wait, 5))  # the thread is busy
        await asyncio.sleep(0.02)
        later = asyncio.create_task(
            _drain(worker.stream(partial(model.generate, "later", 2), background=lambda: True))
        )
        await asyncio.sleep(0.02)
        urgent = [asyncio.create_task(worker.run(other.score, f"first{i}")) for i in range(2)]
        await asyncio.sleep(0.02)
        gate.set()
        await asyncio.wait_for(asyncio.gather(blocker, later, *urgent), 5)
        assert timeline == ["first0", "first1", "later0", "later1"]
        worker.shutdown()

    asyncio.run(main())
