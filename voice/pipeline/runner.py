"""Streams frames through a chain of stages, one task per stage, joined by bounded queues.

A stage is an async generator from frames in to frames out. Bounded queues give backpressure:
a slow TTS holds back the LLM instead of piling up text. The whole chain lives in one
`asyncio.TaskGroup`, so cancelling the runner (e.g. from a turn scope) cancels every stage and
an error in one stage stops the others and surfaces to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from voice.pipeline.frames import Frame

T = TypeVar("T")


class Stage(Protocol):
    """One step of a pipeline."""

    name: str

    def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]: ...


class _End:
    """Marks the end of a stream inside a queue."""


_END = _End()


class _QueueIterator(Generic[T]):
    def __init__(self, queue: asyncio.Queue[T | _End]) -> None:
        self._queue = queue

    def __aiter__(self) -> _QueueIterator[T]:
        return self

    async def __anext__(self) -> T:
        item = await self._queue.get()
        if isinstance(item, _End):
            raise StopAsyncIteration
        return item


async def _pump(source: AsyncIterable[Frame], queue: asyncio.Queue[Frame | _End]) -> None:
    # On error or cancellation the task group cancels every stage, so only a normal end of the
    # source needs to be passed downstream.
    async for frame in source:
        await queue.put(frame)
    await queue.put(_END)


async def run_pipeline(
    source: AsyncIterable[Frame],
    stages: Sequence[Stage],
    sink: Callable[[Frame], Awaitable[None]],
    queue_size: int = 8,
    sink_queue_size: int | None = None,
) -> None:
    """Run `source -> stages... -> sink` until the source ends and every stage has drained.

    Without `sink_queue_size` the sink pulls the last stage directly, so that stage runs only
    as fast as the sink takes its frames. With it, the last stage runs ahead of the sink by up
    to that many frames (a paced audio sink: the TTS synthesizes the next clause while this
    one plays, instead of after it).

    The first error raised by a stage or the sink is re-raised as itself (not wrapped in an
    exception group), after every other stage has been cancelled.
    """
    try:
        async with asyncio.TaskGroup() as group:
            upstream: AsyncIterable[Frame] = source
            for stage in stages:
                queue: asyncio.Queue[Frame | _End] = asyncio.Queue(maxsize=queue_size)
                group.create_task(_pump(upstream, queue), name=f"pump->{stage.name}")
                upstream = stage.process(_QueueIterator(queue))
            if sink_queue_size is not None:
                ahead: asyncio.Queue[Frame | _End] = asyncio.Queue(maxsize=sink_queue_size)
                group.create_task(_pump(upstream, ahead), name="pump->sink")
                upstream = _QueueIterator(ahead)
            async for frame in upstream:
                await sink(frame)
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from errors


async def iterate(*frames: Frame) -> AsyncIterator[Frame]:
    """A source that yields the given frames and ends."""
    for frame in frames:
        yield frame
