"""A single worker thread per model, with async entry points for the event loop.

One thread per model keeps model state (CTranslate2, llama.cpp contexts, ONNX sessions) on one
thread, serializes calls that share a model across sessions, and keeps every inference call off
the event loop. Streaming calls run a blocking generator on the thread and hand each item back
to the loop as it is produced.

**Urgent work first.** With several calls at once, the jobs of one model queue on its thread.
A reply's first clause decides when its caller hears anything; the rest of the reply is only
needed before that first audio has played out. So a stream can be marked `background` (the LLM
stage does so once its first clause has gone to TTS): from then on it gives the thread up
between items whenever urgent jobs wait (another call's end-of-turn score, first clause or
prompt), and goes on when none does or when it has waited `max_defer_s`. Measured with SIPp
callers (docs/phone.md): without it, every caller's first clause queued behind the whole
replies of the callers before it.

**Cores for the first audio.** On two cores two models running at once each run at about half
speed. A stream can also be `hold`-ed: between items it waits while its `hold()` is true, for
at most `max_hold_s` each time. The LLM stage holds its reply while that reply's first clause is
synthesized, so the TTS has the cores; Piper's first audio on the real clips: p50 173 -> 93 ms
(docs/latency.md).

Written by hand (no kept library schedules blocking model calls by priority for asyncio);
`concurrent.futures` has no priorities and cannot put a running generator back in its queue.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()
MAX_DEFER_S = 0.4  # a background stream waits at most this long for urgent jobs to pass
MAX_HOLD_S = 0.4  # a held stream pauses at most this long between two items
HOLD_POLL_S = 0.002


def _owner(fn: Callable[..., Any]) -> object | None:
    """The object whose model state `fn` uses (a bound method's instance), if any."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__self__", None)


class _Stream:
    """A generator being run on the worker thread, item by item, for one consumer."""

    def __init__(
        self,
        make_iter: Callable[[], Iterator[Any]],
        context: contextvars.Context,
        deliver: Callable[[object], None],
        stopped: Callable[[], bool],
        background: Callable[[], bool] | None,
        hold: Callable[[], bool] | None = None,
        max_hold_s: float = 0.0,
    ) -> None:
        self.make_iter = make_iter
        self.hold = hold
        self.max_hold_s = max_hold_s
        self.context = context
        self.deliver = deliver
        self.stopped = stopped
        self.background = background
        self.iterator: Iterator[Any] | None = None
        self.finished = False

    def step(self, should_yield: Callable[[], bool]) -> bool:
        """Run items until the stream ends or `should_yield` (checked between items, once the
        stream is background) says to give the thread up. True when it ended."""
        if self.finished:
            return True
        try:
            if self.iterator is None:
                if self.stopped():
                    return self._finish()
                self.iterator = self.context.run(self.make_iter)
            while True:
                try:
                    item = self.context.run(next, self.iterator)
                except StopIteration:
                    return self._finish()
                self.deliver(item)
                if self.stopped():
                    return self._finish()
                if self.background is not None and self.background() and should_yield():
                    return False
                if self.hold is not None and not self._wait_out_hold(should_yield):
                    return False
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.deliver(exc)
            return self._finish()

    def _wait_out_hold(self, should_yield: Callable[[], bool]) -> bool:
        """Pause between items while `hold()` says so, for at most `max_hold_s`. False when
        urgent work waits (and the stream can give the thread up): it runs first."""
        assert self.hold is not None
        deadline = time.monotonic() + self.max_hold_s
        while self.hold() and time.monotonic() < deadline and not self.stopped():
            if self.background is not None and should_yield():
                return False
            time.sleep(HOLD_POLL_S)
        return True

    def cancel(self) -> None:
        """Shutdown discards this stream: its consumer is cancelled."""
        if not self.finished:
            self.finished = True
            self.deliver(asyncio.CancelledError())

    def _finish(self) -> bool:
        self.finished = True
        close = getattr(self.iterator, "close", None)
        if close is not None:
            try:
                self.context.run(close)
            except Exception as exc:  # a generator that fails to close: the consumer hears it
                self.deliver(exc)
        self.deliver(_DONE)
        return True


class ModelWorker:
    def __init__(
        self, name: str, max_defer_s: float = MAX_DEFER_S, max_hold_s: float = MAX_HOLD_S
    ) -> None:
        self.name = name
        self.max_defer_s = max_defer_s
        self.max_hold_s = max_hold_s
        self._lock = threading.Condition()
        self._urgent: deque[tuple[Callable[[], None], Callable[[], None]]] = deque()  # job, drop
        self._background: deque[tuple[float, _Stream, object | None]] = deque()
        self._suspended: dict[int, _Stream] = {}  # id(owner) -> its stream, given up mid-way
        self._closed = False
        self._thread: threading.Thread | None = None  # started with the first job

    # -- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not (self._urgent or self._background or self._closed):
                    self._lock.wait()
                if self._closed:
                    return
                job = self._next()
            job()

    def _next(self) -> Callable[[], None]:
        if self._background:
            since, stream, owner = self._background[0]
            if not self._urgent or time.monotonic() - since >= self.max_defer_s:
                self._background.popleft()
                return functools.partial(self._resume, stream, owner)
        return self._urgent.popleft()[0]

    def _urgent_waiting(self) -> bool:
        with self._lock:
            return bool(self._urgent)

    def _submit(self, job: Callable[[], None], drop: Callable[[], None]) -> None:
        """Queue `job` as urgent; `drop` tells its caller if shutdown discards it unrun."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"model worker {self.name} is shut down")
            self._start_thread()
            self._urgent.append((job, drop))
            self._lock.notify()

    def _queue_background(self, stream: _Stream, owner: object | None) -> None:
        """Queue a stream that is background from its start: it waits, as a suspended one
        does, while urgent jobs wait (at most `max_defer_s`)."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"model worker {self.name} is shut down")
            self._start_thread()
            self._background.append((time.monotonic(), stream, owner))
            self._lock.notify()

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"model-{self.name}", daemon=True
            )
            self._thread.start()

    def _run_stream(self, stream: _Stream, owner: object | None) -> None:
        if not stream.step(self._urgent_waiting):
            with self._lock:  # given up for urgent work: back in line, behind it
                if owner is not None:
                    self._suspended[id(owner)] = stream
                self._background.append((time.monotonic(), stream, owner))

    def _resume(self, stream: _Stream, owner: object | None) -> None:
        if owner is not None:
            with self._lock:
                if self._suspended.get(id(owner)) is stream:
                    del self._suspended[id(owner)]
            if stream.iterator is None:  # queued as background, not started: as a new job
                self._drain(owner)
        self._run_stream(stream, owner)

    def _drain(self, owner: object | None) -> None:
        """Finish a stream of the same model object before another job uses that object: its
        state (a llama.cpp context mid-generation) belongs to the stream until it ends."""
        if owner is None:
            return
        with self._lock:
            stream = self._suspended.pop(id(owner), None)
        if stream is not None:
            stream.hold = None  # it must end now, not wait for another model's output
            stream.step(lambda: False)

    # -- the loop's side ---------------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on this model's thread, in the caller's context (as
        `asyncio.to_thread` does: a provider can see which turn it serves)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()
        owner = _owner(fn)

        def settle(outcome: Callable[[Any], None], value: Any) -> None:
            if not future.done():
                outcome(value)

        def job() -> None:
            if future.cancelled():
                return
            try:
                self._drain(owner)
                result = context.run(fn, *args)
            except BaseException as exc:
                _call_soon(loop, settle, future.set_exception, exc)
            else:
                _call_soon(loop, settle, future.set_result, result)

        self._submit(job, lambda: _call_soon(loop, future.cancel))
        return await future

    async def stream(
        self,
        make_iter: Callable[[], Iterator[T]],
        cancel: threading.Event | None = None,
        background: Callable[[], bool] | None = None,
        hold: Callable[[], bool] | None = None,
    ) -> AsyncIterator[T]:
        """Iterate a blocking generator on this model's thread, yielding items as they come.

        The thread checks `cancel` (the turn's flag) and a private stop flag between items, so
        a cancelled turn or a consumer that stops early frees the model within one step. Once
        `background()` is true, the stream lets urgent jobs of other callers run between its
        items (see the module's docstring); only a bound method's stream (or a `partial` of
        one) can, since a later job on the same object must first finish it. A stream that is
        background when it is submitted starts behind the urgent jobs waiting. While `hold()`
        is true the stream pauses between items (at most `max_hold_s` each), still letting
        urgent jobs pass: another model on the same cores needs them (a reply's first clause
        in the TTS).
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        owner = _owner(make_iter)
        if owner is None:
            background = None  # its model is unknown: nothing could finish it before reuse

        def stopped() -> bool:
            return stop.is_set() or (cancel is not None and cancel.is_set())

        def deliver(item: object) -> None:
            _call_soon(loop, queue.put_nowait, item)

        stream = _Stream(
            make_iter,
            contextvars.copy_context(),
            deliver,
            stopped,
            background,
            hold,
            self.max_hold_s,
        )

        if background is not None and background():
            self._queue_background(stream, owner)  # behind other callers' urgent jobs
        else:

            def job() -> None:
                self._drain(owner)
                self._run_stream(stream, owner)

            self._submit(job, lambda: deliver(asyncio.CancelledError()))
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
                # step, and the thread runs the next job after it.
                stop.set()

    def shutdown(self) -> None:
        """Stop the thread after its current job; jobs still queued never run, and their
        callers are cancelled."""
        with self._lock:
            self._closed = True
            dropped = [drop for _, drop in self._urgent]
            dropped += [stream.cancel for _, stream, _ in self._background]
            self._urgent.clear()
            self._background.clear()
            self._suspended.clear()
            self._lock.notify()
        for drop in dropped:
            drop()


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop is closed: nobody waits for this any more
        pass
