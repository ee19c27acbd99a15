"""A single worker thread per model, with async entry points for the event loop.

One thread per model keeps model state (CTranslate2, llama.cpp contexts, ONNX sessions) on one
thread, serializes calls that share a model across sessions, and keeps every inference call off
the event loop. Streaming calls run a blocking generator on the thread and hand each item back
to the loop as it is produced.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


class ModelWorker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{name}")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on this model's thread, in the caller's context (as
        `asyncio.to_thread` does: a provider can see which turn it serves)."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, context.run, fn, *args)

    async def stream(
        self, make_iter: Callable[[], Iterator[T]], cancel: threading.Event | None = None
    ) -> AsyncIterator[T]:
        """Iterate a blocking generator on this model's thread, yielding items as they come.

        The thread checks `cancel` (the turn's flag) and a private stop flag between items, so
        a cancelled turn or a consumer that stops early frees the model within one step.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def stopped() -> bool:
            return stop.is_set() or (cancel is not None and cancel.is_set())

        def produce() -> None:
            iterator = make_iter()
            try:
                if stopped():
                    return
                for item in iterator:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                    if stopped():
                        break
            except BaseException as exc:  # handed to the consumer, which re-raises it
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        loop.run_in_executor(self._executor, contextvars.copy_context().run, produce)
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    finished = True
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not finished:
                # Do not wait for the thread: cancellation must be prompt. It stops at its next
                # step, and the single-thread executor runs the next call after it.
                stop.set()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
