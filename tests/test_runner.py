import asyncio
from collections.abc import AsyncIterator

import pytest

from voice.pipeline.frames import Frame, TokenFrame
from voice.pipeline.runner import iterate, run_pipeline


class Upper:
    name = "upper"

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        async for frame in frames:
            assert isinstance(frame, TokenFrame)
            yield TokenFrame(frame.text.upper(), frame.at_ns)


class Split:
    name = "split"

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        async for frame in frames:
            assert isinstance(frame, TokenFrame)
            for char in frame.text:
                yield TokenFrame(char, frame.at_ns)


class Boom:
    name = "boom"

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        async for _frame in frames:
            raise ValueError("stage failed")
            yield _frame


def test_frames_stream_through_stages_in_order():
    out: list[str] = []

    async def sink(frame: Frame) -> None:
        assert isinstance(frame, TokenFrame)
        out.append(frame.text)

    asyncio.run(
        run_pipeline(iterate(TokenFrame("ab", 0), TokenFrame("c", 1)), [Upper(), Split()], sink)
    )
    assert out == ["A", "B", "C"]


def test_bounded_queues_hold_back_a_fast_producer():
    produced: list[int] = []

    async def source() -> AsyncIterator[Frame]:
        for i in range(100):
            produced.append(i)
            yield TokenFrame(str(i), i)

    consumed = 0

    async def slow_sink(frame: Frame) -> None:
        nonlocal consumed
        consumed += 1
        # the producer can only be a few queues ahead of the consumer
        assert len(produced) - consumed <= 2 * 2 + 3
        await asyncio.sleep(0)

    asyncio.run(run_pipeline(source(), [Upper(), Upper()], slow_sink, queue_size=2))
    assert consumed == 100


def test_a_sink_queue_lets_the_last_stage_run_ahead_of_a_slow_sink():
    """A paced sink (audio playout) and a TTS-like last stage: with `sink_queue_size` the
    stage finishes its work while the sink is still taking the first frames."""

    async def main(sink_queue_size: int | None) -> int:
        processed: list[str] = []

        class Record:
            name = "record"

            async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
                async for frame in frames:
                    processed.append(frame.text)  # type: ignore[attr-defined]
                    yield frame

        seen_at_first_sink: list[int] = []

        async def paced_sink(frame: Frame) -> None:
            if not seen_at_first_sink:
                await asyncio.sleep(0.05)  # the first frame plays out
                seen_at_first_sink.append(len(processed))

        frames = [TokenFrame(str(i), i) for i in range(20)]
        await run_pipeline(
            iterate(*frames), [Record()], paced_sink, sink_queue_size=sink_queue_size
        )
        return seen_at_first_sink[0]

    assert asyncio.run(main(None)) <= 3  # pulled by the sink: barely ahead of it
    assert asyncio.run(main(50)) == 20  # the whole stream done while the first frame played


def test_a_stage_error_surfaces_as_itself_and_stops_the_chain():
    async def sink(frame: Frame) -> None:
        pass

    async def main() -> None:
        await run_pipeline(iterate(TokenFrame("x", 0)), [Upper(), Boom(), Upper()], sink)

    with pytest.raises(ValueError, match="stage failed"):
        asyncio.run(main())


def test_cancelling_the_runner_leaves_no_task_behind():
    async def endless() -> AsyncIterator[Frame]:
        i = 0
        while True:
            i += 1
            yield TokenFrame("x", i)
            await asyncio.sleep(0.001)

    async def sink(frame: Frame) -> None:
        pass

    async def main() -> None:
        before = asyncio.all_tasks()
        task = asyncio.create_task(run_pipeline(endless(), [Upper(), Split()], sink))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == before

    asyncio.run(main())
